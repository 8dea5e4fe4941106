#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# valgrind memcheck over the CLI paths that need no guard: --help, a bad config given to load,
# check with no guard loaded, status with no guard. Each must exit with its documented status,
# with no memory error and no definite or indirect leak.
#
#	memcheck.sh [BINARY]    (default build/tunnelguard)
#
# valgrind reports its findings with exit status 99, not 1: `check` exits 1 for "deny" and
# `status` 3 for "not loaded", so 1 could not tell a memory error from an answer.
set -euo pipefail

binary=${1:-build/tunnelguard}
if ! command -v valgrind >/dev/null; then
	echo "memcheck: valgrind is missing: apt-get install valgrind" >&2
	exit 1
fi
[ -x "$binary" ] || { echo "memcheck: no binary at $binary (run make)" >&2; exit 1; }

work=$(mktemp -d /tmp/tg-memcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'tenant-uids = 2001-2003\nbogus-key = 1\n' >"$work/bad.conf"
printf 'tenant-uids = 2001-2003\n' >"$work/good.conf"
pins="$work/no-such-pin-dir"

# The listeners check asks about are those of its network namespace: as root, use an empty one
# so that the answer does not depend on the host.
netns=()
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
	netns=(unshare --net)
fi

failed=0
# run NAME EXPECTED_STATUS ARGS...
run() {
	local name=$1 want=$2 got=0
	shift 2
	"${netns[@]}" valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--log-file="$work/$name.vg" "$binary" "$@" >"$work/$name.out" 2>&1 || got=$?
	if [ "$got" = "$want" ] && [ ! -s "$work/$name.vg" ]; then
		echo "memcheck: $name: exit $got as expected, no error, no leak"
		return
	fi
	echo "memcheck: $name: FAILED: exit $got, want $want" >&2
	cat "$work/$name.out" "$work/$name.vg" >&2
	failed=$((failed + 1))
}

run help 0 --help
run load-bad-config 2 load -c "$work/bad.conf" --pin-dir "$pins" --cgroup "$work"
run check-no-guard 0 check -c "$work/good.conf" --pin-dir "$pins" --uid 2002 --port 1
run check-json-no-guard 0 check --json -c "$work/good.conf" --pin-dir "$pins" --uid 2002 --port 1
run status-no-guard 3 status --pin-dir "$pins"
run status-json-no-guard 3 status --json --pin-dir "$pins"
run status-prometheus-no-guard 3 status --prometheus --pin-dir "$pins"

if [ "$failed" -ne 0 ]; then
	echo "memcheck: $failed of 7 CLI paths FAILED" >&2
	exit 1
fi
echo "memcheck: all 7 CLI paths clean"
