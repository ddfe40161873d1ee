#!/usr/bin/env bats
# The start/exit/remove path of `run`: berth-shim creates and starts the
# container in one runtime exec (`run --detach`) and holds its output and
# exit until berthd's start (after the attach streams are connected); an
# --rm container's exit is not persisted before its row is deleted. None of
# it may be observable: attached output is never lost, a name is free again
# as soon as `run --rm` returns, nothing leaks (cgroups, mounts, shims),
# also when berthd is killed around the exit.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

cgroups_of() { ls -d /sys/fs/cgroup/*/berth/"$1" /sys/fs/cgroup/berth/"$1" 2>/dev/null || true; }

# No cgroup dir, mount, shim or runtime state of container $1 left (the
# shim's runtime `delete` runs after berthd removed the container: allow it
# a moment).
assert_no_leftovers() {
  local id=$1 k
  for ((k = 0; k < 100; k++)); do
    [[ -z $(cgroups_of "$id") && ! -e $BERTHD_DIR/exec/runtime/$id ]] && break
    sleep 0.05
  done
  run cgroups_of "$id"
  [ -z "$output" ]
  [ ! -e "$BERTHD_DIR/exec/runtime/$id" ]
  [ ! -e "$BERTHD_DIR/exec/shims/$id" ]
  [ ! -e "$BERTHD_DIR/exec/shims/$id.sock" ]
  [ ! -e "$BERTHD_DIR/data/containers/$id" ]
  ! grep -q "$id" /proc/self/mountinfo || false
  run pgrep -f -- "berth-shim --id $id"
  [ -z "$output" ]
}

@test "attached run prints the container's output every time (50 runs each: docker non-TTY, docker -t, berth CLI)" {
  local i out
  for ((i = 0; i < 50; i++)); do
    out=$(docker run --rm --network none busybox echo hi)
    [ "$out" = "hi" ] || { echo "docker run #$i printed '$out'"; return 1; }
  done
  for ((i = 0; i < 50; i++)); do
    out=$(docker run --rm -t --network none busybox echo hi </dev/null)
    [ "$out" = $'hi\r' ] || { echo "docker run -t #$i printed '$out'"; return 1; }
  done
  for ((i = 0; i < 50; i++)); do
    out=$("$BERTH_BIN/berth" run --rm --network none busybox sh -c 'echo hi; echo err >&2' 2>&1)
    [ "$out" = $'hi\nerr' ] || { echo "berth run #$i printed '$out'"; return 1; }
  done
}

@test "output beyond the pipe buffer, written before start is released, is complete" {
  # 30000 lines (~200 KiB) fill the 64 KiB pipe while the shim still holds
  # the output: the container blocks, nothing is lost or deadlocked.
  run -0 docker run --rm --network none busybox sh -c 'seq 1 30000'
  [ "${#lines[@]}" -eq 30000 ]
  [ "${lines[0]}" = 1 ]
  [ "${lines[29999]}" = 30000 ]
}

@test "exit code, a fast exit and stdin reach the client" {
  run -3 docker run --rm --network none busybox sh -c 'exit 3'
  run -0 bash -c 'echo ping | docker run --rm -i --network none busybox cat'
  [ "$output" = ping ]
  run -0 docker run --name fast --network none busybox true
  run -0 docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' fast
  [ "$output" = "exited 0" ]
  docker rm fast >/dev/null
}

@test "a name is free again as soon as run --rm returns; nothing of the container is left" {
  local n cid
  for ((n = 0; n < 10; n++)); do
    rm -f "$BATS_TEST_TMPDIR/cid"
    run -0 docker run --rm --name same --cidfile "$BATS_TEST_TMPDIR/cid" --network none busybox echo "run $n"
    [ "$output" = "run $n" ]
    cid=$(cat "$BATS_TEST_TMPDIR/cid")
    run -0 docker ps -aq --filter name=same
    [ -z "$output" ]
    assert_no_leftovers "$cid"
  done
  run -0 docker run -d --name same --network none busybox sleep 30
  docker rm -f same >/dev/null
}

@test "run -d: running at once, stop and rm leave nothing" {
  id=$(docker run -d --network none busybox sleep 30)
  run -0 docker inspect -f '{{.State.Status}} {{.State.Running}}' "$id"
  [ "$output" = "running true" ]
  run -0 docker exec "$id" echo inside
  [ "$output" = inside ]
  docker rm -f "$id" >/dev/null
  assert_no_leftovers "$id"
}

@test "kill -9 of berthd around an --rm container's exit: after restart it is removed and nothing leaks" {
  local k id
  for k in 1 2 3 4 5; do
    id=$(docker run -d --rm --network none busybox sh -c 'sleep 0.3')
    # Kill the daemon close to the exit (before, at, or after it).
    sleep "0.$((k + 1))"
    kill9_berthd
    sleep 0.4
    restart_berthd
    run -0 docker ps -aq --no-trunc
    [[ $output != *"$id"* ]]
    assert_no_leftovers "$id"
  done
}

# Zombie children of berthd (after giving its reaper a moment).
berthd_zombies() {
  local k n
  for ((k = 0; k < 40; k++)); do
    n=$(ps -o stat= --ppid "$(berthd_pid)" | grep -c '^Z' || true)
    [[ $n == 0 ]] && break
    sleep 0.05
  done
  echo "$n"
}

@test "the shim is berthd's own child in its own session, and is reaped: no berth-shim zombie is left" {
  local k id sp bpid
  bpid=$(berthd_pid)
  for ((k = 0; k < 10; k++)); do "$BERTH_BIN/berth" run --rm --network none busybox true; done
  run berthd_zombies
  [ "$output" = 0 ]
  id=$(docker run -d --network none busybox sleep 30)
  sp=$(cat "$BERTHD_DIR/exec/shims/$id/shim.pid")
  # No daemonizing fork: the pid berthd spawned is the monitor.
  [ "$(awk '/^PPid:/ {print $2}' "/proc/$sp/status")" = "$bpid" ]
  [ "$(ps -o sid= -p "$sp" | tr -d ' ')" = "$sp" ]
  run -0 docker exec "$id" echo inside
  [ "$output" = inside ]
  run -3 docker exec "$id" sh -c 'exit 3'
  docker rm -f "$id" >/dev/null
  run -127 docker run --rm --network none busybox nope
  run berthd_zombies
  [ "$output" = 0 ]
  run -0 docker ps -aq
  [ -z "$output" ]
  run ps -o pid= --ppid "$bpid"
  [ -z "$output" ]
}

@test "berth-shim never forks: berthd spawns the monitor itself and the shim starts every runtime call from a vfork-style clone" {
  command -v strace >/dev/null || skip "needs strace"
  local dir=$BATS_TEST_TMPDIR/forks f child n=0
  mkdir -p "$dir"
  "$BERTH_BIN/berth" run --rm --network none busybox true
  strace -ff -qq -e trace=clone,clone3,fork,vfork,execve,execveat -o "$dir/log" -p "$(berthd_pid)" &
  local spid=$!
  sleep 1
  "$BERTH_BIN/berth" run --rm --network none busybox true
  sleep 0.5
  kill "$spid"
  wait "$spid" || true
  local shims
  shims=$(grep -l '^execve("[^"]*berth-shim"' "$dir"/log.* || true)
  [ -n "$shims" ]
  for f in $shims; do
    # Every process it made shares its memory until it execs (CLONE_VM|
    # CLONE_VFORK), and execs at once.
    ! grep -E '^(fork|vfork)\(' "$f" || false
    ! grep -E '^clone3?\(' "$f" | grep -v CLONE_VM || false
    for child in $(grep -E '^clone3?\(' "$f" | grep -oE '= [0-9]+$' | grep -oE '[0-9]+'); do
      head -1 "$dir/log.$child" | grep -qE '^execve(at)?\(' || { echo "child $child of $f did not exec"; false; }
      n=$((n + 1))
    done
  done
  # At least the runtime's `run --detach` and `delete`.
  [ "$n" -ge 2 ]
}

# fdatasync calls berthd makes (any thread) while running "$@".
berthd_syncs_during() {
  local log=$BATS_TEST_TMPDIR/syncs.$RANDOM k
  strace -f -qq -e trace=fdatasync,fsync -o "$log" -p "$(berthd_pid)" &
  local spid=$!
  # strace attaches to every thread before it writes anything; give it time.
  sleep 1
  "$@" >/dev/null
  sleep 0.3
  kill "$spid"
  wait "$spid" || true
  grep -cE '(fdatasync|fsync)\(' "$log" || true
}

@test "run --rm syncs the database once (start): the --rm row's insert and removal are not synced" {
  command -v strace >/dev/null || skip "needs strace"
  "$BERTH_BIN/berth" run --rm --network none busybox true
  run berthd_syncs_during "$BERTH_BIN/berth" run --rm --network none busybox true
  [ "$output" = 1 ]
  # create --rm alone: the row is not synced until something syncs after it.
  run berthd_syncs_during "$BERTH_BIN/berth" create --rm --name unsynced --network none busybox true
  [ "$output" = 0 ]
  run -0 "$BERTH_BIN/berth" rm unsynced
  # A container without --rm: its removal is synced (create, start, exit, rm).
  run berthd_syncs_during "$BERTH_BIN/berth" run --name synced --network none busybox true
  [ "$output" = 3 ]
  run berthd_syncs_during "$BERTH_BIN/berth" rm synced
  [ "$output" = 1 ]
}

@test "a removal's directories leave their places at once and the trash is emptied; a crash's leftovers go at the next start" {
  local k
  run -0 docker run --rm --network none busybox true
  for ((k = 0; k < 100; k++)); do
    [[ -z $(find "$BERTHD_DIR/data/trash" "$BERTHD_DIR/exec/trash" -mindepth 1 2>/dev/null) ]] && break
    sleep 0.05
  done
  [ -z "$(find "$BERTHD_DIR/data/trash" "$BERTHD_DIR/exec/trash" -mindepth 1 2>/dev/null)" ]
  # What a daemon killed between the move and the delete leaves behind.
  mkdir -p "$BERTHD_DIR/data/trash/$(printf 'a%.0s' {1..64}).3/diff" "$BERTHD_DIR/exec/trash/$(printf 'b%.0s' {1..64}).4"
  echo x >"$BERTHD_DIR/data/trash/$(printf 'a%.0s' {1..64}).3/diff/file"
  kill9_berthd
  restart_berthd
  [ -z "$(find "$BERTHD_DIR/data/trash" "$BERTHD_DIR/exec/trash" -mindepth 1 2>/dev/null)" ]
}
