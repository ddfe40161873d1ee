#!/usr/bin/env bash
# Benchmark: stdout → log driver WRITE throughput (container → shim → log
# file), and `logs` read-back, side by side in ONE run:
#   new     berthd + shim of this tree (build/bin)
#   base    berthd + shim of BASE_BIN (e.g. a copy of main's build/bin), if set
#   dockerd a private dockerd (stopped by PID at the end), if installed
# Rounds alternate the targets; medians of BENCH_REPEAT (>= 3) rounds.
#
# The container writes MB MB of LEN-byte lines ("xxx…x\n") with `cat` of a
# 1 MB file of such lines, MB times: cat splices the file into the pipe,
# so the writer is far faster than any driver (its ceiling is printed:
# the same output to /dev/null, and to the shim with --log-driver none).
# (The former writer, busybox `yes LINE | head -c`, writes 4 KiB at a time
# and tops out at ~150 MB/s to /dev/null on this machine: it measured
# busybox, not the log path.)
#
# Two figures per run:
#   stream  MB / (last entry's time − first entry's time), the times the
#           driver stamped on reading (`logs -t`): the log path alone.
#   e2e     MB / (run -d … wait): adds container start and exit (~0.2-0.3 s).
#   shim    (berth only) the shim's CPU (user + system, /proc/<shim>/stat
#           until it exits) per MB, and the rate that CPU allows on one
#           core, MB / CPU s: on a loaded shared machine MB/s measures the
#           share of CPU the writer and the shim got; CPU per MB holds up.
# The budget (DESIGN.md §6) is stdout → json-file >= 400 MB/s.
#   usage: [BASE_BIN=dir] [BENCH_REPEAT=3] [LINES="80 4096"] bench/logs_throughput.sh [MB]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-200}
repeat=${BENCH_REPEAT:-3}
read -r -a lens <<<"${LINES:-80 4096}"
budget=400
source tests/helpers/berth.bash
src=$PWD
DPID= DDIR= BASE_DIR= BASE_PID= NEW_DIR= NEW_PID=
# Both berthds run at once: each keeps its own roots, bridge and nft table.
stop_one() {  # DIR PID BRIDGE NFT_TABLE
  (
    BERTHD_DIR=$1 BERTHD_PID=$2 BERTHD_BRIDGE=$3 BERTHD_NFT_TABLE=$4
    export DOCKER_HOST=unix://$1/berth.sock
    stop_one_berthd
  )
}
finish() {
  set +e
  if [[ -n $DDIR ]]; then docker -H "unix://$DDIR/docker.sock" ps -aq | xargs -r docker -H "unix://$DDIR/docker.sock" rm -f >/dev/null 2>&1; fi
  if [[ -n $DPID ]]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
  [[ -z ${SAMPLE:-} ]] || rm -f "$SAMPLE"
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  [[ -z $NEW_DIR ]] || stop_one "$NEW_DIR" "$NEW_PID" "$NEW_BR" "$NEW_NFT"
  [[ -z $BASE_DIR ]] || stop_one "$BASE_DIR" "$BASE_PID" "$BASE_BR" "$BASE_NFT"
}
trap finish EXIT
declare -A cli
start_berthd
NEW_DIR=$BERTHD_DIR NEW_PID=$BERTHD_PID NEW_BR=$BERTHD_BRIDGE NEW_NFT=$BERTHD_NFT_TABLE
import_busybox busybox:latest
cli[new]="docker -H unix://$BERTHD_SOCK"
targets=(new)
if [[ -n ${BASE_BIN:-} ]]; then
  BERTH_BIN=$BASE_BIN start_berthd
  BASE_DIR=$BERTHD_DIR BASE_PID=$BERTHD_PID BASE_BR=$BERTHD_BRIDGE BASE_NFT=$BERTHD_NFT_TABLE
  BERTH_BIN=$BASE_BIN import_busybox busybox:latest
  cli[base]="docker -H unix://$BERTHD_SOCK"
  targets+=(base)
fi
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    cli[dockerd]="docker -H unix://$DDIR/docker.sock"
    targets+=(dockerd)
  else
    kill "$DPID" 2>/dev/null || true; DPID=
  fi
