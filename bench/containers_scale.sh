#!/usr/bin/env bash
# Benchmark: memory and `ps` at scale, side by side with Docker 20.10.
#   - berthd RSS and Pss idle (after start-up) and with N running containers
#     (`busybox sleep`), and after removing them;
#   - shim RSS and Pss per running container (medians over all shims);
#   - `ps` latency with 50 and with N running containers (hyperfine medians)
#     for the berth CLI → berthd and the docker CLI → berthd;
#   - the same for a private dockerd (throwaway dirs, --bip 10.213.0.1/24,
#     --iptables=false) with 50 and DN running containers: DN defaults to
#     200, because each containerd-shim-runc-v2 costs ~13 MiB (1,000 would
#     need ~13 GiB here).
# Containers run with --network none on both sides: the default bridge's
# /24 holds 254 addresses, and `ps` and memory are what is measured.
# Every container is removed and every daemon stopped by PID at the end.
#   usage: bench/containers_scale.sh [N] (default 1000; BENCH_DOCKER_N=200, BENCH_DOCKER=0 skips dockerd)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
dn=${BENCH_DOCKER_N:-200}
runs=${BENCH_RUNS:-20}
source tests/helpers/berth.bash
out=$(mktemp -d /tmp/berth-bench-scale.XXXXXX)

