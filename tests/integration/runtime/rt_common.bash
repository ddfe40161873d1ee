# Shared setup for berth-runtime bats files: a busybox bundle in a temp dir,
# a private --root, and helpers to edit config.json. Needs root.

rt_setup() {
  [ "$(id -u)" = 0 ] || skip "needs root"
  R="${BERTH_RUNTIME:-$BATS_TEST_DIRNAME/../../../build/bin/berth-runtime}"
  [ -x "$R" ] || skip "berth-runtime not built at $R"
  T="$(mktemp -d /tmp/rt-bats-XXXXXX)"
  ROOT="$T/state"
  B="$T/bundle"
  mkdir -p "$B/rootfs/bin" "$B/rootfs/etc" "$B/rootfs/work"
  cp /bin/busybox "$B/rootfs/bin/busybox"
  for c in sh echo cat hostname id ls sleep true false mount env pwd stat grep touch ps head wc tty readlink ulimit tr uname; do
    ln -s busybox "$B/rootfs/bin/$c"
  done
  echo "root:x:0:0:root:/root:/bin/sh" > "$B/rootfs/etc/passwd"
  (cd "$B" && "$R" spec)
  ID="rt$$-$BATS_TEST_NUMBER"
}

rt_teardown() {
  [ -n "${R:-}" ] && [ -n "${ROOT:-}" ] && "$R" --root "$ROOT" delete -f "$ID" 2>/dev/null || true
  [ -n "${T:-}" ] && rm -rf "$T"
}

# cfg JQ-FILTER: edit config.json in place.
cfg() {
  jq "$1" "$B/config.json" > "$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
}

args() {
  local a
  a="$(printf '%s\n' "$@" | jq -R . | jq -s -c .)"
  cfg ".process.args = $a"
}

rt() { "$R" --root "$ROOT" "$@"; }

# Start a detached long-running container (sleep by default).
start_bg() {
  [ $# -gt 0 ] || set -- sleep 1000
  args "$@"
  rt run -d -b "$B" --pid-file "$T/pid" "$ID" </dev/null >"$T/run.out" 2>&1
  PID="$(cat "$T/pid")"
}

# wait_for CMD...: retry up to 5s.
wait_for() {
  local i
  for i in $(seq 100); do "$@" && return 0; sleep 0.05; done
  return 1
}

# gone PID: the process no longer exists (or is a zombie awaiting its reaper).
gone() {
  ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" = Z ]
}

# Helper programs built by CMake (tests/integration/runtime/helpers).
rt_helper() {
  local h="${BERTH_RT_HELPERS:-$BATS_TEST_DIRNAME/../../../build/tests/rt-helpers}/$1"
  [ -x "$h" ] || skip "$1 not built at $h"
  echo "$h"
}
