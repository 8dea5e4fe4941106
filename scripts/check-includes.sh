#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# check-includes.sh [DIR...]: fail on an include cycle between userspace modules.
#
# A module is a .c file and the .h of the same name (loader.c and loader.h are "loader"). Each
# `#include "x.h"` of a module names an edge to module x when x.h is one of the checked
# directories' headers (project headers elsewhere, like include/tg_policy.h, and system headers
# are leaves). tsort finds a cycle; the modules in it are printed. Exit 0 when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(userspace)

declare -A is_module=()
for f in $(find "${dirs[@]}" -name '*.[ch]'); do
	m=$(basename "$f"); is_module[${m%.*}]=1
done
edges=$(for f in $(find "${dirs[@]}" -name '*.[ch]'); do
	m=$(basename "$f"); m=${m%.*}
	echo "$m $m" # every module is a node, even one that includes nothing
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
		while read -r inc; do
			inc=$(basename "$inc")
			if [ "$inc" != "$m" ] && [ -n "${is_module[$inc]:-}" ]; then echo "$m $inc"; fi
		done
done | sort -u)
if ! out=$(tsort <<<"$edges" 2>&1 >/dev/null); then
	echo "check-includes: include cycle between modules of ${dirs[*]}:" >&2
	sed -n 's/^tsort: //p' <<<"$out" | grep -v 'input contains a loop' | sed 's/^/  /' >&2
	exit 1
fi
if [ -n "$out" ]; then
	echo "check-includes: include cycle between modules of ${dirs[*]}:" >&2
	sed 's/^tsort: /  /' <<<"$out" >&2
	exit 1
fi
echo "check-includes: no include cycle in ${dirs[*]} ($(wc -l <<<"$edges") edges)"
