#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The shipped units, sandbox and all, under a real systemd: /lib/systemd/systemd runs as PID 1 of
# a throwaway pid, mount, network and cgroup namespace that holds only our units, and the test
# starts tunnelguard.service, tunnelguard-daemon.service and tunnelguard-metrics.service there
# with a throwaway pin dir. It asserts that load self-tests and loads under the sandbox, that the
# daemon reports READY, that the metrics file is written, and that load fails, saying why,
# when a capability it needs is missing from the bounding set. Needs root. Usage:
#	tests/units/sandbox_systemd.sh BUILD_DIR    (BUILD_DIR holds tunnelguard and systemd/*)
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
TG=$BUILD/tunnelguard
# The units see the binary where the container puts a copy: a build under /tmp, /home or /root
# would be hidden from them by PrivateTmp= and ProtectHome=.
CT_TG=/run/tg-test/tunnelguard
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x /lib/systemd/systemd ] || { echo "FAIL: no /lib/systemd/systemd"; exit 1; }
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CG2" ] || { echo "FAIL: no cgroup v2 mount"; exit 1; }

TAG=tg-units-$$
PIN=/sys/fs/bpf/$TAG
CG=$CG2/$TAG
WORK=$(mktemp -d /tmp/$TAG.XXXXXX)
PID1=
LAUNCHER=