fi
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
secs() { date -d "$1" +%s.%N; }
# writer LEN SINK: the container's command.
writer() {
  local line
  line=$(head -c $(($1 - 1)) /dev/zero | tr '\0' x)
  echo "yes $line | head -c 1000000 >/tmp/f; i=0; while [ \$i -lt $mb ]; do cat /tmp/f; i=\$((i + 1)); done $2"
}
declare -A e2e stream rdb shimcpu
tick=$(getconf CLK_TCK)
SAMPLE=$(mktemp /tmp/berth-bench-logs.XXXXXX)
# sample_cpu PID: writes the process's utime+stime (ticks) to $SAMPLE
# every 50 ms until it exits (bounded: 10 min).
sample_cpu() {
  local s k
  for ((k = 0; k < 12000; k++)); do
    s=$(cat "/proc/$1/stat" 2>/dev/null) || break
    set -- "$1" ${s##*) }
    echo $(( ${13} + ${14} )) >"$SAMPLE"
    sleep 0.05
  done
}
# one TARGET KEY DRIVER LEN [SINK]: one run; appends to e2e[T,K], stream[T,K].
one() {
  local t=$1 key=$2 drv=$3 len=$4 sink=${5:-} c=${cli[$1]} net="" t0 t1 first last
  [[ $t == dockerd ]] && net="--network none"
  t0=$(now)
  local id spid= sp=
  id=$($c run -d $net --log-driver "$drv" --name lt busybox sh -c "$(writer "$len" "$sink")")
  if [[ $t != dockerd ]]; then
    spid=$(pgrep -f "berth-shim --id $id" | head -1) || true
    echo 0 >"$SAMPLE"
    if [[ -n $spid ]]; then sample_cpu "$spid" & sp=$!; fi
  fi
  $c wait lt >/dev/null
  t1=$(now)
  e2e[$t,$key]+="$(echo "$mb / ($t1 - $t0)" | bc -l) "
  if [[ $drv != none ]]; then
    first=$($c logs -t lt 2>/dev/null | head -1 | cut -d' ' -f1) || true
    last=$($c logs -t --tail 1 lt | cut -d' ' -f1)
    stream[$t,$key]+="$(echo "$mb / ($(secs "$last") - $(secs "$first"))" | bc -l) "
    if [[ $drv == json-file && $len == "${lens[0]}" ]]; then
      t0=$(now)
      local bytes
      bytes=$($c logs lt | wc -c)
      rdb[$t]+="$(echo "$bytes / 1000000 / ($(now) - $t0)" | bc -l) "
    fi
  fi
  $c rm lt >/dev/null
  if [[ -n $sp ]]; then
    wait "$sp"
    shimcpu[$t,$key]+="$(echo "$(cat "$SAMPLE") / $tick * 1000 / $mb" | bc -l) "
  fi
}
med() { printf '%s\n' $1 | median; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 0; i < repeat; i++)); do
  one new ceil-devnull none "${lens[0]}" ">/dev/null"
  one new ceil-none none "${lens[0]}"
  for t in "${targets[@]}"; do
    for len in "${lens[@]}"; do one "$t" "json-$len" json-file "$len"; done
    one "$t" "local-${lens[0]}" local "${lens[0]}"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "stdout → log driver, $mb MB per run, medians of $repeat rounds (MB/s; budget json-file >= $budget)"
printf 'writer ceiling (%s-byte lines): to /dev/null e2e %.0f; to the shim, --log-driver none, e2e %.0f\n' \
  "${lens[0]}" "$(med "${e2e[new,ceil-devnull]}")" "$(med "${e2e[new,ceil-none]}")"
printf '%-8s %-12s %8s %8s %10s %14s %14s\n' target workload stream e2e stream/400 "shim ms/MB" "shim-bound/400"
keys=()
for len in "${lens[@]}"; do keys+=("json-$len"); done
keys+=("local-${lens[0]}")
for t in "${targets[@]}"; do
  for k in "${keys[@]}"; do
    s=$(med "${stream[$t,$k]}") e=$(med "${e2e[$t,$k]}") c=- cb=-
    if [[ -n ${shimcpu[$t,$k]:-} ]]; then
      c=$(printf '%.2f' "$(med "${shimcpu[$t,$k]}")")
      cb=$(printf '%.0f MB/s %.2f' "$(echo "1000 / $c" | bc -l)" "$(echo "1000 / $c / $budget" | bc -l)")
    fi
    printf '%-8s %-12s %8.0f %8.0f %10.2f %14s %14s\n' "$t" "$k" "$s" "$e" "$(echo "$s / $budget" | bc -l)" "$c" "$cb"
  done
done
for t in "${targets[@]}"; do
  printf '%-8s logs read-back (json-%s): median %.0f MB/s\n' "$t" "${lens[0]}" "$(med "${rdb[$t]}")"
done
for other in base dockerd; do
  [[ -n ${cli[$other]:-} ]] || continue
  for k in "${keys[@]}"; do
    printf 'ratio new / %-7s %-12s stream %.2fx  e2e %.2fx\n' "$other" "$k" \
      "$(echo "$(med "${stream[new,$k]}") / $(med "${stream[$other,$k]}")" | bc -l)" \
      "$(echo "$(med "${e2e[new,$k]}") / $(med "${e2e[$other,$k]}")" | bc -l)"
  done
  if [[ $other == base ]]; then
    for k in "${keys[@]}"; do
      printf 'ratio new / base    %-12s shim CPU per MB %.2fx\n' "$k" \
        "$(echo "$(med "${shimcpu[new,$k]}") / $(med "${shimcpu[base,$k]}")" | bc -l)"
    done
  fi
  printf 'ratio new / %-7s logs read-back %.2fx\n' "$other" "$(echo "$(med "${rdb[new]}") / $(med "${rdb[$other]}")" | bc -l)"
done
echo "load average: start $load0, end $load1 (2 CPUs)"
