#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh: tunnelguard in one run, for a newcomer. On a throwaway SSH tunnel hub (a real sshd,
# two test tenants, built and removed by tests/e2e/lib.sh) tenant B reaches tenant A's tunnel;
# then tunnelguard is loaded and the kernel refuses B while A and root keep their access.
# Everything is removed at the end, and the removal is checked. Run as root; `make demo`
# installs the dependencies and builds first. Exit 0 when every step showed what it should.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
E2E_NARRATE=1

P=$E2E_TUNNEL_PORT

# show PROMPT COMMAND: print the command as the person at that prompt would type it.
show() {
	printf '\n  %s %s\n' "$1" "$2"
}

# indent: the output of a shown command.
indent() {
	sed 's/^/      /'
}

# explain WORDS...: one paragraph of narration, wrapped.
explain() {
	printf '%s\n' "$*" | fold -s -w 96 | sed 's/^/  /'
}

cat <<EOF
tunnelguard demo
================
A tunnel hub is one sshd shared by many tenants. Tenant A publishes a service with
'ssh -R $P:localhost:$E2E_SERVICE_PORT hub', and A's sshd session listens on the hub's
127.0.0.1:$P and [::1]:$P. Every other tenant of the hub can reach that port too: with
'ssh -L', or with a plain connect() from a shell on the hub. This demo shows that leak on a
real OpenSSH server, loads tunnelguard, and shows the kernel refusing it while A and root keep
their access. It runs in a throwaway network namespace and cgroup, with two test accounts
($E2E_USER_A uid $E2E_UID_A, $E2E_USER_B uid $E2E_UID_B), all removed at the end.

EOF

e2e_step "building the throwaway hub"
e2e_begin
explain "sshd (Debian's /usr/sbin/sshd, own config) listens on 127.0.0.1:$E2E_SSH_PORT and" \
	"[::1]:$E2E_SSH_PORT in network namespace $E2E_NETNS and runs in cgroup $E2E_CG_HUB," \
	"so every session it forks is in that cgroup. A's private service (python3" \
	"http.server) serves the secret '$E2E_TOKEN' on 127.0.0.1:$E2E_SERVICE_PORT."

echo
e2e_step "1. tenant A publishes its service through the hub"
show "$E2E_USER_A@laptop\$" "ssh -N -R $P:localhost:$E2E_SERVICE_PORT $E2E_USER_A@hub"
e2e_tunnel a-remote "$E2E_USER_A" -R "$P:localhost:$E2E_SERVICE_PORT"
e2e_wait_listen "$P" "$E2E_UID_A" 2 "A's -R tunnel" "$E2E_DIR/log/a-remote.log"
show "root@hub#" "ss -tlne 'sport = :$P'"
ip netns exec "$E2E_NETNS" ss -Htlne "sport = :$P" 2>/dev/null |
	awk '{ for (i = 5; i <= NF; i++) if ($i ~ /^uid:/) print $4, $i }' | indent
echo
explain "A's sshd session, running as uid $E2E_UID_A, listens on the hub's loopback port $P."

echo
e2e_step "2. without tunnelguard: tenant B walks into A's service"
show "$E2E_USER_B@laptop\$" "ssh -N -L $E2E_B_PORT:localhost:$P $E2E_USER_B@hub"
e2e_tunnel b-local "$E2E_USER_B" -L "$E2E_B_PORT:localhost:$P"
e2e_wait_listen "$E2E_B_PORT" "$E2E_UID_B" 1 "B's -L" "$E2E_DIR/log/b-local.log"
show "$E2E_USER_B@laptop\$" "curl http://127.0.0.1:$E2E_B_PORT/token"
got=$(e2e_fetch "$E2E_CG_REST" "$E2E_USER_B" "http://127.0.0.1:$E2E_B_PORT/token" 2>&1) ||
	e2e_fail "B's fetch failed before the guard: $got"
echo "$got" | indent
[ "$got" = "$E2E_TOKEN" ] || e2e_fail "expected A's token, got '$got'"
echo
explain "B has A's secret: sshd connected B's forward to A's port. sshd_config" \
	"(AllowTcpForwarding, permitopen=, PermitListen) can narrow this per key and Match block," \
	"but does nothing against a shell on the hub:"
show "$E2E_USER_B@hub\$" "python3 connect_probe.py $P    # connect() to 127.0.0.1:$P and [::1]:$P"
e2e_ssh_exec "$E2E_USER_B" /usr/bin/python3 - "$P" <tests/e2e/connect_probe.py | indent

