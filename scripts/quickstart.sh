#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Quick start on a fresh Debian 12 machine: install dependencies, build, put the guard in force
# with the built-in defaults (or /etc/tunnelguard/tunnelguard.conf when present), show status.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "quickstart.sh: run as root (sudo $0)" >&2
	exit 1
fi
bash scripts/deps.sh
make -j"$(nproc)"
build/tunnelguard load
build/tunnelguard status
