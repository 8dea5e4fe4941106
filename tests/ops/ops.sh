#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ops.sh SCENARIO: checks of what `make install` ships, run by tests/ops/test_ops.c (suite ops)
# from the repository root. Each scenario works in its own temp dir, removed on every exit
# path, and never touches the host's /etc, units or pin dir.
#
#   install     make install into a DESTDIR: every file where PREFIX and the defaults say, units
#               naming the installed binary, an existing config kept, uninstall leaving only
#               the config; the example config parses, its commented global keys are the
#               defaults, and its commented allow and [tenant] examples parse and reserve
#   units       systemd-analyze verify --root on the installed units and on Debian's ssh.service
#               with the fail-closed drop-in: no output at all; and it does fail on a unit
#               whose binary is missing
#   man         both man pages render with no groff or man warning, with the expected sections,
#               every command and option of main.c and every key of config_parse.c documented
#   completion  the bash completion offers the right words for a table of command lines
#
# Exit 0 passes, 77 skips (with a "SKIP: reason" line), anything else fails. TG_BINARY is the
# built binary (make test sets it); the install runs `make` with OUTPUT set to its directory.
set -euo pipefail

scenario=${1:-}
binary=${TG_BINARY:-$PWD/build/tunnelguard}
tmp=$(mktemp -d /tmp/tg-ops.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}
need() {
	command -v "$1" >/dev/null || skip "$1 is not installed (scripts/deps.sh installs it)"
}

# make install without the outer make's jobserver and variables (we run under `make test`).
do_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s \
		OUTPUT="$(dirname "$binary")" "$@"
}

expect_file() { # PATH MODE
	[ -f "$1" ] || fail "make install did not create $1"
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, want $2"
}

