#!/usr/bin/env bash
# Benchmark: what networking costs.
#  1. `run --rm busybox true` on the default bridge vs --network none
#     (berth CLI → berthd), hyperfine medians and the difference.
#  2. TCP throughput from the host through a published port (127.0.0.1 and
#     the host's own address; for berth also [::1], which goes through
#     berth-proxy) into a busybox `nc -l`, berth vs Debian's
#     dockerd (started here on a private socket with --bip 10.213.0.1/24
#     and --iptables=true, stopped by PID at the end).
#   usage: bench/net_run_latency.sh [RUNS] [MIB]   (default 30 runs, 512 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
mib=${2:-512}
source tests/helpers/berth.bash
command -v hyperfine >/dev/null || { echo "needs hyperfine (scripts/install-deps.sh)" >&2; exit 1; }
out=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
hip=$(hostname -I | awk '{print $1}')

DPID= DDIR=
finish() {
  set +e
  if [[ -n $DPID ]]; then
    docker -H "unix://$DDIR/docker.sock" rm -f $(docker -H "unix://$DDIR/docker.sock" ps -aq) >/dev/null 2>&1
    kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
  fi
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    # docker0 is removed only when this run's dockerd made it (the dockerd
    # part is skipped when a docker0 already existed).
    [[ -n ${DOCKER0_OURS:-} ]] && ip link del docker0 2>/dev/null
    # dockerd leaves its iptables chains behind when it stops: take them out.
    iptables -D FORWARD -j DOCKER-USER 2>/dev/null
    iptables -D FORWARD -j DOCKER-ISOLATION-STAGE-1 2>/dev/null
    iptables -D FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null
    iptables -D FORWARD -o docker0 -j DOCKER 2>/dev/null
    iptables -D FORWARD -i docker0 ! -o docker0 -j ACCEPT 2>/dev/null
    iptables -D FORWARD -i docker0 -o docker0 -j ACCEPT 2>/dev/null
    for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
      iptables -F "$c" 2>/dev/null; iptables -X "$c" 2>/dev/null
    done
    iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER 2>/dev/null
    iptables -t nat -D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER 2>/dev/null
    iptables -t nat -D POSTROUTING -s 10.213.0.0/24 ! -o docker0 -j MASQUERADE 2>/dev/null
    iptables -t nat -F DOCKER 2>/dev/null; iptables -t nat -X DOCKER 2>/dev/null
    [[ -n ${FWD_POLICY:-} ]] && iptables -P FORWARD "$FWD_POLICY"
    rm -rf "$DDIR"
  fi
  stop_berthd
}
trap finish EXIT
start_berthd
import_busybox busybox:latest
b="$BERTH_BIN/berth -H unix://$BERTHD_SOCK"

hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/latency.json" \
  -n "run --rm, --network none" "$b run --rm --network none busybox true" \
  -n "run --rm, default bridge" "$b run --rm busybox true"
jq -r '.results[] | "\(.command)\tmedian \(.median*1000*10 | floor / 10) ms"' "$out/latency.json"
jq -r '"bridge adds \((.results[1].median - .results[0].median)*1000*10 | floor / 10) ms (median) to run --rm"' "$out/latency.json"

# push MiB through host:port; prints MB/s
push() {
  local host=$1 port=$2 t0 t1
  t0=$(date +%s%N)
  head -c "$((mib * 1024 * 1024))" /dev/zero >"/dev/tcp/$host/$port"
  t1=$(date +%s%N)
  awk -v b="$((mib * 1024 * 1024))" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'
}
sink_port() {  # docker CLI with -H … [HOST_IP] → published host port of a fresh nc -l sink
  local cli=$1 id
  id=$($cli run -d -p "${2:+[$2]::}5001" busybox sh -c 'nc -l -p 5001 >/dev/null')
  sleep 0.5
  $cli port "$id" 5001/tcp | head -1 | sed 's/.*://'
}
throughput() {
  local name=$1 cli=$2 p
  p=$(sink_port "$cli"); echo "$name via 127.0.0.1: $(push 127.0.0.1 "$p") MB/s"
  p=$(sink_port "$cli"); echo "$name via $hip: $(push "$hip" "$p") MB/s"
  # [::1] cannot be DNATed: a userland proxy (berth-proxy / docker-proxy)
  p=$(sink_port "$cli" ::1); echo "$name via [::1] (userland proxy): $(push ::1 "$p") MB/s"
}
throughput berth "docker -H unix://$BERTHD_SOCK"
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]] && ip link show docker0 >/dev/null 2>&1; then
  echo "skipping dockerd: a docker0 bridge exists already (another dockerd's); this run would share and then delete it" >&2
elif command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DOCKER0_OURS=1
  FWD_POLICY=$(iptables -S FORWARD 2>/dev/null | awk '$1=="-P" {print $3}')
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bip 10.213.0.1/24 --iptables=true --ip6tables=false \
    >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    throughput dockerd "docker -H unix://$DDIR/docker.sock"
  else
    echo "dockerd did not start: $(tail -3 "$DDIR/dockerd.log")" >&2
  fi
fi
echo "raw results: $out"
