#!/usr/bin/env bash
# Benchmark: 50 × `run -d busybox sleep`, one after another and 10 at a
# time, and the median of BENCH_RM_RUNS (default 15) × `run --rm busybox
# true`, through the berth CLI → berthd, the docker CLI → berthd, and the
# docker CLI → a private Debian dockerd (stopped by PID at the end), all
# with --network none so the three do the same work; each figure is also
# given as a ratio to DESIGN.md's budget (50 × run -d ≤ 1 s, run --rm
# ≤ 15 ms) and the load average is printed with the figures; then
# berthd's RSS idle and with N running containers, and the shims' RSS per
# container. Prints medians (of BENCH_REPEAT rounds) and ratios.
#   usage: bench/containers_start.sh [N_FOR_RSS]   (default 200; 1000 needs ~1.5 GiB;
#          0 stops after the start figures, skipping the RSS part)
#   BENCH_BASE_BIN=DIR (e.g. /work/base-bin) adds a second berthd started from
#   DIR's binaries, driven by this build's CLI: an A/B of the daemon side in
#   the same run (its figures are printed as a ratio to this build's).
set -euo pipefail
cd "$(dirname "$0")/.."
nrss=${1:-200}
repeat=${BENCH_REPEAT:-3}
source tests/helpers/berth.bash
out=$(mktemp -d /tmp/berth-bench.XXXXXX)