scenario_install() {
	local root=$tmp/root local_root=$tmp/local f left rc
	[ -x "$binary" ] || fail "no binary at $binary (run make first)"
	do_make install DESTDIR="$root" PREFIX=/usr >"$tmp/log" || fail "make install: $(cat "$tmp/log")"
	expect_file "$root/usr/sbin/tunnelguard" 755
	for f in tunnelguard.service tunnelguard-daemon.service tunnelguard-metrics.service \
		tunnelguard-metrics.timer; do
		expect_file "$root/usr/lib/systemd/system/$f" 644
		! grep -n '@[A-Z]*@' "$root/usr/lib/systemd/system/$f" ||
			fail "$f still holds a placeholder"
	done
	expect_file "$root/usr/share/man/man8/tunnelguard.8" 644
	expect_file "$root/usr/share/man/man5/tunnelguard.conf.5" 644
	expect_file "$root/usr/share/bash-completion/completions/tunnelguard" 644
	expect_file "$root/usr/share/tunnelguard/ssh-requires-tunnelguard.conf" 644
	expect_file "$root/etc/tunnelguard/tunnelguard.conf" 644
	grep -qx 'ExecStart=/usr/sbin/tunnelguard load' "$root/usr/lib/systemd/system/tunnelguard.service" ||
		fail "tunnelguard.service does not run /usr/sbin/tunnelguard load"
	grep -qx 'ExecStart=/usr/sbin/tunnelguard daemon' \
		"$root/usr/lib/systemd/system/tunnelguard-daemon.service" ||
		fail "tunnelguard-daemon.service does not run /usr/sbin/tunnelguard daemon"
	grep -q '/usr/share/tunnelguard/ssh-requires-tunnelguard.conf' \
		"$root/usr/lib/systemd/system/tunnelguard.service" ||
		fail "tunnelguard.service does not point at the installed drop-in"

	# The example: every key commented out, and uncommented its global keys (the lines before
	# the examples marker) mean the built-in defaults. allow and [tenant] user/ports have no
	# default line (they name users), so they are examples after the marker, checked below.
	local example=$root/etc/tunnelguard/tunnelguard.conf marker='^# ---- Examples, not defaults' port
	! grep -n '^[a-z[]' "$example" || fail "the example sets a key"
	"$binary" check -c "$example" --uid 1000 --port 1 \
		--addr 127.0.0.1 >"$tmp/out" 2>&1 || fail "the example does not parse: $(cat "$tmp/out")"
	grep -q "$marker" "$example" || fail "the example has no '# ---- Examples, not defaults' line"
	sed -n "/$marker/q; s/^#\([a-z-]* =\)/\1/p" "$example" >"$tmp/uncommented.conf"
	[ "$(wc -l <"$tmp/uncommented.conf")" = 11 ] ||
		fail "the example has $(wc -l <"$tmp/uncommented.conf") commented default keys, want 11"
	for case in "999 allow_not_tenant" "1000 allow_no_listener" "59999 allow_no_listener" \
		"60000 allow_not_tenant"; do
		set -- $case
		# Port 1 (tcpmux) has no listener on a test host, so a tenant gets allow_no_listener.
		"$binary" check -c "$tmp/uncommented.conf" --uid "$1" --port 1 --addr 127.0.0.1 \
			>"$tmp/out" 2>&1 || fail "uncommented example, uid $1: $(cat "$tmp/out")"
		grep -q " $2 netns=" "$tmp/out" || fail "uncommented example, uid $1: want $2, got $(cat "$tmp/out")"
	done
	# bind-policy open: a tenant may bind a port nobody reserved.
	"$binary" check -c "$tmp/uncommented.conf" --uid 1000 --bind 1 >"$tmp/out" 2>&1 ||
		fail "uncommented example, bind: $(cat "$tmp/out")"
	grep -q " allow_bind_open:" "$tmp/out" ||
		fail "uncommented example, bind: want allow_bind_open, got $(cat "$tmp/out")"
	# The whole file uncommented, its users given as uids (2001 reserves, 2002 is allowed):
	# the examples parse, and the [tenant] section holds its first port against another tenant.
	sed -n -e 's/^#\([a-z-]* =.*\|\[tenant .*\)/\1/p' "$example" |
		sed -e 's/^user = .*/user = 2001/' -e 's/^allow = [^:]*:/allow = 2002:/' \
			>"$tmp/examples.conf"
	port=$(sed -n 's/^ports = \([0-9]*\).*/\1/p' "$tmp/examples.conf")
	[ -n "$port" ] || fail "the example has no [tenant] section with ports: $(cat "$tmp/examples.conf")"
	for case in "2001 0 allow_bind_own" "2002 1 deny_bind_reserved"; do
		set -- $case
		"$binary" check -c "$tmp/examples.conf" --uid "$1" --bind "$port" >"$tmp/out" 2>&1 &&
			rc=0 || rc=$?
		[ "$rc" = "$2" ] && grep -q " $3 " "$tmp/out" ||
			fail "uncommented examples, uid $1 bind $port: want exit $2 $3, got exit $rc $(cat "$tmp/out")"
	done

	# A second install keeps an existing config.
	echo "mode = audit" >"$root/etc/tunnelguard/tunnelguard.conf"
	do_make install DESTDIR="$root" PREFIX=/usr >"$tmp/log" || fail "second make install failed"
	[ "$(cat "$root/etc/tunnelguard/tunnelguard.conf")" = "mode = audit" ] ||
		fail "make install replaced an existing config"

	do_make uninstall DESTDIR="$root" PREFIX=/usr >"$tmp/log" || fail "make uninstall failed"
	left=$(cd "$root" && find . -type f | sort | tr '\n' ' ')
	[ "$left" = "./etc/tunnelguard/tunnelguard.conf " ] ||
		fail "make uninstall left: $left (want only the config)"

	# PREFIX defaults to /usr/local; the config stays in /etc, where the binary reads it.
	do_make install DESTDIR="$local_root" >"$tmp/log" || fail "make install (default PREFIX) failed"
	expect_file "$local_root/usr/local/sbin/tunnelguard" 755
	expect_file "$local_root/etc/tunnelguard/tunnelguard.conf" 644
	grep -qx 'ExecStart=/usr/local/sbin/tunnelguard load' \
		"$local_root/usr/local/lib/systemd/system/tunnelguard.service" ||
		fail "with the default PREFIX the unit does not run /usr/local/sbin/tunnelguard"
	echo "install: files, modes, kept config, uninstall and default PREFIX as expected"
}

