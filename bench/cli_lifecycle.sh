#!/usr/bin/env bash
# Benchmark: the lifecycle commands through the berth CLI and the docker CLI
# against the same berthd (the client's share of each command):
#   start -a of a container that prints a line and exits (attach + wait + start)
#   restart -t 0 of a running container (stop + start)
#   kill -s USR1 of a running container (one request)
# Prints hyperfine's table and the berth/docker ratio of medians.
#   usage: bench/cli_lifecycle.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
source tests/helpers/berth.bash
command -v hyperfine >/dev/null || { echo "needs hyperfine (scripts/install-deps.sh)" >&2; exit 1; }
out=$(mktemp -d /tmp/berth-bench.XXXXXX)
start_berthd
finish() {
  set +e
  stop_berthd
  rm -rf "$out"
}
trap finish EXIT
import_busybox busybox:latest >/dev/null
H=unix://$BERTHD_SOCK
docker -H "$H" create --network none --name bench-sa busybox echo hi >/dev/null
docker -H "$H" run -d --network none --name bench-up busybox sh -c 'trap "" USR1; trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null
B="$BERTH_BIN/berth -H $H"
D="docker -H $H"
hyperfine -N -w 2 -r "$runs" --export-json "$out/h.json" \
  -n "berth start -a" "$B start -a bench-sa" -n "docker start -a" "$D start -a bench-sa" \
  -n "berth restart -t 0" "$B restart -t 0 bench-up" -n "docker restart -t 0" "$D restart -t 0 bench-up" \
  -n "berth kill -s USR1" "$B kill -s USR1 bench-up" -n "docker kill -s USR1" "$D kill -s USR1 bench-up"
python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
for op in ("start -a", "restart -t 0", "kill -s USR1"):
    b, d = r["berth " + op], r["docker " + op]
    print(f"{op:14s} berth {b*1000:8.1f} ms  docker {d*1000:8.1f} ms  ratio {b/d:.2f}")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