DPID= DDIR= BASE_DIR= BASE_PID= BASE_BRIDGE= BASE_NFT=
finish() {
  set +e
  if [[ -n $BASE_DIR ]]; then
    (BERTHD_DIR=$BASE_DIR BERTHD_PID=$BASE_PID BERTHD_SOCK=$BASE_DIR/berth.sock BERTHD_BRIDGE=$BASE_BRIDGE \
       BERTHD_NFT_TABLE=$BASE_NFT DOCKER_HOST=unix://$BASE_DIR/berth.sock BERTH_HOST=unix://$BASE_DIR/berth.sock
     stop_one_berthd)
  fi
  if [[ -n $DDIR ]]; then
    docker -H "unix://$DDIR/docker.sock" ps -aq | xargs -r docker -H "unix://$DDIR/docker.sock" rm -f >/dev/null 2>&1
  fi
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
bsock=$BERTHD_SOCK
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
idle=$(rss_kib "$(berthd_pid)")

targets=("berth CLI → berthd|$BERTH_BIN/berth -H unix://$bsock"
         "docker CLI → berthd|docker -H unix://$bsock")
if [[ -n ${BENCH_BASE_BIN:-} ]]; then
  (
    BERTH_BIN=$BENCH_BASE_BIN start_berthd
    import_busybox busybox:latest >/dev/null
    echo "$BERTHD_DIR $BERTHD_PID $BERTHD_BRIDGE $BERTHD_NFT_TABLE" >"$out/base.info"
  )
  read -r BASE_DIR BASE_PID BASE_BRIDGE BASE_NFT <"$out/base.info"
  # The helpers' variables point at this build's daemon again.
  export DOCKER_HOST=unix://$bsock BERTH_HOST=unix://$bsock
  targets+=("berth CLI → base berthd|$BERTH_BIN/berth -H unix://$BASE_DIR/berth.sock")
fi
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  if wait_for_ping "$DDIR/docker.sock"; then
    docker -H "unix://$DDIR/docker.sock" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
    targets+=("docker CLI → dockerd|docker -H unix://$DDIR/docker.sock")
  else
    kill "$DPID" 2>/dev/null || true; DPID=
  fi
fi

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A seq_med par_med ps50 rm_med
rm_runs=${BENCH_RM_RUNS:-15}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${targets[@]}"; do
  name=${t%%|*} cli=${t#*|}
  net="--network none"
  # run --rm, end to end: 2 warm-up runs, then the median of rm_runs.
  rt=()
  for ((k = 0; k < rm_runs + 2; k++)); do
    t0=$(now); $cli run --rm $net busybox true >/dev/null; t1=$(now)
    ((k < 2)) || rt+=("$(echo "($t1 - $t0) * 1000" | bc)")
  done
  rm_med[$name]=$(printf '%s\n' "${rt[@]}" | median)
  s=() p=()
  for ((r = 0; r < repeat; r++)); do
    t0=$(now)
    for i in $(seq 50); do $cli run -d $net busybox sleep 600 >/dev/null; done
    s+=("$(echo "$(now) - $t0" | bc)")
    if ((r == 0)); then  # `ps` with these 50 running: median of 5
      pst=()
      for k in 1 2 3 4 5; do t0=$(now); $cli ps >/dev/null; pst+=("$(echo "($(now) - $t0) * 1000" | bc)"); done
      ps50[$name]=$(printf '%s\n' "${pst[@]}" | median)
    fi
    $cli ps -aq | xargs -r $cli rm -f >/dev/null
    t0=$(now)
    seq 50 | xargs -P 10 -I{} $cli run -d $net busybox sleep 600 >/dev/null
    p+=("$(echo "$(now) - $t0" | bc)")
    $cli ps -aq | xargs -r $cli rm -f >/dev/null
  done
  seq_med[$name]=$(printf '%s\n' "${s[@]}" | median)
  par_med[$name]=$(printf '%s\n' "${p[@]}" | median)
  printf '%-22s 50 sequential: median %.2f s   50 parallel (10 at a time): median %.2f s\n' \
    "$name" "${seq_med[$name]}" "${par_med[$name]}"
  printf '%-22s run --rm busybox true: median %.1f ms (of %d)\n' "$name" "${rm_med[$name]}" "$rm_runs"
  printf '%-22s ps with 50 running: median %.1f ms\n' "$name" "${ps50[$name]}"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${targets[@]}"; do
  name=${t%%|*}
  printf 'budget ratio %s: 50 sequential %.2fx of 1 s, run --rm %.2fx of 15 ms\n' "$name" \
    "${seq_med[$name]}" "$(echo "${rm_med[$name]} / 15" | bc -l)"
done
b="berth CLI → berthd"
for t in "${targets[@]:1}"; do
  name=${t%%|*}
  printf 'ratio %s / berth: sequential %.1fx, parallel %.1fx, run --rm %.1fx\n' "$name" \
    "$(echo "${seq_med[$name]} / ${seq_med[$b]}" | bc -l)" "$(echo "${par_med[$name]} / ${par_med[$b]}" | bc -l)" \
    "$(echo "${rm_med[$name]} / ${rm_med[$b]}" | bc -l)"
done

((nrss > 0)) || exit 0
echo
echo "berthd RSS idle: $((idle / 1024)).$(((idle % 1024) * 10 / 1024)) MiB"
# --network none: the default bridge pool (/24) holds 254 addresses.
seq "$nrss" | xargs -P 4 -I{} "$BERTH_BIN/berth" -H "unix://$bsock" run -d --network none busybox sleep 600 >/dev/null
full=$(rss_kib "$(berthd_pid)")
running=$("$BERTH_BIN/berth" -H "unix://$bsock" ps -q | wc -l)
total=0 n=0
for pf in "$BERTHD_DIR"/exec/shims/*/shim.pid; do
  r=$(rss_kib "$(cat "$pf")" 2>/dev/null || echo 0); total=$((total + r)); n=$((n + 1))
done
echo "berthd RSS with $running running containers: $((full / 1024)).$(((full % 1024) * 10 / 1024)) MiB"
echo "shim RSS per container: $((total / n)) KiB (mean of $n)"
if [[ -n $DPID ]]; then
  echo "dockerd RSS idle (for comparison): $(( $(rss_kib "$DPID") / 1024 )) MiB"
fi
ps_median() {  # ps_median CLI...: median ms of 5 `ps`
  local k t0 v=()
  for k in 1 2 3 4 5; do t0=$(now); "$@" ps >/dev/null; v+=("$(echo "($(now) - $t0) * 1000" | bc)"); done
  printf '%s\n' "${v[@]}" | median
}
printf 'berth CLI ps with %d running: median %.1f ms\n' "$running" "$(ps_median "$BERTH_BIN/berth" -H "unix://$bsock")"
printf 'docker CLI → berthd ps with %d running: median %.1f ms\n' "$running" "$(ps_median docker -H "unix://$bsock")"
"$BERTH_BIN/berth" -H "unix://$bsock" ps -aq | xargs -r "$BERTH_BIN/berth" -H "unix://$bsock" rm -f >/dev/null
after=$(rss_kib "$(berthd_pid)")
echo "berthd RSS after removing them: $((after / 1024)).$(((after % 1024) * 10 / 1024)) MiB"

# dockerd with its own N (BENCH_DOCKER_N, default 200: 1,000 takes long here).
if [[ -n $DPID ]]; then
  dn=${BENCH_DOCKER_N:-200}
  dcli="docker -H unix://$DDIR/docker.sock"
  seq "$dn" | xargs -P 4 -I{} $dcli run -d --network none busybox sleep 600 >/dev/null
  drun=$($dcli ps -q | wc -l)
  dfull=$(rss_kib "$DPID")
  ctd=$(pgrep -f "containerd --config $DDIR" | head -1 || true)
  [[ -z $ctd ]] && ctd=$(pgrep -P "$DPID" containerd | head -1 || true)
  echo "dockerd RSS with $drun running: $((dfull / 1024)) MiB$([[ -n $ctd ]] && echo " (+ its containerd $(( $(rss_kib "$ctd") / 1024 )) MiB)")"
  dt=0 dnum=0
  for p in $(pgrep -f "containerd-shim.*$DDIR" || true); do
    v=$(rss_kib "$p" 2>/dev/null || echo 0); dt=$((dt + v)); dnum=$((dnum + 1))
  done
  ((dnum > 0)) && echo "containerd-shim RSS per container: $((dt / dnum)) KiB (mean of $dnum)"
  printf 'docker CLI → dockerd ps with %d running: median %.1f ms\n' "$drun" "$(ps_median $dcli)"
  $dcli ps -aq | xargs -r $dcli rm -f >/dev/null
fi
