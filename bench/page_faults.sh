#!/usr/bin/env bash
# Benchmark: page faults of the short-lived binaries on the `run --rm` path,
# per command, side by side with a second build.
#   berth-runtime  run --detach, state, exec, delete on a busybox bundle
#   berth CLI      run --rm --network none busybox true, ps (against berthd)
# Two counts per process (its re-exec included, its children not):
#   trapped  perf's software page-faults event (perf stat --no-inherit):
#            the faults the process took as traps
#   mapped   getrusage's ru_minflt (/usr/bin/time %R): every page the kernel
#            mapped for it, trapped or not (MADV_POPULATE_* counts here and
#            not above; a huge page counts once)
# On this VM a trap is not the whole cost of a page: a populated page costs
# about as much on first touch, so "mapped" is the count to bring down, and
# "trapped" alone can mislead. Prints medians over RUNS (default 10).
#   usage: bench/page_faults.sh [RUNS]
# BERTH_BIN=DIR picks the build measured (default build/bin); BERTH_BIN_BASE=DIR
# adds a second one (e.g. a copy of main's build/bin) in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (Debian: time)" >&2; exit 1; }
source tests/helpers/berth.bash
builds=(new)
declare -A dir=([new]="$(readlink -f "$BERTH_BIN")")
if [[ -n ${BERTH_BIN_BASE:-} ]]; then
  dir[base]="$(readlink -f "$BERTH_BIN_BASE")"
  builds+=(base)
fi

W="$(mktemp -d /tmp/pf-bench-XXXXXX)"
finish() {
  set +e
  for v in "${builds[@]}"; do
    for id in pf-run pf-sleep; do "${dir[$v]}/berth-runtime" --root "$W/root-$v" delete -f "$id" >/dev/null 2>&1; done
  done
  stop_berthd >/dev/null 2>&1
  rm -rf "$W"
}
trap finish EXIT

# The bundle: the busybox fixture, the runtime's default spec, `true`.
mkdir -p "$W/bundle/rootfs"
tar -C "$W/bundle/rootfs" -xf "$(busybox_tar)"
(cd "$W/bundle" && "${dir[new]}/berth-runtime" spec)
jq '.process.terminal = false | .process.args = ["true"]' "$W/bundle/config.json" >"$W/c.json"
mv "$W/c.json" "$W/bundle/config.json"
mkdir -p "$W/sleep"
ln -s "$W/bundle/rootfs" "$W/sleep/rootfs"
jq '.process.args = ["sleep", "600"]' "$W/bundle/config.json" >"$W/sleep/config.json"

# count LABEL CMD...: one run of CMD, its trapped and mapped faults appended
# to $W/LABEL.{trapped,mapped}. CMD runs twice (once under each counter).
count() {
  local label=$1
  shift
  perf stat --no-inherit -x, -e page-faults -o "$W/perf.out" -- "$@" </dev/null >/dev/null 2>&1 || true
  awk -F, '/page-faults/ {print $1}' "$W/perf.out" >>"$W/$label.trapped"
  "${reset_cmd[@]}"
  /usr/bin/time -o "$W/time.out" -f '%R' "$@" </dev/null >/dev/null 2>&1 || true
  tail -1 "$W/time.out" >>"$W/$label.mapped"
  "${reset_cmd[@]}"
}
# recreate: the container `delete` is measured on again, its `true` exited.
recreate() {
  "$rt" --root "$root" run -d -b "$W/bundle" pf-run </dev/null >/dev/null
  sleep 0.05
}
median() { sort -n "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

start_berthd >/dev/null
import_busybox >/dev/null
for v in "${builds[@]}"; do
  rt="${dir[$v]}/berth-runtime" root="$W/root-$v" cli="${dir[$v]}/berth"
  # Warm the page cache and the runtime's seccomp cache.
  "$rt" --root "$root" run -d -b "$W/bundle" pf-run </dev/null >/dev/null
  "$rt" --root "$root" delete -f pf-run
  "$rt" --root "$root" run -d -b "$W/sleep" pf-sleep </dev/null >/dev/null
  "$cli" run --rm --network none busybox true
  for ((i = 0; i < runs; i++)); do
    reset_cmd=("$rt" --root "$root" delete -f pf-run)
    count "$v runtime run --detach" "$rt" --root "$root" run -d -b "$W/bundle" pf-run
    reset_cmd=(true)
    "$rt" --root "$root" run -d -b "$W/bundle" pf-run </dev/null >/dev/null
    count "$v runtime state" "$rt" --root "$root" state pf-run
    count "$v runtime exec" "$rt" --root "$root" exec pf-sleep true
    reset_cmd=(recreate)
    "$rt" --root "$root" delete -f pf-run
    recreate
    count "$v runtime delete" "$rt" --root "$root" delete pf-run
    "$rt" --root "$root" delete -f pf-run
    reset_cmd=(true)
    count "$v cli run --rm" "$cli" run --rm --network none busybox true
    count "$v cli ps" "$cli" ps
  done
done

echo "page faults, median of $runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  %-28s %8s %8s\n' "" trapped mapped
for v in "${builds[@]}"; do
  for k in "runtime run --detach" "runtime state" "runtime exec" "runtime delete" "cli run --rm" "cli ps"; do
    printf '  %-28s %8s %8s\n' "$v $k" "$(median "$W/$v $k.trapped")" "$(median "$W/$v $k.mapped")"
  done
done
echo "(new = ${dir[new]}${BERTH_BIN_BASE:+, base = ${dir[base]:-}})"
