#!/usr/bin/env bats
# Recovery after kill -9 of berthd in the middle of a container start: the
# shim is blocked in the runtime's `create` (a runtime wrapper that stalls
# after creating the container, so the init, its cgroup and the runtime
# state all exist). The next berthd must reap all of it.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  make_stall_runtime
  start_berthd --add-runtime "stall=$STALL_DIR/stall-runtime"
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
  rm -rf "$STALL_DIR"
}

# Processes (other than berthd) whose command line names this daemon's roots.
leftover_procs() {
  local d pid self=$(berthd_pid)
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $pid == "$self" || $pid == $$ || $pid == $BASHPID ]] && continue
    tr '\0' ' ' 2>/dev/null < "$d/cmdline" | grep -q -e "$BERTHD_DIR" -e "$STALL_DIR" && echo "$pid $(tr '\0' ' ' 2>/dev/null < "$d/cmdline")"
  done
  return 0
}

cgroups_of() { ls -d /sys/fs/cgroup/*/berth/"$1" /sys/fs/cgroup/berth/"$1" 2>/dev/null || true; }

@test "kill -9 during a start blocked in runtime create: the next berthd reaps shim, init, cgroup and mounts" {
  rm -f "$STALL_DIR/stalled"
  docker create --runtime stall --name stuck busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' stuck)
  docker start stuck >/dev/null 2>&1 &
  starter=$!
  for ((i = 0; i < 200; i++)); do [[ -e $STALL_DIR/stalled ]] && break; sleep 0.05; done
  [ -e "$STALL_DIR/stalled" ]
  # The half-started container: shim, runtime child, init, cgroup, rootfs mount.
  shim=$(cat "$BERTHD_DIR/exec/shims/$id/shim.pid")
  init=$(cat "$BERTHD_DIR/exec/shims/$id/init.pid")
  kill -0 "$shim"
  kill -0 "$init"
  [ -n "$(cgroups_of "$id")" ]
  grep -q "$BERTHD_DIR/data/overlay/$id" /proc/self/mountinfo

  kill9_berthd
  wait "$starter" || true
  kill -0 "$shim"            # without the daemon, the blocked shim lives on
  restart_berthd --add-runtime "stall=$STALL_DIR/stall-runtime"

  proc_gone "$shim"
  proc_gone "$init"
  run leftover_procs
  echo "leftover: $output"
  [ -z "$output" ]
  run cgroups_of "$id"
  [ -z "$output" ]
  ! grep -q "$BERTHD_DIR/data/overlay/$id" /proc/self/mountinfo || false
  [ ! -e "$BERTHD_DIR/exec/shims/$id" ]
  [ ! -e "$BERTHD_DIR/exec/runtime/$id" ]
  run docker inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}' stuck
  [ "$output" = "exited false 128" ]
  run docker ps -q --filter name=stuck
  [ -z "$output" ]
  run docker ps -aq --filter name=stuck
  [ "$output" = "${id:0:12}" ]
  # It is a normal exited container again: it starts (on the plain runtime) and is removed.
  docker rm stuck
  run docker run --rm busybox echo still ok
  [ "$output" = "still ok" ]
}

@test "kill -9 during a blocked start of a container the store never saw: everything is removed" {
  rm -f "$STALL_DIR/stalled"
  docker run -d --runtime stall --name stuck2 busybox sleep 300 >/dev/null 2>&1 &
  starter=$!
  for ((i = 0; i < 200; i++)); do [[ -e $STALL_DIR/stalled ]] && break; sleep 0.05; done
  [ -e "$STALL_DIR/stalled" ]
  id=$(ls "$BERTHD_DIR/exec/shims" | grep -v '\.sock$' | head -1)
  [ -n "$id" ]
  shim=$(cat "$BERTHD_DIR/exec/shims/$id/shim.pid")
  kill9_berthd
  wait "$starter" || true
  # The row goes as if the crash had come before its commit.
  sqlite3 "$BERTHD_DIR/data/berth.db" "DELETE FROM containers WHERE id = '$id'"
  restart_berthd --add-runtime "stall=$STALL_DIR/stall-runtime"
  proc_gone "$shim"
  run leftover_procs
  echo "leftover: $output"
  [ -z "$output" ]
  run cgroups_of "$id"
  [ -z "$output" ]
  ! grep -q "$BERTHD_DIR/data/overlay/$id" /proc/self/mountinfo || false
  [ ! -e "$BERTHD_DIR/data/containers/$id" ]
  [ ! -e "$BERTHD_DIR/exec/shims/$id" ]
  run docker ps -aq --filter name=stuck2
  [ -z "$output" ]
}

@test "kill -9 after a start mounted the rootfs but before its shim: the next berthd unmounts it" {
  docker create --name mounted busybox true >/dev/null
  id=$(docker inspect -f '{{.Id}}' mounted)
  merged=$BERTHD_DIR/data/overlay/$id/merged
  kill9_berthd
  # The crash's leftover: only the rootfs mount (no shim, runtime state or cgroup).
  mkdir -p "$merged"
  mount -t tmpfs -o size=1m berth-test-rootfs "$merged"
  grep -q " $merged " /proc/self/mountinfo
  restart_berthd --add-runtime "stall=$STALL_DIR/stall-runtime"
  run grep -c " $merged " /proc/self/mountinfo
  [ "$output" = 0 ] || { umount "$merged"; false; }
  [ "$(docker inspect -f '{{.State.Status}}' mounted)" = created ]
  run docker start -a mounted
  [ "$status" -eq 0 ]
  docker rm mounted >/dev/null
}
