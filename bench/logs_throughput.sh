#!/usr/bin/env bash
# Benchmark: stdout → log driver WRITE throughput (container → shim → log
# file), and `logs` read-back, side by side in ONE run:
#   new     berthd + shim of this tree (build/bin)
#   base    berthd + shim of BASE_BIN (e.g. a copy of main's build/bin), if set
#   dockerd a private dockerd (stopped by PID at the end), if installed
# Rounds alternate the targets; medians of BENCH_REPEAT (>= 3) rounds.
#
# The container writes MB MB of LEN-byte lines ("xxx…x\n"): it builds a
# 1 MB file of such lines, then ONE `cat` of that file named MB times (one
# process; cat splices the file into the pipe). The writer's own ceiling is
# printed: the same command to /dev/null, and to the shim with
# --log-driver none. (Former writers measured themselves: a busybox `sh`
# loop running `cat` MB times tops out at ~170 MB/s to /dev/null, busybox
# `yes LINE | head -c` at ~150 MB/s.)
#
# Figures per run (MB/s):
#   stream  MB / (last entry's time − first entry's time), the times the
#           shim stamped (`logs -t`). The shim stamps each 64 KiB read when
#           it reads it (every line of one read has that read's time), so
#           this is the rate the shim consumed the pipe, first read to last
#           read; it leaves out the writer's start and the last read's
#           encode + write + the close (one 64 KiB read: negligible).
#   life    MB / (FinishedAt − StartedAt) of the container: the writer's
#           whole life, held back by the shim once the pipe is full, plus
#           building the 1 MB file (see the /dev/null ceiling: same cost).
#   e2e     MB / (run -d … wait) wall time through the docker CLI: adds two
#           CLI starts, create, start and the exit; that fixed cost is
#           printed (`fixed`: the same run writing nothing). On a loaded
#           2-core machine it is 0.2-0.4 s, i.e. most of a 200 MB run.
#   shim    (berth only) the shim's CPU (user + system, /proc/<shim>/stat
#           sampled every 20 ms without forking until it exits: at most
#           20 ms unseen) per MB, and the rate that CPU allows on one core,
#           MB / CPU s: on a loaded shared machine MB/s measures the share
#           of CPU the writer and the shim got; CPU per MB holds up.
# Read-back of the json-file log (LINES' first length), to /dev/null:
#   cli     `logs` through the target's own CLI (berth CLI for berth,
#           docker CLI for dockerd)
#   api     raw GET /containers/{id}/logs?stdout=1 through curl
#   docker  the docker CLI against either daemon (one stdcopy frame per line,
#           as dockerd sends: the CLI's per-frame cost dominates)
# The budget (DESIGN.md §6) is stdout → json-file >= 400 MB/s, read-back >= 200.
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
  [[ -z ${SAMPLE:-} ]] || rm -f "$SAMPLE" "$SAMPLE.fifo"
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  [[ -z $NEW_DIR ]] || stop_one "$NEW_DIR" "$NEW_PID" "$NEW_BR" "$NEW_NFT"
  [[ -z $BASE_DIR ]] || stop_one "$BASE_DIR" "$BASE_PID" "$BASE_BR" "$BASE_NFT"
}
trap finish EXIT
declare -A cli rcli sock
start_berthd
NEW_DIR=$BERTHD_DIR NEW_PID=$BERTHD_PID NEW_BR=$BERTHD_BRIDGE NEW_NFT=$BERTHD_NFT_TABLE
import_busybox busybox:latest
sock[new]=$BERTHD_SOCK
cli[new]="docker -H unix://$BERTHD_SOCK"
rcli[new]="$src/build/bin/berth -H unix://$BERTHD_SOCK"
targets=(new)
if [[ -n ${BASE_BIN:-} ]]; then
  BERTH_BIN=$BASE_BIN start_berthd
  BASE_DIR=$BERTHD_DIR BASE_PID=$BERTHD_PID BASE_BR=$BERTHD_BRIDGE BASE_NFT=$BERTHD_NFT_TABLE
  BERTH_BIN=$BASE_BIN import_busybox busybox:latest
  sock[base]=$BERTHD_SOCK
  cli[base]="docker -H unix://$BERTHD_SOCK"
  rcli[base]="$BASE_BIN/berth -H unix://$BERTHD_SOCK"
  targets+=(base)
