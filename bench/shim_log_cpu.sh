#!/usr/bin/env bash
# Benchmark: CPU seconds (user + system) berth-shim spends turning a
# container's ~MB MB of stdout into json-file lines, read from
# /proc/<shim>/stat until the shim exits. CPU time, unlike MB/s, holds up
# on a loaded shared machine. Compares the build/bin shim with the shim
# of BASE_BIN (e.g. main's build/bin), alternating rounds.
#   usage: BASE_BIN=/work/main/build/bin bench/shim_log_cpu.sh [MB]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-200}
repeat=${BENCH_REPEAT:-3}
src=$PWD
AB=$(mktemp -d /tmp/berth-bench-shimcpu.XXXXXX)
trap 'rm -rf "$AB"' EXIT
mkdir -p "$AB/new" "$AB/base"
for b in "$src"/build/bin/*; do
  cp "$b" "$AB/new/"
  cp "$b" "$AB/base/"
done
cp "${BASE_BIN:?BASE_BIN: a bin dir with the baseline berth-shim}/berth-shim" "$AB/base/berth-shim"
line=$(printf 'x%.0s' $(seq 99))
tick=$(getconf CLK_TCK)
one_round() {  # $1: bin dir; prints shim CPU seconds
  (
    export BERTH_BIN=$1
    source tests/helpers/berth.bash
    trap stop_berthd EXIT
    start_berthd >/dev/null
    import_busybox busybox:latest >/dev/null
    cli="docker -H unix://$BERTHD_SOCK"
    id=$($cli create --name sc busybox sh -c "sleep 0.5; yes $line | head -c $((mb * 1000000))")
    $cli start sc >/dev/null
    pid=$(pgrep -f "berth-shim --id $id" | head -1)
    cpu=0
    for ((k = 0; k < 6000; k++)); do
      s=$(cat "/proc/$pid/stat" 2>/dev/null) || break
      set -- ${s##*) }
      cpu=$(( ${12} + ${13} ))
      sleep 0.05
    done
    $cli rm -f sc >/dev/null
    echo "scale=3; $cpu / $tick" | bc
  )
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
n=() b=()
for ((i = 0; i < repeat; i++)); do
  b+=("$(one_round "$AB/base")")
  n+=("$(one_round "$AB/new")")
done
mb_=$(printf '%s\n' "${b[@]}" | median)
mn=$(printf '%s\n' "${n[@]}" | median)
echo "base shim: ${b[*]} s  new shim: ${n[*]} s  (CPU for $mb MB of stdout)"
printf 'median shim CPU: base %.3f s, new %.3f s, ratio new/base %.2f; load %s\n' "$mb_" "$mn" \
  "$(echo "$mn / $mb_" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
