#!/usr/bin/env bash
# Benchmark: a container writes ~200 MB to stdout (json-file driver); we time
# the run (write path: container → shim → log file) and `logs` read-back
# (berthd → client, to /dev/null), on berthd and on a private Debian dockerd
# (stopped by PID at the end). Prints MB/s medians of BENCH_REPEAT rounds
# and ratios.
#   usage: bench/logs_throughput.sh [MB]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-200}
repeat=${BENCH_REPEAT:-3}
source tests/helpers/berth.bash
DPID= DDIR=
finish() {
  set +e
  if [[ -n $DDIR ]]; then docker -H "unix://$DDIR/docker.sock" ps -aq | xargs -r docker -H "unix://$DDIR/docker.sock" rm -f >/dev/null 2>&1; fi
  if [[ -n $DPID ]]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  stop_berthd
}
trap finish EXIT
start_berthd
import_busybox busybox:latest
targets=("berthd|docker -H unix://$BERTHD_SOCK")
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    targets+=("dockerd|docker -H unix://$DDIR/docker.sock")
  else
    kill "$DPID" 2>/dev/null || true; DPID=
  fi
fi
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# 100-byte lines: mb MB = mb*10486 lines; `yes` of a 99-char line, cut by head.
line=$(printf 'x%.0s' $(seq 99))
declare -A wr rd
for t in "${targets[@]}"; do
  name=${t%%|*} cli=${t#*|}
  net=""; [[ $name == dockerd ]] && net="--network none"
  w=() r=()
  for ((i = 0; i < repeat; i++)); do
    t0=$(now)
    $cli run -d $net --name lt busybox sh -c "yes $line | head -c $((mb * 1000000))" >/dev/null
    $cli wait lt >/dev/null
    w+=("$(echo "$mb / ($(now) - $t0)" | bc -l)")
    t0=$(now)
    bytes=$($cli logs lt | wc -c)
    r+=("$(echo "$bytes / 1000000 / ($(now) - $t0)" | bc -l)")
    $cli rm lt >/dev/null
  done
  wr[$name]=$(printf '%s\n' "${w[@]}" | median)
  rd[$name]=$(printf '%s\n' "${r[@]}" | median)
  printf '%-8s stdout → json-file: median %.0f MB/s   logs read-back: median %.0f MB/s\n' "$name" "${wr[$name]}" "${rd[$name]}"
done
if [[ -n ${wr[dockerd]:-} ]]; then
  printf 'ratio berthd / dockerd: write %.1fx, read-back %.1fx\n' \
    "$(echo "${wr[berthd]} / ${wr[dockerd]}" | bc -l)" "$(echo "${rd[berthd]} / ${rd[dockerd]}" | bc -l)"
fi