echo
e2e_step "3. load tunnelguard on the hub's cgroup"
e2e_load >"$E2E_DIR/load.out" 2>&1 || {
	cat "$E2E_DIR/load.out"
	e2e_fail "tunnelguard load failed"
}
show "root@hub#" "cat $E2E_DIR/tunnelguard.conf"
indent <"$E2E_DIR/tunnelguard.conf"
show "root@hub#" "tunnelguard load -c $E2E_DIR/tunnelguard.conf --pin-dir $E2E_PIN \\
      --cgroup $E2E_CG_HUB"
indent <"$E2E_DIR/load.out"
echo
explain "load exits; the programs stay attached through pinned links. B's session above" \
	"was opened before the load and is covered all the same."

echo
e2e_step "4. with tunnelguard: B tries again"
show "$E2E_USER_B@laptop\$" "curl http://127.0.0.1:$E2E_B_PORT/token"
if got=$(e2e_fetch "$E2E_CG_REST" "$E2E_USER_B" "http://127.0.0.1:$E2E_B_PORT/token" 2>&1); then
	e2e_fail "B's fetch succeeded under the guard: '$got'"
fi
echo "$got" | indent
e2e_poll_until 5 grep -q "connect to localhost port $P failed" "$E2E_DIR/log/sshd.log" || true
show "root@hub#" "grep 'port $P failed' sshd.log    # what sshd logged"
grep -F "port $P failed" "$E2E_DIR/log/sshd.log" | indent
show "$E2E_USER_B@laptop\$" "# what B's ssh client printed"
grep -F "open failed" "$E2E_DIR/log/b-local.log" | indent
show "$E2E_USER_B@hub\$" "python3 connect_probe.py $P"
out=$(e2e_ssh_exec "$E2E_USER_B" /usr/bin/python3 - "$P" <tests/e2e/connect_probe.py)
echo "$out" | indent
[ "$(echo "$out" | grep -c ECONNREFUSED)" = 2 ] || e2e_fail "expected ECONNREFUSED twice"
echo
explain "To B, port $P looks closed (ECONNREFUSED), whichever way it asks: nothing tells B" \
	"that A has a tunnel there."

echo
e2e_step "5. A and root keep their access"
show "$E2E_USER_A@laptop\$" "ssh -N -L $E2E_A_PORT:localhost:$P $E2E_USER_A@hub"
show "$E2E_USER_A@laptop\$" "curl http://127.0.0.1:$E2E_A_PORT/token"
e2e_tunnel a-local "$E2E_USER_A" -L "$E2E_A_PORT:localhost:$P"
e2e_wait_listen "$E2E_A_PORT" "$E2E_UID_A" 1 "A's -L" "$E2E_DIR/log/a-local.log"
got=$(e2e_fetch "$E2E_CG_REST" "$E2E_USER_A" "http://127.0.0.1:$E2E_A_PORT/token" 2>&1) ||
	e2e_fail "A's own fetch failed: $got"
echo "$got" | indent
show "root@hub#" "curl http://127.0.0.1:$P/token    # a hub service, inside the guarded cgroup"
got=$(e2e_fetch "$E2E_CG_HUB" "" "http://127.0.0.1:$P/token" 2>&1) ||
	e2e_fail "root's fetch failed: $got"
echo "$got" | indent

echo
e2e_step "6. what the operator sees"
show "root@hub#" "tunnelguard status --pin-dir $E2E_PIN"
nsenter --net="/run/netns/$E2E_NETNS" "$E2E_TG" status --pin-dir "$E2E_PIN" | indent
show "root@hub#" "tunnelguard events --pin-dir $E2E_PIN    # one line per refusal (no daemon here)"
"$E2E_TG" events --pin-dir "$E2E_PIN" | indent
n_local=$(e2e_localhost_addrs | wc -l)
deny=$(e2e_counter deny_other_tenant)
[ "$deny" = $((n_local + 2)) ] || e2e_fail "deny_other_tenant is $deny, expected $((n_local + 2))"
echo
explain "Since load, deny_other_tenant rose by $deny: B's sshd session tried each of the" \
	"$n_local address(es) 'localhost' resolves to for the forward, and B's shell tried" \
	"127.0.0.1 and ::1. The status shows one more: load's self-test, a probe connect between" \
	"two tenant uids in a throwaway network namespace that load must see refused before it" \
	"reports success. allow_own is A's own -L. Root's connects are not counted: the" \
	"non-tenant path returns before any map access."
echo
# The EXIT trap removes the hub and checks the host (E2E_NARRATE=1 makes it say so).