fi
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    sock[dockerd]=$DDIR/docker.sock
    cli[dockerd]="docker -H unix://$DDIR/docker.sock"
    rcli[dockerd]=${cli[dockerd]}
    targets+=(dockerd)
  else
    kill "$DPID" 2>/dev/null || true; DPID=
  fi
fi
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
secs() { date -d "$1" +%s.%N; }
# writer LEN SINK: the container's command (one cat process, MB arguments).
writer() {
  local line files
  line=$(head -c $(($1 - 1)) /dev/zero | tr '\0' x)
  files=$(printf '/tmp/f %.0s' $(seq "$mb"))
  echo "yes $line | head -c 1000000 >/tmp/f; cat $files $2"
}
declare -A e2e stream life shimcpu rb
tick=$(getconf CLK_TCK)
SAMPLE=$(mktemp /tmp/berth-bench-logs.XXXXXX)
FIFO=$SAMPLE.fifo
mkfifo "$FIFO"
# sample_cpu PID: writes the process's utime+stime (ticks) to $SAMPLE every
# 20 ms until it exits (bounded: 10 min). Builtins only: no fork per sample.
sample_cpu() {
  local s k fd
  exec {fd}<>"$FIFO"
  for ((k = 0; k < 30000; k++)); do
    read -r s 2>/dev/null <"/proc/$1/stat" || break
    set -- "$1" ${s##*) }
    echo $(( ${13} + ${14} )) >"$SAMPLE"
    read -r -t 0.02 -u "$fd" _ || true
  done
}
# readback TARGET: the json-file log of `lt` read to /dev/null three ways.
readback() {
  local t=$1 t0 out
  t0=$(now)
  ${rcli[$t]} logs lt >/dev/null
  rb[$t,cli]+="$(echo "$mb / ($(now) - $t0)" | bc -l) "
  out=$(curl -sS --unix-socket "${sock[$t]}" -o /dev/null -w '%{size_download} %{time_total}' \
    "http://localhost/v1.41/containers/lt/logs?stdout=1&stderr=1")
  rb[$t,api]+="$(echo "${out% *} / 1000000 / ${out#* }" | bc -l) "
  out=$(curl -sS --unix-socket "${sock[$t]}" -o /dev/null -w '%{size_download} %{time_total}' \
    "http://localhost/v1.41/containers/lt/logs?stdout=1&stderr=1&timestamps=1")
  rb[$t,api-t]+="$(echo "${out% *} / 1000000 / ${out#* }" | bc -l) "
  if [[ ${RB_DOCKER:-1} == 1 ]]; then
    t0=$(now)
    ${cli[$t]} logs lt >/dev/null
    rb[$t,docker]+="$(echo "$mb / ($(now) - $t0)" | bc -l) "
  fi
}
# one TARGET KEY DRIVER LEN [SINK]: one run; appends to e2e/life/stream[T,K].
one() {
  local t=$1 key=$2 drv=$3 len=$4 sink=${5:-} c=${cli[$1]} net="" t0 t1 first last st
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
  st=$($c inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' lt)
  life[$t,$key]+="$(echo "$mb / ($(secs "${st#* }") - $(secs "${st% *}"))" | bc -l) "
  if [[ $drv != none ]]; then
    first=$(curl -sS --unix-socket "${sock[$t]}" \
      "http://localhost/v1.41/containers/lt/logs?stdout=1&timestamps=1" 2>/dev/null | head -c 48 | tail -c +9 | cut -d' ' -f1 | head -1) || true
    last=$($c logs -t --tail 1 lt | cut -d' ' -f1)
    stream[$t,$key]+="$(echo "$mb / ($(secs "$last") - $(secs "$first"))" | bc -l) "
    [[ $drv == json-file && $len == "${lens[0]}" ]] && readback "$t"
  fi
  $c rm lt >/dev/null
  if [[ -n $sp ]]; then
    wait "$sp"
    shimcpu[$t,$key]+="$(echo "$(cat "$SAMPLE") / $tick * 1000 / $mb" | bc -l) "
  fi
}
# fixed TARGET: run -d … wait of a container writing nothing (seconds).
declare -A fixed
fixedcost() {
  local t=$1 c=${cli[$1]} net="" t0
  [[ $t == dockerd ]] && net="--network none"
  t0=$(now)
  $c run -d $net --name lt busybox true >/dev/null
  $c wait lt >/dev/null
  fixed[$t]+="$(echo "$(now) - $t0" | bc -l) "
  $c rm lt >/dev/null
}
med() { printf '%s\n' $1 | median; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 0; i < repeat; i++)); do
  one new ceil-devnull none "${lens[0]}" ">/dev/null"
  one new ceil-none none "${lens[0]}"
  for t in "${targets[@]}"; do
    fixedcost "$t"
    for len in "${lens[@]}"; do one "$t" "json-$len" json-file "$len"; done
    one "$t" "local-${lens[0]}" local "${lens[0]}"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "stdout → log driver, $mb MB per run, medians of $repeat rounds (MB/s; budget json-file >= $budget)"
printf 'writer ceiling (%s-byte lines, one cat): to /dev/null life %.0f e2e %.0f; to the shim, --log-driver none, life %.0f e2e %.0f\n' \
  "${lens[0]}" "$(med "${life[new,ceil-devnull]}")" "$(med "${e2e[new,ceil-devnull]}")" \
  "$(med "${life[new,ceil-none]}")" "$(med "${e2e[new,ceil-none]}")"
for t in "${targets[@]}"; do
  printf '%-8s fixed cost of run -d … wait (nothing written): %.3f s\n' "$t" "$(med "${fixed[$t]}")"
done
printf '%-8s %-12s %8s %8s %8s %10s %10s %16s\n' target workload stream life e2e stream/400 "shim ms/MB" "shim-bound /400"
keys=()
for len in "${lens[@]}"; do keys+=("json-$len"); done
keys+=("local-${lens[0]}")
for t in "${targets[@]}"; do
  for k in "${keys[@]}"; do
    s=$(med "${stream[$t,$k]}") l=$(med "${life[$t,$k]}") e=$(med "${e2e[$t,$k]}") c=- cb=-
    if [[ -n ${shimcpu[$t,$k]:-} ]]; then
      c=$(printf '%.2f' "$(med "${shimcpu[$t,$k]}")")
      cb=$(printf '%.0f %.2f' "$(echo "1000 / $c" | bc -l)" "$(echo "1000 / $c / $budget" | bc -l)")
    fi
    printf '%-8s %-12s %8.0f %8.0f %8.0f %10.2f %10s %16s\n' "$t" "$k" "$s" "$l" "$e" "$(echo "$s / $budget" | bc -l)" "$c" "$cb"
  done
done
rbk=(cli api api-t)
[[ ${RB_DOCKER:-1} == 1 ]] && rbk+=(docker)
for t in "${targets[@]}"; do
  printf '%-8s logs read-back of %d MB json-%s (MB/s):' "$t" "$mb" "${lens[0]}"
  for k in "${rbk[@]}"; do printf ' %s %.0f' "$k" "$(med "${rb[$t,$k]}")"; done
  echo
done
for other in base dockerd; do
  [[ -n ${cli[$other]:-} ]] || continue
  for k in "${keys[@]}"; do
    printf 'ratio new / %-7s %-12s stream %.2fx  life %.2fx  e2e %.2fx\n' "$other" "$k" \
      "$(echo "$(med "${stream[new,$k]}") / $(med "${stream[$other,$k]}")" | bc -l)" \
      "$(echo "$(med "${life[new,$k]}") / $(med "${life[$other,$k]}")" | bc -l)" \
      "$(echo "$(med "${e2e[new,$k]}") / $(med "${e2e[$other,$k]}")" | bc -l)"
  done
  if [[ $other == base ]]; then
    for k in "${keys[@]}"; do
      printf 'ratio new / base    %-12s shim CPU per MB %.2fx\n' "$k" \
        "$(echo "$(med "${shimcpu[new,$k]}") / $(med "${shimcpu[base,$k]}")" | bc -l)"
    done
  fi
  printf 'ratio new / %-7s logs read-back:' "$other"
  for k in "${rbk[@]}"; do printf ' %s %.2fx' "$k" "$(echo "$(med "${rb[new,$k]}") / $(med "${rb[$other,$k]}")" | bc -l)"; done
  echo
done
echo "load average: start $load0, end $load1 (2 CPUs)"
