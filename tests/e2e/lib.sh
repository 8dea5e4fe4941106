# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# lib.sh - a throwaway SSH tunnel hub for tests/e2e/ssh_isolation.sh and scripts/demo.sh.
#
# e2e_begin builds, and an EXIT trap always removes:
#   - network namespace  tg-e2e-PID (lo up); every process below runs inside it
#   - cgroup             CGROUP2/tg-e2e-PID with two leaves: hub/ (the guarded one: sshd and
#                        every session it forks) and rest/ (ssh clients and the service, which
#                        stand for the tenants' own machines and are not judged)
#   - users              tg-e2e-a (uid 2101) and tg-e2e-b (uid 2102), homes in the temp dir
#   - temp dir           /tmp/tg-e2e-run.XXXXXX: keys, sshd config, logs, the service's token
#   - sshd               /usr/sbin/sshd -D on 127.0.0.1 and [::1] port 2222, as PID 1 of its own
#                        PID namespace so that it reaps its session children (OpenSSH 9.2 can
#                        otherwise leave zombies under the tenant uids, and userdel refuses)
#   - service            python3 http.server as root on 127.0.0.1:8080 serving a random token
#   - pin dir            /sys/fs/bpf/tg-e2e-PID, once e2e_load has run
#   - with E2E_CONTAINER=1, "the hub in a container": a second network namespace
#                        tg-e2e-PID-ct (lo up) joined to tg-e2e-PID by a veth pair,
#                        10.201.0.1/24 on the tg-e2e-PID side and 10.201.0.2/24 on the
#                        container's; sshd, the service and the ssh clients run in the container,
#                        while e2e_load still loads the guard from tg-e2e-PID, so that the
#                        container is a namespace other than the guard's
#
# Ports inside the namespace: 2222 sshd, 8080 A's service (S), 8001 A's -R tunnel on the hub
# (P), 8101/8106 B's local -L ends (Q, to localhost:P and [::1]:P), 8102 A's own -L end.
#
# One run at a time (flock on /run/lock/tg-e2e.lock); whatever a crashed run left behind
# (tg-e2e-* users, netns, cgroups, pin dirs, temp dirs) is removed first. Every wait is a poll
# with a deadline (e2e_poll_until). A script that cannot run here exits 77 after printing
# "SKIP: reason".

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_TG=${TG_BINARY:-$E2E_REPO/build/tunnelguard}

E2E_USER_A=tg-e2e-a
E2E_USER_B=tg-e2e-b
E2E_UID_A=2101
E2E_UID_B=2102
# shellcheck disable=SC2034 # used by the scripts that source this file
{
	E2E_SSH_PORT=2222
	E2E_SERVICE_PORT=8080 # S: A's service, reached through A's -R
	E2E_TUNNEL_PORT=8001  # P: A's -R listener on the hub
	E2E_B_PORT=8101       # Q: B's -L Q:localhost:P
	E2E_B6_PORT=8106      # B's -L to [::1]:P
	E2E_A_PORT=8102       # A's own -L to localhost:P
}
# shellcheck disable=SC2034
{
	E2E_CT_ADDR=10.201.0.2      # the container's interface address (E2E_CONTAINER=1)
	E2E_CT_HOST_ADDR=10.201.0.1 # the host's end of the veth pair
}
E2E_LOCK=/run/lock/tg-e2e.lock
E2E_SKIP=77

# Appended to the config e2e_load writes (e.g. [tenant] sections).
E2E_EXTRA_CONFIG=${E2E_EXTRA_CONFIG:-}
# 1: sshd and everything around it run in a second netns, the container (see above).
E2E_CONTAINER=${E2E_CONTAINER:-0}
# sshd's GatewayPorts (clientspecified lets a tenant's -R listen on 0.0.0.0).
E2E_GATEWAY_PORTS=${E2E_GATEWAY_PORTS:-no}
# Filled by e2e_begin.
E2E_NETNS=     # where e2e_load loads the guard (and, without a container, where sshd runs)
E2E_HUB_NETNS= # where sshd, its sessions, the service and the ssh clients run
E2E_CG_TOP=
E2E_CG_HUB=
E2E_CG_REST=
E2E_PIN=
E2E_DIR=
E2E_TOKEN=
E2E_CREATED_USERS=()
E2E_CREATED_RUN_SSHD=0
E2E_PIDS=()
E2E_LAST_PID=
E2E_PROG_IDS=()
E2E_SSHD_PID= # sshd, PID 1 of its namespace; its parent is `unshare`, a child of this shell
# Set to 1 to have the teardown say what it removes and what it checked (scripts/demo.sh).
E2E_NARRATE=${E2E_NARRATE:-0}