scenario_units() {
	local root=$tmp/root units="tunnelguard.service tunnelguard-daemon.service
		tunnelguard-metrics.service tunnelguard-metrics.timer"
	need systemd-analyze
	[ -f /lib/systemd/system/ssh.service ] && [ -x /usr/sbin/sshd ] ||
		skip "openssh-server is not installed (scripts/deps.sh installs it)"
	do_make install DESTDIR="$root" PREFIX=/usr >"$tmp/log" || fail "make install: $(cat "$tmp/log")"
	# verify --root resolves every command inside the root: give it the few the units and
	# Debian's ssh.service run (copies: a symlink to /bin/sh would resolve inside the root).
	# The host's units (targets, ssh.service) give the transaction its dependencies.
	mkdir -p "$root/bin"
	cp /bin/sh /bin/kill "$root/bin/"
	cp /usr/sbin/sshd "$root/usr/sbin/"
	cp -n /lib/systemd/system/* "$root/usr/lib/systemd/system/" 2>/dev/null || true
	install -D -m 0644 "$root/usr/share/tunnelguard/ssh-requires-tunnelguard.conf" \
		"$root/etc/systemd/system/ssh.service.d/tunnelguard.conf"
	# --man checks that each Documentation=man: page exists: look for ours in the root.
	(cd "$tmp" && MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
		$units) >"$tmp/out" 2>&1 || fail "systemd-analyze verify failed: $(cat "$tmp/out")"
	[ ! -s "$tmp/out" ] || fail "systemd-analyze verify warned: $(cat "$tmp/out")"
	# ssh.service with the drop-in; its own man pages are not ours to check.
	(cd "$tmp" && systemd-analyze verify --man=no --root="$root" ssh.service) >"$tmp/out" 2>&1 ||
		fail "systemd-analyze verify of ssh.service with the drop-in failed: $(cat "$tmp/out")"
	[ ! -s "$tmp/out" ] || fail "systemd-analyze verify warned on ssh.service: $(cat "$tmp/out")"

	# The check must be able to fail: a drop-in with a typo, and a unit whose binary is gone.
	echo "Requirez=tunnelguard.service" >>"$root/etc/systemd/system/ssh.service.d/tunnelguard.conf"
	(cd "$tmp" && systemd-analyze verify --man=no --root="$root" ssh.service) >"$tmp/out" 2>&1 ||
		true
	grep -q "Unknown key 'Requirez'" "$tmp/out" ||
		fail "verify did not read the drop-in in the root: $(cat "$tmp/out")"
	rm "$root/usr/sbin/tunnelguard"
	if (cd "$tmp" && MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
		tunnelguard.service) >"$tmp/out" 2>&1; then
		fail "verify passed a unit whose binary is missing"
	fi
	grep -q "is not executable" "$tmp/out" || fail "unexpected verify output: $(cat "$tmp/out")"
	echo "units: systemd-analyze verify is clean for $(echo $units) and ssh.service + drop-in"
}

# The rendered page, 80 columns, with man's and groff's warnings in $tmp/warn.
render() {
	MANWIDTH=80 MAN_KEEP_FORMATTING=0 man --warnings -l "$1" 2>"$tmp/warn" | col -bx
}

scenario_man() {
	local page8=docs/man/tunnelguard.8 page5=docs/man/tunnelguard.conf.5 word
	need man
	need groff
	for page in $page8 $page5; do
		render "$page" >"$tmp/text"
		[ ! -s "$tmp/warn" ] || fail "$page renders with warnings: $(cat "$tmp/warn")"
		for section in NAME SYNOPSIS DESCRIPTION FILES "SEE ALSO"; do
			grep -qx "$section" "$tmp/text" || fail "$page has no $section section"
		done
		cp "$tmp/text" "$tmp/$(basename "$page").txt"
	done
	for section in COMMANDS OPTIONS "EXIT STATUS" BOOT "FAIL CLOSED" METRICS EXAMPLES \
		"SECURITY NOTES"; do
		grep -qx "$section" "$tmp/tunnelguard.8.txt" || fail "$page8 has no $section section"
	done
	for section in SYNTAX KEYS DECISION EXAMPLES; do
		grep -qx "$section" "$tmp/tunnelguard.conf.5.txt" || fail "$page5 has no $section section"
	done
	# Every command of main.c's table, every long option of its getopt table, every key of
	# config_parse.c: a new one fails here until it is documented.
	for word in $(grep -o '{ "[a-z]*", cmd_' userspace/main.c | cut -d'"' -f2); do
		grep -Eq "^       $word( |\$)" "$tmp/tunnelguard.8.txt" || fail "$page8 does not describe command $word"
	done
	for word in $(sed -n 's/^\t\t{ "\([a-z-]*\)", [a-z_]*_argument.*/\1/p' userspace/main.c); do
		grep -q -- "--$word" "$tmp/tunnelguard.8.txt" || fail "$page8 does not document --$word"
	done
	for word in $(sed -n 's/^\t\[CFG_KEY_[A-Z_]*\] = "\([a-z-]*\)",/\1/p' userspace/config_parse.c); do
		grep -q "^       $word = " "$tmp/tunnelguard.conf.5.txt" ||
			fail "$page5 does not document key $word"
		grep -q "^#$word =" dist/tunnelguard.conf || fail "the example config lacks key $word"
	done
	echo "man: both pages render cleanly and document every command, option and key"
}