cleanup() {
	[ -n "$PID1" ] && kill -KILL "$PID1" 2>/dev/null || true
	[ -n "$LAUNCHER" ] && wait "$LAUNCHER" 2>/dev/null || true
	# unload in a namespace of its own: it also removes the nft table of its namespace
	[ -d "$PIN" ] && unshare -n "$TG" unload --pin-dir "$PIN" >/dev/null 2>&1 || true
	rm -rf "$PIN" 2>/dev/null || true
	[ -d "$CG" ] && find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# Units as installed, but naming our binary; drop-ins change only what the test must change
# (the config, the pin dir, where output goes), never a sandbox setting.
mkdir -p "$WORK/units/tunnelguard.service.d" "$WORK/units/tunnelguard-daemon.service.d" \
	"$WORK/units/tunnelguard-metrics.service.d" "$WORK/conf"
cp "$BUILD"/systemd/*.service "$BUILD"/systemd/*.timer "$WORK/units/"
cat >"$WORK/units/tunnelguard.service.d/test.conf" <<EOT
[Service]
ExecStart=
ExecStart=$CT_TG load -c /run/tg-test/tunnelguard.conf --pin-dir $PIN
ExecReload=
ExecReload=$CT_TG load -c /run/tg-test/tunnelguard.conf --pin-dir $PIN
StandardOutput=append:/run/tg-test.log
StandardError=append:/run/tg-test.log
EOT
cat >"$WORK/units/tunnelguard-daemon.service.d/test.conf" <<EOT
[Unit]
DefaultDependencies=no
[Service]
ExecStart=
ExecStart=$CT_TG daemon -c /run/tg-test/tunnelguard.conf --pin-dir $PIN
StandardOutput=append:/run/tg-test.log
StandardError=append:/run/tg-test.log
Restart=no
EOT
cat >"$WORK/units/tunnelguard-metrics.service.d/test.conf" <<EOT
[Unit]
ConditionPathIsDirectory=
DefaultDependencies=no
[Service]
ExecStart=
ExecStart=/bin/sh -c '$CT_TG status --prometheus --pin-dir $PIN >/var/lib/prometheus/node-exporter/tunnelguard.prom'
StandardError=append:/run/tg-test.log
EOT
printf '[Unit]\nDefaultDependencies=no\n' >"$WORK/units/tg-test.target"
# This systemd shares the host's file systems: it must not boot anything. The units started
# here have DefaultDependencies=no (the drop-ins above for the two that lack it), so that
# sysinit.target is never pulled in; in case it is, what it would start is masked (tmpfiles
# with --remove would empty the host's /tmp, systemd-sysctl and binfmt write kernel settings).
for want in /lib/systemd/system/{sysinit,basic,local-fs,sockets,timers,paths}.target.wants/*; do
	if [ -e "$want" ]; then ln -sf /dev/null "$WORK/units/$(basename "$want")"; fi
done
printf 'tenant-uids = 2001-2003\n[tenant alice]\nuser = 2001\nports = 8001-8010\n' >"$WORK/conf/tunnelguard.conf"

# PID 1 gets a cgroup subtree of its own (the root of its cgroup namespace), a fresh /run, our
# units in place of /etc/systemd/system, the test config in its /run, an empty /tmp and /var; the
# host's files are not touched.
mkdir "$CG"
(
	echo $BASHPID >"$CG/cgroup.procs"
	exec unshare --cgroup --mount --pid --fork --net --mount-proc --propagation private \
		bash -c '
		set -e
		mount -t tmpfs tmpfs /run
		mount --bind "$1/units" /etc/systemd/system
		mkdir /run/tg-test
		cp "$1/conf/tunnelguard.conf" /run/tg-test/
		cp "$2" /run/tg-test/tunnelguard
		mount -t tmpfs tmpfs /tmp
		mount -t tmpfs tmpfs /var
		mkdir -p /var/tmp /var/lib/prometheus/node-exporter
		umount -R /sys/fs/cgroup
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
		exec env -i container=tunnelguard-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			/lib/systemd/systemd --system --unit=tg-test.target
		' boot "$WORK" "$TG"
) >"$WORK/boot.log" 2>&1 &
LAUNCHER=$!

for _ in $(seq 100); do
	PID1=$(pgrep -P "$LAUNCHER" | head -1 || true)
	[ -n "$PID1" ] && [ -S "/proc/$PID1/root/run/systemd/private" ] && break
	sleep 0.1
done
[ -n "$PID1" ] && [ -S "/proc/$PID1/root/run/systemd/private" ] ||
	fail "systemd did not come up as PID 1 of the container: $(cat "$WORK/boot.log")"

in_ct() { nsenter -t "$PID1" -m -p -n "$@"; }
unit_log() { in_ct sh -c 'cat /run/tg-test.log 2>/dev/null; systemctl --no-pager status "$0"' "$1" 2>&1 || true; }
echo "systemd $(in_ct systemctl --version | head -1 | cut -d' ' -f2) is PID 1 of the container"

# 1. load under its sandbox: the unit is active, the guard self-tested and in force.
in_ct systemctl start tunnelguard.service || fail "tunnelguard.service failed: $(unit_log tunnelguard.service)"
[ "$(in_ct systemctl show -P ActiveState tunnelguard.service)" = active ] ||
	fail "tunnelguard.service not active: $(unit_log tunnelguard.service)"
status=$(in_ct "$CT_TG" status --pin-dir "$PIN" 2>&1) || fail "status after load: $status"
grep -q '^  self-test: *passed' <<<"$status" || fail "no passed self-test in status: $status"
grep -q '^  layers: *bpf nft$' <<<"$status" || fail "not both layers in status: $status"
# The reservation reached the sysctl through ReadWritePaths=/proc/sys/net.
reserved=$(in_ct cat /proc/sys/net/ipv4/ip_local_reserved_ports)
[ "$reserved" = 8001-8010 ] || fail "ip_local_reserved_ports is '$reserved', not 8001-8010"
echo "ok: tunnelguard.service loaded both layers and self-tested under its sandbox" \
	"(ip_local_reserved_ports $reserved)"

# 2. reload (a config swap) under the same sandbox.
in_ct systemctl reload tunnelguard.service || fail "reload failed: $(unit_log tunnelguard.service)"
echo "ok: systemctl reload tunnelguard swapped the config"

# 3. the daemon reaches READY=1 (Type=notify) and stays up.
in_ct systemctl start tunnelguard-daemon.service ||
	fail "tunnelguard-daemon.service failed: $(unit_log tunnelguard-daemon.service)"
sleep 3
[ "$(in_ct systemctl show -P ActiveState tunnelguard-daemon.service)" = active ] ||
	fail "daemon not active after 3 s: $(unit_log tunnelguard-daemon.service)"
# The sandbox is really there: read it off the running daemon.
pid=$(in_ct systemctl show -P MainPID tunnelguard-daemon.service)
proc=/proc/$PID1/root/proc/$pid
want=$(printf '%016x' $(((1 << 39) | (1 << 12) | (1 << 21) | (1 << 7) | (1 << 6) | (1 << 19) | (1 << 2))))
grep -q "^CapBnd:[[:space:]]*$want$" "$proc/status" ||
	fail "daemon's bounding set is not CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SETUID CAP_SETGID CAP_SYS_PTRACE CAP_DAC_READ_SEARCH ($want): $(grep CapBnd "$proc/status")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$proc/status" || fail "daemon runs without no_new_privs"
grep -q '^Seccomp:[[:space:]]*2$' "$proc/status" || fail "daemon runs without a seccomp filter"
mount_opts() { awk -v m="$1" '$5 == m { split($6, o, ","); print o[1]; exit }' "$proc/mountinfo"; }
for ro in / /sys /proc/sys; do
	[ "$(mount_opts "$ro")" = ro ] || fail "$ro is not read-only for the daemon"
done
for rw in /sys/fs/bpf /sys/fs/cgroup /proc/sys/net /run; do
	[ "$(mount_opts "$rw")" = rw ] || fail "$rw is not writable for the daemon"
done
# Not covered here: the daemon's setns() into a tenant's namespace. The BPF bind and close hooks report
# pids of the initial pid namespace, which this container's /proc does not have; on a host,
# where the service shares that namespace, tests/kernel/test_netns_watch.c covers it.
in_ct systemctl stop tunnelguard-daemon.service
echo "ok: tunnelguard-daemon.service is ready and running under its sandbox" \
	"(bounding set $want, no_new_privs, seccomp, / /sys /proc/sys read-only)"

# 4. metrics: status --prometheus under its sandbox writes the textfile.
in_ct systemctl start tunnelguard-metrics.service ||
	fail "tunnelguard-metrics.service failed: $(unit_log tunnelguard-metrics.service)"
in_ct grep -q '^tunnelguard_loaded 1' /var/lib/prometheus/node-exporter/tunnelguard.prom ||
	fail "no tunnelguard_loaded 1 in the textfile: $(in_ct cat /var/lib/prometheus/node-exporter/tunnelguard.prom)"
echo "ok: tunnelguard-metrics.service wrote the textfile under its sandbox"

# 5. without CAP_SETUID in the bounding set the self-test cannot drop to a tenant uid: load
# must fail, and say so, and leave the guard that was in force.
in_ct "$CT_TG" unload --pin-dir "$PIN" >/dev/null
printf '[Service]\nCapabilityBoundingSet=~CAP_SETUID\n' |
	in_ct sh -c 'cat >/etc/systemd/system/tunnelguard.service.d/nosetuid.conf'
in_ct systemctl daemon-reload
in_ct sh -c ': >/run/tg-test.log'
if in_ct systemctl restart tunnelguard.service; then
	fail "load succeeded without CAP_SETUID: $(unit_log tunnelguard.service)"
fi
log=$(in_ct cat /run/tg-test.log)
grep -q 'self-test probe could not set itself up\|CAP_SETUID' <<<"$log" ||
	fail "load failed without saying why: $log"
grep -q 'rolled back' <<<"$log" || fail "load did not say it rolled back: $log"
rc=0
in_ct "$CT_TG" status --pin-dir "$PIN" >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "after the failed load status exits $rc, not 3 (not loaded)"
echo "ok: without CAP_SETUID load fails: $(head -3 <<<"$log" | tr '\n' ' ')"
echo "PASS"
