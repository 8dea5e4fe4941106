#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Quick start on a fresh Debian 12 machine: install dependencies, build, then run the demo (a
# real sshd with two tenants: the leak without the guard, the refusal with it), which leaves the
# host as it was. Needs nothing but bash and root: deps.sh installs make and the compilers.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "quickstart.sh: run as root (sudo $0)" >&2
	exit 1
fi
bash scripts/deps.sh
make -j"$(nproc)" build/tunnelguard
make demo
echo
echo "To put the guard in force on this host: sudo build/tunnelguard load   (see README)"
