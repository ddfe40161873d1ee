#!/usr/bin/env bats
# The test helpers' cleanup after a crashed daemon that is never restarted
# (a test failing half-way): stop_one_berthd must end, by PID, the shim, the
# runtime's create (or run --detach) and the container init it left, even
# when no shim.pid was written, and drop its cgroup.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  make_stall_runtime
}

teardown_file() {
  stop_berthd
  rm -rf "$STALL_DIR"
}

@test "stop_one_berthd after kill -9 during create: no shim, runtime or init left, no cgroup" {
  start_berthd --add-runtime "stall=$STALL_DIR/stall-runtime"
  import_busybox busybox:latest
  docker run -d --runtime stall --net none --name hung busybox sleep 300 >/dev/null 2>&1 &
  starter=$!
  for ((i = 0; i < 300; i++)); do [[ -e $STALL_DIR/stalled ]] && break; sleep 0.05; done
  [ -e "$STALL_DIR/stalled" ]
  id=$(ls "$BERTHD_DIR/exec/shims" | grep -v '\.sock$' | head -1)
  [ -n "$id" ]
  shim=$(cat "$BERTHD_DIR/exec/shims/$id/shim.pid")
  init=$(grep -o '"pid":[0-9]*' "$BERTHD_DIR/exec/runtime/$id/state.json" | cut -d: -f2)
  kill -0 "$shim"
  kill -0 "$init"
  [ "$(ps -o stat= -p "$init" | cut -c1)" != Z ]
  kill9_berthd
  wait "$starter" || true
  # As if the crash had come before the shim wrote its pid file.
  rm -f "$BERTHD_DIR"/exec/shims/*/shim.pid
  root=$BERTHD_DIR
  stop_one_berthd
  proc_gone "$shim"
  proc_gone "$init"
  left=
  for d in /proc/[0-9]*; do
    [[ ${d#/proc/} == $$ || ${d#/proc/} == $BASHPID ]] && continue
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q -e "$root" -e "$STALL_DIR" && left+=" ${d#/proc/}"
  done
  echo "left:$left"
  [ -z "$left" ]
  run bash -c "ls -d /sys/fs/cgroup/*/berth/$id /sys/fs/cgroup/berth/$id 2>/dev/null || true"
  [ -z "$output" ]
}
