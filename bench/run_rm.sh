#!/usr/bin/env bash
# Benchmark: `run --rm busybox true`, end to end, side by side.
#   berth CLI  → berthd → berth-shim → berth-runtime
#   docker CLI → berthd (same daemon, the docker client's overhead)
#   docker CLI → Debian's dockerd (docker.io) when installed: started here on
#                a private socket and data root with no bridge, and stopped
#                (by PID) at the end. Every run uses --network none (loopback
#                only) so the three compare the same work; what the default
#                bridge adds is bench/net_run_latency.sh's subject.
# Prints hyperfine's table and the medians and ratios.
#   usage: bench/run_rm.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
source tests/helpers/berth.bash
command -v hyperfine >/dev/null || { echo "needs hyperfine (scripts/install-deps.sh)" >&2; exit 1; }
out=$(mktemp -d /tmp/berth-bench.XXXXXX)

start_berthd
finish() {
  set +e
  if [[ -n ${DPID:-} ]]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
  cleanup_docker
  stop_berthd
}
trap finish EXIT
import_busybox busybox:latest
berth_sock=$BERTHD_SOCK

cmds=(-n "berth run --rm (berthd)" "$BERTH_BIN/berth -H unix://$berth_sock run --rm --network none busybox true"
      -n "docker run --rm (berthd)" "docker -H unix://$berth_sock run --rm --network none busybox true")

DPID=
cleanup_docker() {
  [[ -n ${DDIR:-} ]] || return 0
  { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DDIR"
}
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false \
    >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    cmds+=(-n "docker run --rm (dockerd)" "docker -H unix://$DDIR/docker.sock run --rm --network none busybox true")
  else
    echo "dockerd did not start; benchmarking berth only" >&2
    kill $DPID 2>/dev/null || true; DPID=
  fi
fi

hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/run_rm.json" "${cmds[@]}"
echo
jq -r '.results[] | "\(.command)\tmedian \(.median*1000 | floor) ms\tmean \(.mean*1000|floor) ms"' "$out/run_rm.json"
base=$(jq '.results[0].median' "$out/run_rm.json")
jq -r --argjson b "$base" '.results[1:][] | "ratio \(.command) / berth: \(.median / $b * 100 | floor / 100)x"' "$out/run_rm.json"
echo "raw results: $out/run_rm.json"
