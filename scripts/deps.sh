#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs every build and test dependency of tunnelguard from Debian packages.
# Idempotent: packages already present are left alone, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
	make gcc clang llvm clang-format pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libnftnl-dev libmnl-dev nftables iptables
	libcriterion-dev valgrind libclang-rt-14-dev
	iproute2 openssh-server openssh-client procps util-linux curl python3
	# make install checks, the .deb and its test (issue 9): systemd-analyze, man pages
	# rendered (col is in bsdextrautils), dpkg-buildpackage with debhelper, the Prometheus
	# parser that reads status --prometheus back
	systemd man-db groff-base bsdextrautils bash-completion dpkg-dev debhelper
	python3-prometheus-client
	# issue 17: lintian for the package test; ansible-playbook (ansible-core, 1.3 MB) and
	# PyYAML for make check-dist (promtool only comes with the whole prometheus server)
	lintian ansible-core python3-yaml
)

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: must run as root to install packages (try: sudo $0)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
