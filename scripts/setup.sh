#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a container printing a
# greeting: installs dependencies, builds, installs berthd, berth,
# berth-shim, berth-runtime, berth-init (for --init), berth-proxy and berth-log-tls under /usr/local/bin, starts berthd in the
# background if it is not already answering on /run/berth/berth.sock,
# creates the built-in default image busybox:latest from Debian's
# busybox-static with berth's own import, and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "setup.sh: run as root" >&2; exit 1; }

scripts/install-deps.sh
scripts/build.sh
install -m 0755 build/bin/berthd build/bin/berth build/bin/berth-shim build/bin/berth-runtime \
  build/bin/berth-init build/bin/berth-proxy build/bin/berth-log-tls /usr/local/bin/

sock=/run/berth/berth.sock
if ! curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  mkdir -p /var/log/berth
  setsid /usr/local/bin/berthd >>/var/log/berth/berthd.log 2>&1 < /dev/null &
  for _ in $(seq 200); do
    curl -sf --max-time 1 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  curl -sf --max-time 1 --unix-socket "$sock" http://d/_ping >/dev/null || {
    echo "setup.sh: berthd did not start; see /var/log/berth/berthd.log" >&2; exit 1; }
  echo "berthd started (log: /var/log/berth/berthd.log)"
fi

if ! berth inspect --type image busybox:latest >/dev/null 2>&1; then
  tarball=$(mktemp /tmp/berth-busybox.XXXXXX.tar)
  tests/fixtures/make-busybox-tar.sh "$tarball"
  berth import -c 'CMD ["sh"]' -m 'built-in default image from Debian busybox-static' "$tarball" busybox:latest >/dev/null
  rm -f "$tarball"
  echo "created busybox:latest"
fi

berth run --rm busybox:latest echo "Hello from a berth container!"
