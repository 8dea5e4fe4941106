#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# test_deb.sh (make test-package): build the .deb from a copy of the tree, install it, put the
# guard in force through the installed unit's ExecStart, swap it through ExecReload, run the
# daemon unit's command under a NOTIFY_SOCKET and the metrics unit's, then remove and purge the
# package and check that it left nothing behind: no pins, no programs attached, no nft table,
# no config, no unit links.
#
# Needs root. This is the one test that uses the host's default pin dir and
# /etc/tunnelguard, and loads at the root cgroup (as the package does), so it refuses to run
# when a guard is loaded at the default pin dir, /etc/tunnelguard exists or the package is
# installed: it never clobbers a real guard or config. Its config makes only the test-only
# uids 4170000000-4170000009 tenants, so the host's users are not restricted meanwhile.
# Every exit path unloads what it loaded and purges the package (trap).
#
# Where systemd is not PID 1 the package's postinst cannot start units (debhelper's scripts
# skip that), so the test runs the unit's ExecStart line itself.
#
# Upgrade case: a second .deb is built from the same tree with a bumped version. The units are
# brought up (loader active, daemon running, metrics timer active) and the package upgraded to
# it while a test tenant connects to another test tenant's listeners in a loop and
# `tunnelguard status` is polled: no connect may succeed, no poll may fail, and afterwards the
# daemon runs the new binary, the timer is active and the guard runs the new programs. What
# stands in for systemd there: dpkg runs in a mount namespace whose /run/systemd/system is an
# empty tmpfs (so the maintainer scripts take their systemd branch) with
# tests/package/fake-systemctl first in PATH as `systemctl`, which runs the installed units'
# commands for the verbs the scripts use and logs every call; the test asserts that log too.
# The removals that follow run the same way, so prerm's stop of the units is exercised.
set -euo pipefail

pin_dir=/sys/fs/bpf/tunnelguard
conf_dir=/etc/tunnelguard
dropin=/etc/systemd/system/ssh.service.d/tunnelguard.conf
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3

