#!/usr/bin/env bash
# Installs every Debian package berth's build, tests, fixtures and benchmarks
# need. Idempotent: apt runs only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config git ccache
  # libraries (DESIGN.md §5)
  nlohmann-json3-dev libsqlite3-dev libarchive-dev libssl-dev libcap-dev libseccomp-dev
  libcurl4-openssl-dev zlib1g-dev libzstd-dev libisal-dev libmnl-dev libnftables-dev nftables
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev bats hyperfine curl jq socat iproute2 procps tzdata
  linux-perf  # bench/page_faults.sh
  # fixtures: busybox image, debootstrap'd Debian image, the reference registry
  busybox-static debootstrap docker-registry tar gzip xz-utils
  # runtime interoperability smoke test (containerd 1.6 + ctr), loop-device filesystems
  containerd e2fsprogs xfsprogs
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages that ship services (docker-registry) must not start them here:
  # tests start their own instances on 127.0.0.1.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The docker CLI is the compatibility oracle; it is part of the machine image
# (docker 28 first on PATH). Fail clearly if it is missing.
command -v docker >/dev/null || echo "install-deps: warning: no docker CLI on PATH; e2e tests that drive it will fail" >&2
