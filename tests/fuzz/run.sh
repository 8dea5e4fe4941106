#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run one libFuzzer target for a bounded time on its seed corpus; print one summary line and
# fail on any crash, sanitizer report or broken invariant (libFuzzer then saves the input).
#
#	run.sh BINARY NAME SECONDS SEED_DIR WORK_DIR [libFuzzer options...]
set -euo pipefail

binary=$1 name=$2 seconds=$3 seeds=$4 work=$5
shift 5

mkdir -p "$work/corpus-$name"
log="$work/$name.log"
# New inputs go to the work dir; the committed seeds are only read.
if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/$name-" "$@" \
	"$work/corpus-$name" "$seeds" >"$log" 2>&1; then
	tail -n 60 "$log" >&2
	echo "fuzz: $name: FAILED; the input is saved as $(ls -t "$work/$name"-* 2>/dev/null |
		head -n 1) (full log: $log)" >&2
	exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
corpus=$(find "$work/corpus-$name" "$seeds" -type f | wc -l)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
echo "fuzz: $name: ${execs:-?} execs in ${seconds} s, coverage ${cov:-?} edges, corpus $corpus inputs, no crash"
