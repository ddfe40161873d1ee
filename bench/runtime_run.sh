#!/usr/bin/env bash
# Benchmark: the OCI runtimes themselves on one busybox bundle, side by side,
# in one hyperfine run:
#   run      RUNTIME run ID                      (foreground, process `true`)
#   lifecycle RUNTIME create; start; wait for the init to exit; delete
# for berth-runtime, crun and runc (Debian packages; a missing one is left
# out). Prints hyperfine's table, medians, ratios to berth-runtime and the
# peak RSS of each runtime's `create` process.
#   usage: bench/runtime_run.sh [RUNS]   (default 50)
# BERTH_RUNTIME=PATH picks the berth-runtime measured (default build/bin);
# BERTH_RUNTIME_BASE=PATH adds a second one as "berth-base" in the same run
# (an A/B against e.g. a copy of main's build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
# crun refuses a hybrid host whose cgroup2 hierarchy holds controllers (this
# VM: hugetlb). So that all three run the same way, the whole benchmark runs
# in a private mount namespace without the cgroup2 mount: a plain v1 host.
if [[ -z ${RT_BENCH_NS:-} ]] && grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
  export RT_BENCH_NS=1
  exec unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi
command -v hyperfine >/dev/null || { echo "needs hyperfine (scripts/install-deps.sh)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
BR="$(readlink -f "${BERTH_RUNTIME:-build/bin/berth-runtime}")"
[[ -x $BR ]] || { echo "berth-runtime not built at $BR" >&2; exit 1; }

W="$(mktemp -d /tmp/rt-bench-XXXXXX)"
finish() {
  set +e
  for r in "${names[@]:-}"; do
    [[ -n $r ]] || continue
    "${bins[$r]}" --root "$W/root-$r" delete -f bench-run >/dev/null 2>&1
    "${bins[$r]}" --root "$W/root-$r" delete -f bench-life >/dev/null 2>&1
    "${bins[$r]}" --root "$W/root-$r" delete -f bench-rss >/dev/null 2>&1
  done
  rm -rf "$W"
}
trap finish EXIT

# The bundle: the busybox fixture, the default spec without a terminal.
tarball=fixtures-cache/busybox.tar
[[ -f $tarball ]] || { tarball="$W/busybox.tar"; tests/fixtures/make-busybox-tar.sh "$tarball"; }
mkdir -p "$W/bundle/rootfs"
tar -C "$W/bundle/rootfs" -xf "$tarball"
(cd "$W/bundle" && "$BR" spec)
jq '.process.terminal = false | .process.args = ["true"]' "$W/bundle/config.json" > "$W/c.json"
mv "$W/c.json" "$W/bundle/config.json"

declare -A bins=([berth-runtime]="$BR")
names=(berth-runtime)
if [[ -n ${BERTH_RUNTIME_BASE:-} ]]; then
  bins[berth-base]="$(readlink -f "$BERTH_RUNTIME_BASE")"
  [[ -x ${bins[berth-base]} ]] || { echo "BERTH_RUNTIME_BASE is not executable" >&2; exit 1; }
  names+=(berth-base)
fi
command -v crun >/dev/null && { bins[crun]="$(command -v crun)"; names+=(crun); }
command -v runc >/dev/null && { bins[runc]="$(command -v runc)"; names+=(runc); }

# lifecycle: wait for the init by /proc (it is reparented when create exits;
# a zombie counts as exited) using only shell builtins.
cat > "$W/lifecycle.sh" <<'SH'
#!/bin/bash
set -e
rt=$1 root=$2 b=$3
"$rt" --root "$root" create -b "$b" --pid-file "$root.pid" bench-life </dev/null >/dev/null
read -r pid < "$root.pid" || true  # no trailing newline
[[ -n $pid ]] || exit 1  # else /proc//stat is /proc/stat: the wait below would never end
"$rt" --root "$root" start bench-life
while read -r _ _ st _ < "/proc/$pid/stat" 2>/dev/null && [[ $st != Z ]]; do :; done
"$rt" --root "$root" delete bench-life
SH
chmod +x "$W/lifecycle.sh"

cmds=()
for r in "${names[@]}"; do
  bin="${bins[$r]}"
  # Sanity: every runtime must really run the bundle.
  "$bin" --root "$W/root-$r" run -b "$W/bundle" bench-run </dev/null >/dev/null \
    || { echo "$r cannot run the bundle" >&2; exit 1; }
  "$W/lifecycle.sh" "$bin" "$W/root-$r" "$W/bundle" || { echo "$r lifecycle failed" >&2; exit 1; }
  cmds+=(-n "$r run" "$bin --root $W/root-$r run -b $W/bundle bench-run")
  cmds+=(-n "$r create+start+wait+delete" "$W/lifecycle.sh $bin $W/root-$r $W/bundle")
done

hyperfine -N --warmup 3 --runs "$runs" --export-json "$W/h.json" "${cmds[@]}" </dev/null
echo
echo "medians (ms) and ratio to berth-runtime:"
jq -r '.results | map({(.command): (.median * 1000)}) | add | to_entries[] | "\(.key)\t\(.value)"' "$W/h.json" \
  | while IFS=$'\t' read -r name ms; do
      kind="${name#* }"
      base="$(jq -r --arg k "berth-runtime $kind" '.results[] | select(.command == $k) | .median * 1000' "$W/h.json")"
      printf '  %-40s %8.2f ms  x%.2f\n' "$name" "$ms" "$(echo "$ms / $base" | bc -l)"
    done
echo
echo "peak RSS of the runtime process (create; the init's memory is the container's):"
for r in "${names[@]}"; do
  # The init inherits create's stdio: keep it off any pipe we wait on.
  /usr/bin/time -o "$W/rss-$r" -f '%M' "${bins[$r]}" --root "$W/root-$r" create -b "$W/bundle" bench-rss \
    </dev/null >/dev/null 2>&1 || true
  "${bins[$r]}" --root "$W/root-$r" delete -f bench-rss >/dev/null 2>&1 || true
  printf '  %-14s %6s KiB\n' "$r" "$(tail -1 "$W/rss-$r")"
done