e2e_say() {
	printf '%s\n' "$*"
}

e2e_step() {
	printf '==> %s\n' "$*"
}

e2e_narrate() {
	[ "$E2E_NARRATE" = 1 ] && printf '%s\n' "$*" | fold -s -w 92 | sed 's/^/    /'
	return 0
}

e2e_skip() {
	printf 'SKIP: %s\n' "$*"
	exit "$E2E_SKIP"
}

e2e_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

e2e_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# e2e_poll_until SECONDS CMD...: run CMD every 50 ms until it succeeds (return 0); return 1
# once SECONDS have passed.
e2e_poll_until() {
	local limit=$1
	shift
	local deadline=$(($(e2e_now_ms) + limit * 1000))

	until "$@"; do
		[ "$(e2e_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

e2e_cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

e2e_cgroup_empty() {
	grep -qx 'populated 0' "$1/cgroup.events"
}

# Kill every process in a cgroup subtree and wait until it is empty.
e2e_cgroup_kill() {
	local cg=$1

	[ -d "$cg" ] || return 0
	if [ -e "$cg/cgroup.kill" ]; then
		echo 1 >"$cg/cgroup.kill" 2>/dev/null
	else
		xargs -r kill -KILL <"$cg/cgroup.procs" 2>/dev/null
	fi
	e2e_poll_until 10 e2e_cgroup_empty "$cg"
}

# Remove a cgroup and its child cgroups, deepest first.
e2e_cgroup_remove() {
	local cg=$1

	[ -d "$cg" ] || return 0
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$cg" ]
}

e2e_uid_has_processes() {
	pgrep -u "$1" >/dev/null 2>&1
}

e2e_uids_idle() {
	! e2e_uid_has_processes "$E2E_UID_A" && ! e2e_uid_has_processes "$E2E_UID_B"
}

# Remove what a crashed earlier run left behind. Runs under the lock, so nothing found here
# belongs to a live run.
e2e_sweep() {
	local cg2 d ns user pids

	cg2=$(e2e_cgroup2_root)
	for d in "$cg2"/tg-e2e-*; do
		[ -d "$d" ] || continue
		e2e_say "removing stale cgroup $d"
		e2e_cgroup_kill "$d"
		e2e_cgroup_remove "$d" || e2e_say "warning: cannot remove stale cgroup $d"
	done
	for d in /sys/fs/bpf/tg-e2e-*; do
		[ -e "$d" ] || continue
		e2e_say "removing stale pin dir $d"
		"$E2E_TG" unload --pin-dir "$d" >/dev/null 2>&1
		rm -rf "$d"
	done
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^tg-e2e-/ { print $1 }'); do
		e2e_say "removing stale network namespace $ns"
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086 # one pid per word
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns"
	done
	for user in $(getent passwd | awk -F: '$1 ~ /^tg-e2e-/ { print $1 }'); do
		e2e_say "removing stale user $user"
		e2e_poll_until 10 eval "! pgrep -u '$user' >/dev/null"
		userdel -r "$user" >/dev/null 2>&1 || e2e_say "warning: userdel $user failed"
	done
	for user in $(getent group | awk -F: '$1 ~ /^tg-e2e-/ { print $1 }'); do
		groupdel "$user" 2>/dev/null
	done
	for d in /tmp/tg-e2e-run.*; do
		[ -e "$d" ] || continue
		e2e_say "removing stale temp dir $d"
		rm -rf "$d"
	done
	return 0
}

# Skip, with the reason, when this host cannot run the hub.
e2e_check_host() {
	local cmd

	[ "$(id -u)" = 0 ] || e2e_skip "needs root (netns, cgroups, BPF, useradd, sshd)"
	for cmd in ip ss sshd ssh ssh-keygen useradd usermod userdel setpriv unshare curl \
		flock pgrep getent; do
		command -v "$cmd" >/dev/null ||
			PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null ||
			e2e_skip "no $cmd on PATH (bash scripts/deps.sh installs it)"
	done
	[ -x /usr/sbin/sshd ] ||
		e2e_skip "no /usr/sbin/sshd (bash scripts/deps.sh installs openssh-server)"
	[ -x /usr/bin/python3 ] || e2e_skip "no /usr/bin/python3 for the test service"
	[ -x "$E2E_TG" ] || e2e_skip "no tunnelguard binary at $E2E_TG (run make, or set TG_BINARY)"
	[ -r /sys/kernel/btf/vmlinux ] || e2e_skip "kernel has no BTF at /sys/kernel/btf/vmlinux"
	[ -n "$(e2e_cgroup2_root)" ] || e2e_skip "no cgroup v2 hierarchy in /proc/self/mounts"
	return 0
}

# Skip, with the reason, when the test uids or names belong to someone else. Runs after the
# sweep, which removes only tg-e2e-* accounts.
e2e_check_ids() {
	local u owner

	for u in "$E2E_UID_A" "$E2E_UID_B"; do
		if owner=$(getent passwd "$u"); then
			e2e_skip "uid $u belongs to account '${owner%%:*}'; the test uses it for" \
				"a throwaway tenant and will not touch a real one"
		fi
		if owner=$(getent group "$u"); then
			e2e_skip "gid $u belongs to group '${owner%%:*}'"
		fi
		if e2e_uid_has_processes "$u"; then
			e2e_skip "processes run as uid $u, which has no account"
		fi
	done
	for u in "$E2E_USER_A" "$E2E_USER_B"; do
		if getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; then
			e2e_skip "user or group $u exists and is not ours to remove"
		fi
	done
	return 0
}

# Run CMD in the background, inside the netns and the cgroup CG, output to LOG. The pid (of
# CMD itself, after the execs) lands in E2E_LAST_PID and E2E_PIDS.
e2e_spawn() {
	local cg=$1 log=$2
	shift 2

	(
		exec 9>&-
		echo 0 >"$cg/cgroup.procs" || exit 1
		exec ip netns exec "$E2E_HUB_NETNS" "$@"
	) >"$log" 2>&1 </dev/null &
	E2E_LAST_PID=$!
	E2E_PIDS+=("$E2E_LAST_PID")
	# Teardown kills it with its cgroup; disowned, bash does not report "Killed" for it.
	disown "$E2E_LAST_PID"
}

# Run CMD in the foreground, inside the netns and the cgroup CG.
e2e_run() {
	local cg=$1
	shift

	(
		exec 9>&-
		echo 0 >"$cg/cgroup.procs" || exit 1
		exec ip netns exec "$E2E_HUB_NETNS" "$@"
	)
}

# e2e_as_uid USER: the setpriv words, one a line, that run a command as USER with a login-like
# environment.
e2e_as_uid() {
	local uid
	uid=$(id -u "$1")
	printf '%s\n' setpriv "--reuid=$uid" "--regid=$(id -g "$1")" --clear-groups --reset-env
}

e2e_ssh_cmd() {
	local user=$1
	# shellcheck disable=SC2207 # setpriv arguments contain no spaces
	local as=($(e2e_as_uid "$user"))

	printf '%s\n' "${as[@]}" -- ssh -F /dev/null \
		-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$E2E_DIR/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=tg-e2e-hub \
		-o ConnectTimeout=5 -o LogLevel=INFO -o ExitOnForwardFailure=yes \
		-i "$E2E_DIR/keys/$user/id" -p "$E2E_SSH_PORT" -l "$user"
}

# e2e_tunnel NAME USER SSH-ARGS...: start `ssh -N -n SSH-ARGS 127.0.0.1` as USER in the
# background, outside the guarded cgroup (it stands for the tenant's own machine).
e2e_tunnel() {
	local name=$1 user=$2
	shift 2
	local cmd
	mapfile -t cmd < <(e2e_ssh_cmd "$user")

	e2e_spawn "$E2E_CG_REST" "$E2E_DIR/log/$name.log" "${cmd[@]}" -N -n "$@" 127.0.0.1
}

# e2e_ssh_exec USER REMOTE-CMD...: run a command in USER's shell on the hub; stdin passes
# through.
e2e_ssh_exec() {
	local user=$1
	shift
	local cmd
	mapfile -t cmd < <(e2e_ssh_cmd "$user")

	e2e_run "$E2E_CG_REST" "${cmd[@]}" 127.0.0.1 "$@"
}

# Number of TCP listeners on PORT in the netns owned by UID (ss -e omits uid 0).
e2e_listeners() {
	local lines

	# ss -e also resolves each socket's cgroup and, since `ip netns exec` remounts /sys, says
	# "Failed to find cgroup2 mount" for ours: harmless, hidden.
	lines=$(ip netns exec "$E2E_HUB_NETNS" ss -Htlne "sport = :$1" 2>/dev/null)
	if [ "$2" = 0 ]; then
		printf '%s' "$lines" | grep -vc " uid:" || true
	else
		printf '%s' "$lines" | grep -c " uid:$2 " || true
	fi
}

e2e_listening() {
	[ "$(e2e_listeners "$1" "$2")" -ge "${3:-1}" ]
}

# e2e_wait_listen PORT UID COUNT WHAT LOG: wait until UID listens on PORT COUNT times.
e2e_wait_listen() {
	local port=$1 uid=$2 count=$3 what=$4 log=${5:-}

	if ! e2e_poll_until 10 e2e_listening "$port" "$uid" "$count"; then
		[ -n "$log" ] && sed 's/^/    | /' "$log" >&2
		e2e_fail "$what: no listener of uid $uid on port $port after 10s"
	fi
}

# e2e_fetch CG USER URL: print what an HTTP GET of URL returns, run as USER (root when empty)
# inside the cgroup CG. Fails like curl.
e2e_fetch() {
	local cg=$1 user=$2 url=$3 as=()

	# shellcheck disable=SC2207
	[ -n "$user" ] && as=($(e2e_as_uid "$user") --)
	e2e_run "$cg" "${as[@]}" curl -sS --max-time 5 --globoff "$url"
}

e2e_load() {
	cat >"$E2E_DIR/tunnelguard.conf" <<-EOF
		# tunnelguard e2e: the two test tenants, everything else at its default
		mode = enforce
		policy = isolate
		deny-errno = econnrefused
		tenant-uids = $E2E_UID_A-$E2E_UID_B
		# The nft layer's sets follow new listeners only while the daemon runs; these
		# scenarios run none, so they test one layer at a time (default: BPF).
		layers = ${E2E_LAYERS:-bpf}
		${E2E_EXTRA_CONFIG:-}
	EOF
	# In the hub's netns (nsenter keeps /sys, unlike ip netns exec): port_owner follows the
	# listeners of the namespace load runs in, as on a real hub where sshd is in the host's.
	nsenter --net="/run/netns/$E2E_NETNS" "$E2E_TG" load -c "$E2E_DIR/tunnelguard.conf" \
		--pin-dir "$E2E_PIN" --cgroup "$E2E_CG_HUB" || return
	# Teardown checks that these programs are gone from the kernel.
	read -r -a E2E_PROG_IDS < <(e2e_prog_ids)
	# load's self-test probe is a real refusal: counters are measured from here on.
	E2E_BASELINE_JSON=$(nsenter --net="/run/netns/$E2E_NETNS" "$E2E_TG" status --json \
		--pin-dir "$E2E_PIN") || E2E_BASELINE_JSON=
}

# e2e_counter NAME: one counter from `tunnelguard status --json`.
# A counter's rise since e2e_load (which excludes load's own self-test probe).
e2e_counter() {
	local json value base

	json=$(nsenter --net="/run/netns/$E2E_NETNS" "$E2E_TG" status --json --pin-dir "$E2E_PIN") ||
		e2e_fail "tunnelguard status --json --pin-dir $E2E_PIN failed: $json"
	value=$(printf '%s' "$json" | grep -o "\"$1\":[0-9]*" | cut -d: -f2)
	[ -n "$value" ] || e2e_fail "no counter $1 in: $json"
	base=$(printf '%s' "${E2E_BASELINE_JSON:-}" | grep -o "\"$1\":[0-9]*" | cut -d: -f2)
	echo $((value - ${base:-0}))
}

# Program ids of the loaded guard, "connect4 connect6 bind4 bind6".
e2e_prog_ids() {
	"$E2E_TG" status --json --pin-dir "$E2E_PIN" |
		sed -n 's/.*"programs":{"connect4":\([0-9]*\),"connect6":\([0-9]*\),"bind4":\([0-9]*\),"bind6":\([0-9]*\)}.*/\1 \2 \3 \4/p'
}

# Addresses the hub's resolver gives for "localhost", one a line, as sshd's getaddrinfo sees
# them (AF_UNSPEC, SOCK_STREAM).
e2e_localhost_addrs() {
	ip netns exec "$E2E_HUB_NETNS" /usr/bin/python3 -c '
import socket
for ai in socket.getaddrinfo("localhost", 1, 0, socket.SOCK_STREAM):
    print(ai[4][0])'
}

e2e_count() {
	grep -cF -- "$2" "$1" || true
}

e2e_create_user() {
	local name=$1 uid=$2

	useradd -m -d "$E2E_DIR/home/$name" -u "$uid" -U -s /bin/bash \
		-c "tunnelguard e2e test tenant" "$name" ||
		e2e_fail "useradd $name (uid $uid) failed"
	E2E_CREATED_USERS+=("$name")
	# useradd leaves the password field "!", which sshd treats as locked without PAM.
	usermod -p '*' "$name" || e2e_fail "usermod -p '*' $name failed"
	mkdir -p "$E2E_DIR/keys/$name"
	ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$E2E_DIR/keys/$name/id" ||
		e2e_fail "ssh-keygen for $name failed"
	cp "$E2E_DIR/keys/$name/id.pub" "$E2E_DIR/keys/$name/authorized_keys"
	chown -R "$name:" "$E2E_DIR/keys/$name"
	chmod 0700 "$E2E_DIR/keys/$name"
}

e2e_write_sshd_config() {
	cat >"$E2E_DIR/sshd_config" <<-EOF
		# tunnelguard e2e hub: a tunnel hub as tenants use it, nothing else
		ListenAddress 127.0.0.1:$E2E_SSH_PORT
		ListenAddress [::1]:$E2E_SSH_PORT
		HostKey $E2E_DIR/hostkey
		PidFile none
		UsePAM no
		StrictModes no
		PermitRootLogin no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PubkeyAuthentication yes
		AuthorizedKeysFile $E2E_DIR/keys/%u/authorized_keys
		AllowUsers $E2E_USER_A $E2E_USER_B
		AllowTcpForwarding yes
		GatewayPorts $E2E_GATEWAY_PORTS
		X11Forwarding no
		PrintMotd no
		# DEBUG1 adds one line per refused address (connect_next) to the one per refused
		# channel (connect to HOST port P failed) that INFO shows.
		LogLevel DEBUG1
	EOF
}

# The container: netns tg-e2e-PID-ct, joined to the guard's netns by a veth pair (the kernel
# here has no dummy driver). Deleting either namespace deletes the pair.
e2e_make_container() {
	local ct=$E2E_NETNS-ct

	ip netns add "$ct" || e2e_fail "ip netns add $ct failed"
	E2E_HUB_NETNS=$ct
	ip -n "$ct" link set lo up || e2e_fail "cannot bring lo up in $ct"
	ip -n "$E2E_NETNS" link add tg-host type veth peer name tg-ct netns "$ct" ||
		e2e_fail "cannot create the veth pair tg-host ($E2E_NETNS) / tg-ct ($ct)"
	if ! { ip -n "$E2E_NETNS" addr add "$E2E_CT_HOST_ADDR/24" dev tg-host &&
		ip -n "$E2E_NETNS" link set tg-host up &&
		ip -n "$ct" addr add "$E2E_CT_ADDR/24" dev tg-ct &&
		ip -n "$ct" link set tg-ct up; }; then
		e2e_fail "cannot configure the veth pair between $E2E_NETNS and $ct"
	fi
	# IPv4 needs no DAD; the link only has to come up (carrier on both ends).
	e2e_poll_until 5 eval "ip -n '$ct' -br link show tg-ct | grep -q ' UP '" ||
		e2e_fail "the veth end tg-ct in $ct did not come up"
}

# Build the hub. Installs the EXIT trap first, so every path below is cleaned up.
e2e_begin() {
	local cg2 owner

	e2e_check_host
	mkdir -p "${E2E_LOCK%/*}"
	exec 9>"$E2E_LOCK"
	flock -w 30 9 || e2e_fail "another tunnelguard e2e run has held $E2E_LOCK for 30s"
	trap e2e_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	e2e_sweep
	e2e_check_ids

	cg2=$(e2e_cgroup2_root)
	E2E_NETNS=tg-e2e-$$
	E2E_CG_TOP=$cg2/tg-e2e-$$
	E2E_CG_HUB=$E2E_CG_TOP/hub
	E2E_CG_REST=$E2E_CG_TOP/rest
	E2E_PIN=/sys/fs/bpf/tg-e2e-$$
	E2E_DIR=$(mktemp -d /tmp/tg-e2e-run.XXXXXX) || e2e_fail "mktemp failed"
	# sshd reads authorized_keys as the tenant: every directory on the path must let it pass.
	chmod 0711 "$E2E_DIR"
	mkdir -m 0711 "$E2E_DIR/home" "$E2E_DIR/keys"
	mkdir -m 0700 "$E2E_DIR/log" "$E2E_DIR/www"

	ip netns add "$E2E_NETNS" || e2e_fail "ip netns add $E2E_NETNS failed"
	ip -n "$E2E_NETNS" link set lo up || e2e_fail "cannot bring lo up in $E2E_NETNS"
	E2E_HUB_NETNS=$E2E_NETNS
	if [ "$E2E_CONTAINER" = 1 ]; then
		e2e_make_container
	fi
	mkdir "$E2E_CG_TOP" "$E2E_CG_HUB" "$E2E_CG_REST" ||
		e2e_fail "cannot create cgroups under $E2E_CG_TOP"

	e2e_create_user "$E2E_USER_A" "$E2E_UID_A"
	e2e_create_user "$E2E_USER_B" "$E2E_UID_B"

	ssh-keygen -q -t ed25519 -N '' -C tg-e2e-hub -f "$E2E_DIR/hostkey" ||
		e2e_fail "ssh-keygen for the host key failed"
	echo "tg-e2e-hub $(cut -d' ' -f1-2 "$E2E_DIR/hostkey.pub")" >"$E2E_DIR/known_hosts"
	chmod 0644 "$E2E_DIR/known_hosts"
	e2e_write_sshd_config
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
		E2E_CREATED_RUN_SSHD=1
	fi
	owner=$(stat -c %U /run/sshd)
	[ "$owner" = root ] || e2e_fail "/run/sshd belongs to $owner; sshd needs it root-owned"
	/usr/sbin/sshd -t -f "$E2E_DIR/sshd_config" ||
		e2e_fail "sshd -t rejects $E2E_DIR/sshd_config"

	# sshd is PID 1 of its own PID namespace: it reaps every orphan of its sessions, and when
	# it dies the kernel kills and reaps the whole namespace.
	e2e_spawn "$E2E_CG_HUB" "$E2E_DIR/log/sshd.out" unshare --pid --fork --kill-child -- \
		/usr/sbin/sshd -D -f "$E2E_DIR/sshd_config" -E "$E2E_DIR/log/sshd.log"
	E2E_TOKEN=tg-e2e-token-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	echo "$E2E_TOKEN" >"$E2E_DIR/www/token"
	e2e_spawn "$E2E_CG_REST" "$E2E_DIR/log/service.log" /usr/bin/python3 -m http.server \
		--bind 127.0.0.1 --directory "$E2E_DIR/www" "$E2E_SERVICE_PORT"

	e2e_wait_listen "$E2E_SSH_PORT" 0 2 "sshd" "$E2E_DIR/log/sshd.log"
	E2E_SSHD_PID=$(pgrep -P "${E2E_PIDS[0]}") || e2e_fail "cannot find sshd under unshare"
	e2e_wait_listen "$E2E_SERVICE_PORT" 0 1 "the service" "$E2E_DIR/log/service.log"
}

e2e_dump_logs() {
	local f

	[ -d "$E2E_DIR/log" ] || return 0
	for f in "$E2E_DIR"/log/*; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last 40 lines)\n' "${f##*/}" >&2
		tail -n 40 "$f" | sed 's/^/    | /' >&2
	done
}

# PID has exited and was reaped: no zombie is left for PID 1.
e2e_reaped() {
	[ ! -e "/proc/$1" ]
}

e2e_prog_gone() {
	! bpftool prog show id "$1" >/dev/null 2>&1
}

# Everything e2e_begin made is gone, and nothing runs as the test uids.
e2e_host_clean() {
	local bad=0 cg2 u

	cg2=$(e2e_cgroup2_root)
	for u in "$E2E_USER_A" "$E2E_USER_B"; do
		getent passwd "$u" >/dev/null && {
			e2e_say "left behind: user $u"
			bad=1
		}
		getent group "$u" >/dev/null && {
			e2e_say "left behind: group $u"
			bad=1
		}
	done
	for u in "$E2E_UID_A" "$E2E_UID_B"; do
		e2e_uid_has_processes "$u" && {
			e2e_say "left behind: processes of uid $u: $(pgrep -u "$u" | tr '\n' ' ')"
			bad=1
		}
	done
	if ip netns list 2>/dev/null | grep -q '^tg-e2e-'; then
		e2e_say "left behind: network namespace $(ip netns list | grep '^tg-e2e-')"
		bad=1
	fi
	if compgen -G "$cg2/tg-e2e-*" >/dev/null; then
		e2e_say "left behind: cgroup $(compgen -G "$cg2/tg-e2e-*")"
		bad=1
	fi
	if compgen -G "/sys/fs/bpf/tg-e2e-*" >/dev/null; then
		e2e_say "left behind: pin dir $(compgen -G "/sys/fs/bpf/tg-e2e-*")"
		bad=1
	fi
	if compgen -G "/tmp/tg-e2e-run.*" >/dev/null; then
		e2e_say "left behind: temp dir $(compgen -G "/tmp/tg-e2e-run.*")"
		bad=1
	fi
	if [ -n "$E2E_DIR" ] && pgrep -f "$E2E_DIR/sshd_config" >/dev/null; then
		e2e_say "left behind: sshd of $E2E_DIR"
		bad=1
	fi
	for u in "${E2E_PIDS[@]}" $E2E_SSHD_PID; do
		if ! e2e_poll_until 5 e2e_reaped "$u"; then
			e2e_say "left behind: process $u ($(ps -o stat=,args= -p "$u"))"
			bad=1
		fi
	done
	# The kernel frees a program shortly after its last link and pin go.
	for u in "${E2E_PROG_IDS[@]}"; do
		if ! e2e_poll_until 5 e2e_prog_gone "$u"; then
			e2e_say "left behind: BPF program id $u"
			bad=1
		fi
	done
	return "$bad"
}

# The EXIT trap: undo e2e_begin in reverse, whatever state it reached, and keep the exit
# status (a clean run that leaves something behind fails).
e2e_teardown() {
	local rc=$? pid user

	set +e
	trap - EXIT INT TERM HUP
	if [ "$rc" != 0 ] && [ "$rc" != "$E2E_SKIP" ]; then
		e2e_dump_logs
	fi
	[ "$E2E_NARRATE" = 1 ] && e2e_step "cleaning up"
	# sshd first: its parent `unshare` reaps it (the kernel has killed and reaped the rest of
	# its PID namespace by then) and exits to this shell. Killed together with unshare by
	# cgroup.kill, sshd would be left a zombie for PID 1 to reap.
	if [ -n "$E2E_SSHD_PID" ]; then
		kill -KILL "$E2E_SSHD_PID" 2>/dev/null
		e2e_poll_until 5 e2e_reaped "${E2E_PIDS[0]}"
	fi
	# Every other process this run started is in its cgroup: ssh clients, the service.
	if [ -n "$E2E_CG_TOP" ] && [ -d "$E2E_CG_TOP" ]; then
		e2e_cgroup_kill "$E2E_CG_TOP" || e2e_say "cleanup: $E2E_CG_TOP still has processes"
		e2e_narrate "killed sshd with its sessions, and every process of $E2E_CG_TOP" \
			"(ssh clients, service)"
	fi
	# A spawned command whose move into the cgroup failed.
	for pid in "${E2E_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$E2E_PIN" ] && { [ -e "$E2E_PIN" ] || [ "${E2E_LAYERS:-bpf}" = nft ]; } &&
		[ -e "/run/netns/$E2E_NETNS" ]; then
		# In the hub's netns, where load put the nft table.
		nsenter --net="/run/netns/$E2E_NETNS" "$E2E_TG" unload --pin-dir "$E2E_PIN" \
			>/dev/null ||
			e2e_say "cleanup: tunnelguard unload --pin-dir $E2E_PIN failed"
		e2e_narrate "tunnelguard unload --pin-dir $E2E_PIN"
	fi
	if [ ${#E2E_CREATED_USERS[@]} -gt 0 ]; then
		e2e_poll_until 10 e2e_uids_idle ||
			e2e_say "cleanup: uids $E2E_UID_A/$E2E_UID_B still have processes"
	fi
	for user in "${E2E_CREATED_USERS[@]}"; do
		userdel -r "$user" 2>/dev/null || e2e_say "cleanup: userdel -r $user failed"
		e2e_narrate "userdel -r $user"
	done
	if [ -n "$E2E_CG_TOP" ]; then
		e2e_cgroup_remove "$E2E_CG_TOP" || e2e_say "cleanup: cannot remove $E2E_CG_TOP"
		e2e_narrate "rmdir $E2E_CG_TOP (and its hub/, rest/)"
	fi
	if [ -n "$E2E_HUB_NETNS" ] && [ "$E2E_HUB_NETNS" != "$E2E_NETNS" ]; then
		# Takes the veth pair with it.
		ip netns del "$E2E_HUB_NETNS" 2>/dev/null
		e2e_narrate "ip netns del $E2E_HUB_NETNS (and the veth pair)"
	fi
	if [ -n "$E2E_NETNS" ]; then
		ip netns del "$E2E_NETNS" 2>/dev/null
		e2e_narrate "ip netns del $E2E_NETNS"
	fi
	if [ -n "$E2E_DIR" ]; then
		rm -rf "$E2E_DIR"
		e2e_narrate "rm -rf $E2E_DIR"
	fi
	[ "$E2E_CREATED_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
	if [ -n "$E2E_DIR" ] && ! e2e_host_clean; then
		[ "$rc" = 0 ] && rc=1
	elif [ -n "$E2E_DIR" ]; then
		e2e_narrate "checked, the host is as before: no tg-e2e users or groups," \
			"no process of uid $E2E_UID_A or $E2E_UID_B, no test sshd, no tg-e2e" \
			"network namespace, cgroup, pin dir or temp dir${E2E_PROG_IDS[0]:+,}" \
			"${E2E_PROG_IDS[0]:+BPF programs ${E2E_PROG_IDS[*]} freed}"
	fi
	exit "$rc"
}