scenario_completion() {
	local dir=$tmp/files
	mkdir -p "$dir/conf.d" "$dir/pins"
	touch "$dir/tg.conf" "$dir/other"
	# shellcheck disable=SC1091
	source completion/tunnelguard.bash
	[ "$(complete -p tunnelguard)" = "complete -F _tunnelguard tunnelguard" ] ||
		fail "the completion does not register _tunnelguard: $(complete -p tunnelguard)"
	cd "$dir"
	local cases=(
		'tunnelguard |load unload status check daemon events'
		'tunnelguard st|status'
		'tunnelguard -v d|daemon'
		'tunnelguard status --|--config --pin-dir --verbose --help --version --json --prometheus'
		'tunnelguard status --p|--pin-dir --prometheus'
		'tunnelguard load --|--config --pin-dir --verbose --help --version --cgroup --no-self-test'
		'tunnelguard unload --|--config --pin-dir --verbose --help --version'
		'tunnelguard check --|--config --pin-dir --verbose --help --version --uid --port --bind --addr --json'
		'tunnelguard check --b|--bind'
		'tunnelguard daemon --|--config --pin-dir --verbose --help --version --json --interval --cgroup --no-self-test'
		'tunnelguard events --f|--follow'
		'tunnelguard --|--config --pin-dir --verbose --help --version'
		'tunnelguard -c |conf.d other pins tg.conf'
		'tunnelguard -c t|tg.conf'
		'tunnelguard --config = t|tg.conf'
		'tunnelguard --pin-dir |conf.d pins'
		'tunnelguard load --cgroup p|pins'
		'tunnelguard -c status |load unload status check daemon events'
		'tunnelguard check --addr |127.0.0.1 ::1'
		'tunnelguard check --uid |'
		'tunnelguard check --uid 2002 --bind |'
		'tunnelguard check --bind 8001 |'
		'tunnelguard status |'
	)
	local case line want got
	for case in "${cases[@]}"; do
		line=${case%%|*}
		want=${case#*|}
		read -r -a COMP_WORDS <<<"$line"
		# A trailing space starts a new, empty word.
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_tunnelguard
		got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
		want=$(printf '%s\n' $want | sort | tr '\n' ' ')
		[ "$got" = "$want" ] || fail "'$line': got '$got', want '$want'"
	done
	echo "completion: ${#cases[@]} command lines complete as expected"
}

case $scenario in
install | units | man | completion) "scenario_$scenario" ;;
*)
	echo "usage: $0 install|units|man|completion" >&2
	exit 2
	;;
esac