DPID= DDIR= DBRIDGE=
dcli=()
finish() {
  set +e
  if [[ -n $DPID ]]; then
    "${dcli[@]}" ps -aq 2>/dev/null | xargs -r -n 50 "${dcli[@]}" rm -f >/dev/null 2>&1
    kill "$DPID" 2>/dev/null
    local i
    for ((i = 0; i < 300; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  [[ -z $DBRIDGE ]] || ip link del "$DBRIDGE" 2>/dev/null
  if [[ -n ${BERTHD_DIR:-} ]]; then
    "$BERTH_BIN/berth" ps -aq 2>/dev/null | xargs -r -n 100 "$BERTH_BIN/berth" rm -f >/dev/null 2>&1
  fi
  stop_berthd
  rm -rf "$out"
}
trap finish EXIT

kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print 0}'; }
# min_rss PID: smallest VmRSS of 5 reads 0.2 s apart (a settled figure).
min_rss() {
  local i v m=
  for ((i = 0; i < 5; i++)); do v=$(kib "$1" VmRSS); [[ -z $m || $v -lt $m ]] && m=$v; sleep 0.2; done
  echo "$m"
}
# start_n COUNT CLI...: runs containers 4 at a time until COUNT run.
start_n() {
  local want=$1 have
  shift
  have=$("$@" ps -q | wc -l)
  ((want > have)) || return 0
  seq $((want - have)) | xargs -P 4 -I{} "$@" run -d --network none busybox sleep 3600 >/dev/null
  have=$("$@" ps -q | wc -l)
  ((have >= want)) || { echo "only $have of $want containers run" >&2; return 1; }
}
# ps_ms LABEL CLI...: hyperfine median of `CLI ps` in ms.
declare -A psm
ps_ms() {
  local label=$1 json
  shift
  json=$out/ps.json
  hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$json" "$* ps" >/dev/null 2>&1
  psm[$label]=$(python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$json")
  printf '  %-36s median %7.2f ms\n' "$label" "${psm[$label]}"
}

echo "== berthd ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
start_berthd
import_busybox busybox:latest
# A fresh daemon: restart it so the import's work is not counted as idle.
kill "$(berthd_pid)"
for ((i = 0; i < 100; i++)); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.05; done
restart_berthd
sleep 1
bpid=$(berthd_pid)
b_idle=$(min_rss "$bpid") b_idle_pss=$(pss "$bpid")
berth=("$BERTH_BIN/berth" -H "unix://$BERTHD_SOCK")
dockb=(docker -H "unix://$BERTHD_SOCK")

start_n 50 "${berth[@]}"
echo "berthd, 50 running:"
ps_ms "berth CLI → berthd, 50" "${berth[@]}"
ps_ms "docker CLI → berthd, 50" "${dockb[@]}"
t0=$(date +%s.%N)
start_n "$n" "${berth[@]}"
t1=$(date +%s.%N)
sleep 1
nrun=$("${berth[@]}" ps -q | wc -l)
echo "berthd, $nrun running (started $((nrun - 50)) in $(echo "$t1 - $t0" | bc | cut -c1-5) s, 4 at a time):"
ps_ms "berth CLI → berthd, $nrun" "${berth[@]}"
ps_ms "docker CLI → berthd, $nrun" "${dockb[@]}"
b_full=$(min_rss "$bpid") b_full_pss=$(pss "$bpid")
b_threads=$(ls "/proc/$bpid/task" | wc -l)
srss=() spss=()
for pf in "$BERTHD_DIR"/exec/shims/*/shim.pid; do
  p=$(cat "$pf")
  srss+=("$(kib "$p" VmRSS)")
  spss+=("$(pss "$p")")
done
s_rss=$(printf '%s\n' "${srss[@]}" | median) s_pss=$(printf '%s\n' "${spss[@]}" | median)
"${berth[@]}" ps -aq | xargs -r -n 100 -P 2 "${berth[@]}" rm -f >/dev/null
sleep 1
b_after=$(min_rss "$bpid")

if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  echo "== dockerd $(dockerd --version | awk '{print $3}' | tr -d ,)"
  DDIR=$(mktemp -d /tmp/berth-bench-dd.XXXXXX)
  bridge_flags=(--bip 10.213.0.1/24)
  if ip link show docker0 >/dev/null 2>&1; then
    bridge_flags=(--bridge=none)   # someone else's docker0: do not share it
  else
    DBRIDGE=docker0
  fi
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" "${bridge_flags[@]}" --iptables=false --ip6tables=false \
    >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  dcli=(docker -H "unix://$DDIR/docker.sock")
  wait_for_ping "$DDIR/docker.sock"
  "${dcli[@]}" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
  sleep 2
  d_idle=$(min_rss "$DPID") d_idle_pss=$(pss "$DPID")
  ctd=$(pgrep -P "$DPID" -x containerd | head -1 || true)
  c_idle=0
  [[ -z $ctd ]] || c_idle=$(min_rss "$ctd")
  start_n 50 "${dcli[@]}"
  echo "dockerd, 50 running:"
  ps_ms "docker CLI → dockerd, 50" "${dcli[@]}"
  start_n "$dn" "${dcli[@]}"
  sleep 1
  dnrun=$("${dcli[@]}" ps -q | wc -l)
  echo "dockerd, $dnrun running:"
  ps_ms "docker CLI → dockerd, $dnrun" "${dcli[@]}"
  d_full=$(min_rss "$DPID") d_full_pss=$(pss "$DPID")
  c_full=0
  [[ -z $ctd ]] || c_full=$(min_rss "$ctd")
  drss=() dpss=()
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $DDIR" || true); do
    drss+=("$(kib "$p" VmRSS)")
    dpss+=("$(pss "$p")")
  done
  ds_rss=$(printf '%s\n' "${drss[@]}" | median) ds_pss=$(printf '%s\n' "${dpss[@]}" | median)
fi

echo
echo "== summary (medians; budgets from DESIGN.md §6)"
printf '%-44s %-22s %-22s %s\n' "" "berth" "docker 20.10" "budget"
printf '%-44s %-22s %-22s %s\n' "daemon RSS idle (Pss)" "$(mib "$b_idle") ($(mib "$b_idle_pss"))" \
  "${d_idle:+$(mib "$d_idle") ($(mib "$d_idle_pss")) + containerd $(mib "$c_idle")}" "<= 8 MiB"
printf '%-44s %-22s %-22s %s\n' "daemon RSS with running containers (Pss)" \
  "$(mib "$b_full") ($(mib "$b_full_pss")) @ $nrun" \
  "${d_full:+$(mib "$d_full") ($(mib "$d_full_pss")) + containerd $(mib "$c_full") @ ${dnrun:-}}" ""
printf '%-44s %-22s\n' "berthd RSS after removing them" "$(mib "$b_after") ($b_threads threads while $nrun ran)"
printf '%-44s %-22s %-22s %s\n' "monitor RSS per container (Pss)" "$s_rss KiB ($s_pss KiB)" \
  "${ds_rss:+$ds_rss KiB ($ds_pss KiB)}" "<= 1024 KiB"
printf '%-44s %-22s %-22s %s\n' "ps, 50 running: berth CLI | docker CLI" \
  "${psm["berth CLI → berthd, 50"]} | ${psm["docker CLI → berthd, 50"]} ms" \
  "${psm["docker CLI → dockerd, 50"]:-} ms" "<= 5 ms"
printf '%-44s %-22s %-22s %s\n' "ps, $nrun running (docker: ${dnrun:-})" \
  "${psm["berth CLI → berthd, $nrun"]} | ${psm["docker CLI → berthd, $nrun"]} ms" \
  "${psm["docker CLI → dockerd, ${dnrun:-}"]:-} ms" "<= 20 ms"
if [[ -n ${d_idle:-} ]]; then
  echo "ratios docker/berth: idle RSS $(echo "scale=1; $d_idle / $b_idle" | bc)x," \
    "shim RSS $(echo "scale=1; $ds_rss / $s_rss" | bc)x," \
    "ps@50 (docker CLI) $(echo "scale=1; ${psm["docker CLI → dockerd, 50"]} / ${psm["docker CLI → berthd, 50"]}" | bc)x"
fi