fail() {
	echo "test-package: FAIL: $*" >&2
	exit 1
}
say() { echo "test-package: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i, bpffs, cgroup attach): run it with sudo"
if [ -e "$pin_dir" ]; then
	fail "a guard is loaded at $pin_dir: refusing to install over it (tunnelguard unload first, if it is not in use)"
fi
# An empty one holds nothing a purge could lose (other tests bind-mount over it, mkdir -p first).
if [ -n "$(ls -A "$conf_dir" 2>/dev/null)" ] || { [ -e "$conf_dir" ] && [ ! -d "$conf_dir" ]; }; then
	fail "$conf_dir exists and is not empty: refusing to run (a purge would remove a real config)"
fi
[ ! -e "$dropin" ] || fail "$dropin exists: refusing to run (the test creates and removes it)"
if dpkg-query -W -f='${Status}' tunnelguard 2>/dev/null | grep -q installed; then
	fail "the tunnelguard package is installed: refusing to replace and purge it"
fi
for tool in dpkg-buildpackage dh bpftool nft man lintian unshare; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done

work=$(mktemp -d /tmp/tg-deb.XXXXXX)
installed=0
made_dropin=0
daemon_pid=""
loop_pids=""
# The fake systemd's state (tests/package/fake-systemctl): unit states, logs, calls.log.
fake=$work/fake-systemd
fake_daemon_pid() { cat "$fake/tunnelguard-daemon.service.pid" 2>/dev/null || true; }
cleanup() {
	local rc=$? pid
	touch "$work/stop"
	for pid in $loop_pids; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# The daemon first: it would load the guard again after the unload below.
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	pid=$(fake_daemon_pid)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	[ "$made_dropin" = 0 ] || rm -f "$dropin"
	[ "$made_dropin" != 2 ] || rmdir "$(dirname "$dropin")" 2>/dev/null || true
	if [ "$installed" = 1 ]; then
		[ -x /usr/sbin/tunnelguard ] && /usr/sbin/tunnelguard unload >/dev/null 2>&1 || true
		dpkg -P tunnelguard >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
	[ $rc = 0 ] || echo "test-package: cleaned up after a failure (exit $rc)" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# dpkg-buildpackage writes into the parent of the source dir and dirties the tree: build in a
# copy of the files git knows (tracked, or new and not ignored) and never in the repository.
# The upgrade's N+1 is the same tree in $work/next with a changelog entry on top.
src=$work/tunnelguard
next_src=$work/next/tunnelguard
mkdir -p "$src" "$next_src"
(cd "$repo" && git ls-files -z -c -o --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$src"
cp -a "$src/." "$next_src/"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
next_version=$version+upgradetest1
{
	printf 'tunnelguard (%s) unstable; urgency=medium\n\n' "$next_version"
	printf '  * Test-only upgrade build (tests/package/test_deb.sh).\n\n'
	printf ' -- %s  %s\n\n' "$(cd "$src" && dpkg-parsechangelog -S Maintainer)" "$(date -R)"
	cat "$src/debian/changelog"
} >"$next_src/debian/changelog"
start=$(date +%s)
for dir in "$src" "$next_src"; do
	(cd "$dir" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
		{ tail -40 "$work/build.log" >&2; fail "dpkg-buildpackage failed in $dir (log above)"; }
done
build_s=$(($(date +%s) - start))
arch=$(dpkg --print-architecture)
deb=$work/tunnelguard_${version}_$arch.deb
next_deb=$work/next/tunnelguard_${next_version}_$arch.deb
[ -f "$deb" ] || fail "no $deb after the build: $(ls "$work")"
[ -f "$next_deb" ] || fail "no $next_deb after the build: $(ls "$work/next")"
say "built $(basename "$deb") and $(basename "$next_deb") in ${build_s} s"

# lintian at the strictest level the issue asks for: no error and no warning. Experimental (X:),
# informational and pedantic tags are printed, not failed on.
changes=$work/tunnelguard_${version}_$arch.changes
lintian -E --pedantic --fail-on error,warning "$changes" >"$work/lintian.log" 2>&1 ||
	fail "lintian -E --pedantic found errors or warnings: $(cat "$work/lintian.log")"
grep -v '^running with root privileges' "$work/lintian.log" | sed 's/^/test-package: lintian: /' || true
say "lintian -E --pedantic: no errors, no warnings"

nft list tables >"$work/nft.before" 2>&1 || fail "nft list tables failed: $(cat "$work/nft.before")"
cgroup_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$cgroup_root" ] || fail "no cgroup v2 mount in /proc/self/mounts"

installed=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || fail "dpkg -i failed: $(cat "$work/install.log")"

# What the package installs.
[ -x /usr/sbin/tunnelguard ] || fail "no /usr/sbin/tunnelguard"
[ "$(/usr/sbin/tunnelguard --version)" = "tunnelguard ${version%%-*}" ] ||
	fail "tunnelguard --version says '$(/usr/sbin/tunnelguard --version)', package is $version"
for unit in tunnelguard.service tunnelguard-daemon.service tunnelguard-metrics.service \
	tunnelguard-metrics.timer; do
	[ -f "/lib/systemd/system/$unit" ] || fail "no /lib/systemd/system/$unit"
done
[ "$(man -w tunnelguard)" = /usr/share/man/man8/tunnelguard.8.gz ] ||
	fail "man -w tunnelguard: '$(man -w tunnelguard 2>&1)'"
[ "$(man -w tunnelguard.conf)" = /usr/share/man/man5/tunnelguard.conf.5.gz ] ||
	fail "man -w tunnelguard.conf: '$(man -w tunnelguard.conf 2>&1)'"
MANWIDTH=80 man tunnelguard.conf 2>/dev/null | grep -q '^KEYS' || fail "man tunnelguard.conf shows no KEYS"
bash -c 'source /usr/share/bash-completion/completions/tunnelguard && complete -p tunnelguard' \
	>/dev/null || fail "the bash completion does not load"
[ -f /usr/share/tunnelguard/ssh-requires-tunnelguard.conf ] || fail "no fail-closed drop-in"
dpkg-query -W -f='${Conffiles}\n' tunnelguard | grep -q " $conf_dir/tunnelguard.conf " ||
	fail "$conf_dir/tunnelguard.conf is not a conffile"
# Enabled for the next boot, the metrics timer left off, nothing started (no systemd here,
# and --no-start where there is).
for unit in tunnelguard.service tunnelguard-daemon.service; do
	[ -L "/etc/systemd/system/multi-user.target.wants/$unit" ] || fail "$unit is not enabled"
done
[ ! -e /etc/systemd/system/timers.target.wants/tunnelguard-metrics.timer ] ||
	fail "the metrics timer is enabled"
[ ! -e "$pin_dir" ] || fail "installing the package loaded the guard"
say "dpkg -i: binary, units, man pages, completion, conffile and enablement as expected"

# A test-only policy: two tenants are enough for the self-test, and no real user is one.
cat >"$conf_dir/tunnelguard.conf" <<'CONF'
# test-package: test-only tenants, removed by dpkg -P
tenant-uids = 4170000000-4170000009
CONF

exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tunnelguard.service)
[ "$exec_start" = "/usr/sbin/tunnelguard load" ] || fail "unexpected ExecStart '$exec_start'"
$exec_start >"$work/load.log" 2>&1 || fail "ExecStart ($exec_start) failed: $(cat "$work/load.log")"
/usr/sbin/tunnelguard status >"$work/status.log" 2>&1 ||
	fail "status after load exited $?: $(cat "$work/status.log")"
grep -q 'tenant uids: 4170000000-4170000009' "$work/status.log" ||
	fail "the loaded policy is not the test config: $(cat "$work/status.log")"
grep -q 'self-test:   passed' "$work/status.log" || fail "self-test did not pass: $(cat "$work/status.log")"

prog_id() { bpftool -j prog show pinned "$pin_dir/$1" | $py -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
ids="$(prog_id prog_connect4) $(prog_id prog_connect6)"
for name in tg_connect4 tg_connect6; do
	bpftool prog show name "$name" >/dev/null 2>&1 || fail "bpftool prog show lists no $name"
done
# `bpftool cgroup tree` lists the cgroups below the root, not the root itself, and may show
# other guards (kernel tests in their own cgroups): look at the root and at our program ids.
bpftool cgroup show "$cgroup_root" >"$work/cgroup.log"
for id in $ids; do
	grep -Eq "^$id +cgroup_inet[46]_connect .*tg_connect[46]" "$work/cgroup.log" ||
		fail "program $id is not attached to $cgroup_root: $(cat "$work/cgroup.log")"
done
# The default layers are both: the nft table stands too, with the test policy, made by this guard.
nft list table inet tunnelguard >"$work/nft.table" 2>&1 ||
	fail "no table inet tunnelguard after ExecStart: $(cat "$work/nft.table")"
grep -q 'elements = { 4170000000-4170000009 }' "$work/nft.table" ||
	fail "the nft table does not hold the test tenants: $(cat "$work/nft.table")"
grep -q "pin dir $pin_dir\"" "$work/nft.table" ||
	fail "the nft table does not name its guard: $(cat "$work/nft.table")"
say "ExecStart loaded the guard: programs $ids attached to $cgroup_root, self-test passed," \
	"table inet tunnelguard up"

# The reload line swaps in new programs with no gap.
exec_reload=$(sed -n 's/^ExecReload=//p' /lib/systemd/system/tunnelguard.service)
$exec_reload >"$work/reload.log" 2>&1 || fail "ExecReload failed: $(cat "$work/reload.log")"
new_ids="$(prog_id prog_connect4) $(prog_id prog_connect6)"
[ "$new_ids" != "$ids" ] || fail "ExecReload did not swap the programs ($ids)"
ids="$ids $new_ids"

# The daemon unit's ExecStart, as systemd's Type=notify runs it: READY=1 on NOTIFY_SOCKET once
# the guard is in force, and SIGTERM leaves the guard in force.
notify=$work/notify.sock
$py -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print(s.recv(256).decode())' "$notify" >"$work/notify.out" 2>&1 &
listener=$!
for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done
[ -S "$notify" ] || fail "the notify listener did not start: $(cat "$work/notify.out")"
daemon=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tunnelguard-daemon.service)
[ "$daemon" = "/usr/sbin/tunnelguard daemon" ] || fail "unexpected daemon ExecStart '$daemon'"
NOTIFY_SOCKET=$notify $daemon >"$work/daemon.log" 2>&1 &
daemon_pid=$!
wait "$listener" || fail "no notification from the daemon: $(cat "$work/notify.out" "$work/daemon.log")"
[ "$(cat "$work/notify.out")" = "READY=1" ] || fail "the daemon sent '$(cat "$work/notify.out")'"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the daemon exited $? on SIGTERM: $(cat "$work/daemon.log")"
daemon_pid=""
/usr/sbin/tunnelguard status >/dev/null 2>&1 || fail "the guard is not in force after the daemon stopped"
say "the daemon unit's ExecStart sent READY=1, and its SIGTERM left the guard in force"

# The metrics unit writes its file atomically: systemd's $$ is the shell's $.
metrics=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tunnelguard-metrics.service | sed 's/\$\$/$/g')
mkdir "$work/textfile"
TG_TEXTFILE=$work/textfile/tunnelguard.prom eval "$metrics" || fail "the metrics ExecStart failed"
grep -qx 'tunnelguard_loaded 1' "$work/textfile/tunnelguard.prom" ||
	fail "metrics file lacks tunnelguard_loaded 1: $(cat "$work/textfile/tunnelguard.prom")"
[ "$(ls "$work/textfile")" = tunnelguard.prom ] || fail "metrics left: $(ls "$work/textfile")"
say "reload swapped the programs; the metrics unit wrote tunnelguard.prom"

# ---- Upgrade N -> N+1 under the stand-in for systemd (see the top of this file) ----
mkdir -p "$fake/bin"
install -m 0755 "$repo/tests/package/fake-systemctl" "$fake/bin/systemctl"
export TG_FAKE_SYSTEMD=$fake
# Runs "$@" as the maintainer scripts would see it under systemd. Only this process tree sees
# the tmpfs on /run/systemd; the daemon that fake-systemctl starts stays in that namespace.
# Container images often ship a /usr/sbin/policy-rc.d that refuses every service action
# (exit 101), and deb-systemd-invoke obeys it; a Debian host has none, so over an existing one
# this namespace binds one that allows everything.
printf '#!/bin/sh\nexit 0\n' >"$fake/policy-rc.d"
chmod 0755 "$fake/policy-rc.d"
under_systemd() {
	PATH=$fake/bin:$PATH unshare --mount --propagation private sh -c '
		mount -t tmpfs -o mode=0755 tg-fake-systemd /run/systemd &&
		mkdir /run/systemd/system || exit 1
		if [ -e /usr/sbin/policy-rc.d ]; then
			mount --bind "$TG_FAKE_SYSTEMD/policy-rc.d" /usr/sbin/policy-rc.d || exit 1
		fi
		exec "$@"' sh "$@"
}
under_systemd systemctl start tunnelguard.service tunnelguard-daemon.service \
	tunnelguard-metrics.timer || fail "starting the units failed: $(cat "$fake"/*.log)"
old_daemon=$(fake_daemon_pid)
[ -n "$old_daemon" ] && kill -0 "$old_daemon" || fail "the daemon did not start: $(cat "$fake"/*.log)"
ids_before="$(prog_id prog_connect4) $(prog_id prog_connect6)"
: >"$fake/calls.log"

# Tenant 4170000002 connects to tenant 4170000001's listeners, and status is polled, from
# before the upgrade starts until a second after it ends.
$py "$repo/tests/package/cross_connect.py" 4170000001 4170000002 "$work/stop" \
	>"$work/cross.out" 2>&1 &
loop_pids="$!"
(while [ ! -e "$work/stop" ]; do
	/usr/sbin/tunnelguard status >/dev/null 2>&1 && echo 0 || echo "$?"
	sleep 0.05
done) >"$work/poll.out" &
loop_pids="$loop_pids $!"
sleep 1
under_systemd dpkg -i "$next_deb" >"$work/upgrade.log" 2>&1 ||
	fail "dpkg -i (upgrade to $next_version) failed: $(cat "$work/upgrade.log")"
sleep 1
touch "$work/stop"
for pid in $loop_pids; do wait "$pid" || fail "a loop exited $?: $(cat "$work/cross.out")"; done
loop_pids=""

# The connect loop: it ran, the listeners accept, and nothing slipped.
read -r slipped refused other root_ok < <($py -c 'import json, sys
c = json.load(open(sys.argv[1]))
print(c["slipped"], c["refused"], json.dumps(c["other"]).replace(" ", ""), c["root_ok"])' "$work/cross.out") ||
	fail "the connect loop's output is not its JSON line: $(cat "$work/cross.out")"
[ "$root_ok" = 2 ] || fail "root could not connect to the test listeners: $(cat "$work/cross.out")"
[ "$slipped" = 0 ] || fail "$slipped cross-tenant connects slipped through during the upgrade"
[ "$other" = "{}" ] || fail "cross-tenant connects failed otherwise than ECONNREFUSED: $other"
[ "$refused" -ge 100 ] || fail "the connect loop made only $refused connects"
# The status polls: every one found the guard loaded and complete.
polls=$(wc -l <"$work/poll.out")
[ "$polls" -ge 10 ] || fail "only $polls status polls ran"
if grep -vqx 0 "$work/poll.out"; then
	fail "tunnelguard status failed during the upgrade (exit codes: $(sort "$work/poll.out" | uniq -c | tr '\n' ' '))"
fi
say "upgrade: $refused cross-tenant connects refused, 0 slipped; $polls status polls all exit 0"

# What the package's scripts asked of systemd: restart what ran, reload the loader, stop nothing.
calls=$fake/calls.log
[ "$(dpkg-query -W -f='${Version}' tunnelguard)" = "$next_version" ] || fail "not upgraded"
grep -qx 'try-restart tunnelguard-daemon.service' "$calls" ||
	fail "the upgrade did not try-restart the daemon: $(cat "$calls")"
grep -qx 'try-restart tunnelguard-metrics.service tunnelguard-metrics.timer' "$calls" ||
	fail "the upgrade did not try-restart the metrics timer: $(cat "$calls")"
grep -qx 'reload tunnelguard.service' "$calls" || fail "the upgrade did not reload the guard: $(cat "$calls")"
! grep -Eq '^(stop|restart|start) ' "$calls" || fail "the upgrade stopped or started units: $(cat "$calls")"
! grep -q 'exit [^0]' "$calls" || fail "a systemctl call failed during the upgrade: $(cat "$calls")"
# The daemon runs the new binary (the old one's /proc/PID/exe would end in " (deleted)"), the
# timer is active, and the reload swapped in the new binary's programs.
new_daemon=$(fake_daemon_pid)
[ -n "$new_daemon" ] && [ "$new_daemon" != "$old_daemon" ] || fail "the daemon was not restarted"
kill -0 "$new_daemon" || fail "the daemon is not running after the upgrade: $(cat "$fake"/*.log)"
! kill -0 "$old_daemon" 2>/dev/null || fail "the old daemon ($old_daemon) still runs"
[ "$(readlink "/proc/$new_daemon/exe")" = /usr/sbin/tunnelguard ] ||
	fail "the daemon runs $(readlink "/proc/$new_daemon/exe"), not the upgraded binary"
[ "$(/usr/sbin/tunnelguard --version)" = "tunnelguard $next_version" ] ||
	fail "the upgraded binary says '$(/usr/sbin/tunnelguard --version)'"
[ -e "$fake/tunnelguard-metrics.timer.active" ] || fail "the metrics timer is not active after the upgrade"
ids_after="$(prog_id prog_connect4) $(prog_id prog_connect6)"
[ "$ids_after" != "$ids_before" ] || fail "the upgrade did not swap the programs ($ids_before)"
ids="$ids $ids_before $ids_after"
# The loop's listeners have just closed: status reports them as drift (exit 1) until the new
# daemon's next reconciliation (every 2 s) removes them, which this waits for.
for _ in $(seq 50); do
	status_rc=0
	/usr/sbin/tunnelguard status >"$work/status.log" 2>&1 || status_rc=$?
	[ "$status_rc" != 0 ] || break
	sleep 0.2
done
[ "$status_rc" = 0 ] || fail "status 10 s after the upgrade exited $status_rc: $(cat "$work/status.log")"
grep -q 'self-test:   passed' "$work/status.log" || fail "no self-test pass after the upgrade"
say "upgrade to $next_version: daemon $old_daemon -> $new_daemon on the new binary, timer" \
	"active, guard reloaded ($ids_before -> $ids_after), nothing stopped"

# With the fail-closed drop-in in place, removal must refuse (sshd would never start again).
# The drop-in lives on the host's real path for a moment only; the trap removes it.
# made_dropin: 1 the file, 2 the file and its directory.
made_dropin=1
[ -d "$(dirname "$dropin")" ] || made_dropin=2
install -D -m 0644 /usr/share/tunnelguard/ssh-requires-tunnelguard.conf "$dropin"
if under_systemd dpkg -r tunnelguard >"$work/remove.log" 2>&1; then
	fail "dpkg -r went ahead with $dropin in place"
fi
rm -f "$dropin"
[ "$made_dropin" = 1 ] || rmdir "$(dirname "$dropin")"
made_dropin=0
grep -q "remove it" "$work/remove.log" || fail "dpkg -r refused without saying why: $(cat "$work/remove.log")"
[ -e "$pin_dir" ] || fail "the refused dpkg -r still unloaded the guard"
say "dpkg -r refuses while the fail-closed drop-in is installed"

under_systemd dpkg -r tunnelguard >"$work/remove.log" 2>&1 || fail "dpkg -r failed: $(cat "$work/remove.log")"
grep -qx 'stop tunnelguard-metrics.timer tunnelguard-metrics.service tunnelguard-daemon.service tunnelguard.service' \
	"$fake/calls.log" || fail "dpkg -r did not stop the units: $(cat "$fake/calls.log")"
! kill -0 "$new_daemon" 2>/dev/null || fail "the daemon still runs after dpkg -r"
[ ! -e "$pin_dir" ] || fail "dpkg -r left $pin_dir: $(ls "$pin_dir")"
[ ! -e /usr/sbin/tunnelguard ] || fail "dpkg -r left the binary"
# A program is freed once its last reference goes, after an RCU grace period.
for _ in $(seq 50); do
	left=""
	for id in $ids; do
		bpftool prog show id "$id" >/dev/null 2>&1 && left="$left $id"
	done
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || fail "programs$left still exist after dpkg -r"
if bpftool cgroup show "$cgroup_root" | grep -q tg_connect; then
	fail "tg_connect programs still attached to $cgroup_root: $(bpftool cgroup show "$cgroup_root")"
fi
bpftool cgroup tree "$cgroup_root" >"$work/tree.log"
for id in $ids; do
	! grep -Eq "^ +$id +" "$work/tree.log" || fail "program $id still attached: $(cat "$work/tree.log")"
done
nft list tables >"$work/nft.after" 2>&1
diff -u "$work/nft.before" "$work/nft.after" >&2 || fail "nft tables differ after dpkg -r"
[ -f "$conf_dir/tunnelguard.conf" ] || fail "dpkg -r removed the conffile (only purge should)"
say "dpkg -r: guard unloaded, programs freed, nft tables as before, conffile kept"

dpkg -P tunnelguard >"$work/purge.log" 2>&1 || fail "dpkg -P failed: $(cat "$work/purge.log")"
installed=0
[ ! -e "$conf_dir" ] || fail "dpkg -P left $conf_dir"
for link in multi-user.target.wants/tunnelguard.service multi-user.target.wants/tunnelguard-daemon.service; do
	[ ! -e "/etc/systemd/system/$link" ] || fail "dpkg -P left /etc/systemd/system/$link"
done
! dpkg-query -W tunnelguard >/dev/null 2>&1 || fail "dpkg still knows tunnelguard after purge"
say "dpkg -P: config and unit links gone. PASS (package build ${build_s} s, total $SECONDS s)"
