#!/usr/bin/env bats
# Live restore: kill -9 of berthd (started with --live-restore) while
# containers run and log; the next berthd adopts them, their logs lose and
# duplicate nothing, and wait/attach/stop/exec work on them again. Then a
# bounded kill -9 loop during `run -d` bursts, after which the store and the
# host agree and nothing leaks.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd --live-restore
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

# A numbered line every few ms, forever.
COUNTER='i=0; while true; do i=$((i+1)); echo $i; [ $((i % 20)) -eq 0 ] && sleep 0.01; done'

# Checks that the lines on stdin are exactly 1..N (N >= $1); prints N.
check_sequence() {
  awk -v min="$1" 'BEGIN{n=0} { n++; if ($0 != n) { printf "line %d is \"%s\"\n", n, $0; bad=1; exit 1 } }
                   END { if (bad) exit 1; if (n < min) { printf "only %d lines\n", n; exit 1 } print n }'
}

# Shim processes of this daemon (their --runtime-root is under our exec root).
shim_pids() {
  local d
  for d in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null < "$d/cmdline" | grep -qx -- "$BERTHD_DIR/exec/runtime" && echo "${d#/proc/}"
  done
  return 0
}

cgroups_of() { ls -d /sys/fs/cgroup/*/berth/"$1" /sys/fs/cgroup/berth/"$1" 2>/dev/null || true; }

@test "kill -9 with live-restore: containers keep running, logs have every line once, wait/attach/stop/exec work" {
  for n in 1 2 3; do docker run -d --name lr$n busybox sh -c "$COUNTER" >/dev/null; done
  declare -A pid total
  for n in 1 2 3; do pid[$n]=$(docker inspect -f '{{.State.Pid}}' lr$n); done
  sleep 0.5
  before=$(docker logs lr1 | wc -l)
  kill9_berthd
  sleep 1   # they keep logging with no daemon
  for n in 1 2 3; do kill -0 "${pid[$n]}"; done
  restart_berthd --live-restore
  for n in 1 2 3; do
    run docker inspect -f '{{.State.Status}} {{.State.Pid}}' lr$n
    [ "$output" = "running ${pid[$n]}" ]
  done
  # exec and attach on an adopted container.
  run docker exec lr1 echo exec-ok
  [ "$status" -eq 0 ]
  [ "$output" = exec-ok ]
  # (SIGKILL: the CLI proxies other signals to the container.)
  run -137 timeout -s KILL 1 docker attach --sig-proxy=false --no-stdin lr2
  last_attached=$(printf '%s\n' "$output" | tail -1)
  [ "${last_attached:-0}" -gt 0 ]
  # wait answers when stop ends it; stop sends SIGTERM (ignored by sh as
  # PID 1) then SIGKILL after the grace period.
  docker wait lr3 > "$BATS_TEST_TMPDIR/wait3" &
  waiter=$!
  sleep 0.2
  docker stop -t 1 lr1 lr2 lr3 >/dev/null
  wait "$waiter"
  [ "$(cat "$BATS_TEST_TMPDIR/wait3")" = 137 ]
  for n in 1 2 3; do
    run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' lr$n
    [ "$output" = "exited 137" ]
    proc_gone "${pid[$n]}"
    # Every line from before, during and after the daemon's absence, once.
    docker logs lr$n > "$BATS_TEST_TMPDIR/lr$n.log"
    run check_sequence 50 < "$BATS_TEST_TMPDIR/lr$n.log"
    echo "lr$n: $output"
    [ "$status" -eq 0 ]
    total[$n]=$output
  done
  # lr1 logged on while the daemon was away and after it came back.
  [ "${total[1]}" -gt "$before" ]
  # The attached stream was part of the same log.
  [ "$last_attached" -le "$(docker logs lr2 | tail -1)" ]
  docker rm lr1 lr2 lr3 >/dev/null
}

@test "kill -9 loop at random moments of run -d bursts: store consistent, nothing leaks" {
  for iter in 1 2 3 4 5; do
    docker run -d --label burst=1 busybox sleep 600 >/dev/null   # one that surely runs
    for j in 1 2 3 4; do docker run -d --label burst=1 busybox sleep 600 >/dev/null 2>&1 & done
    sleep $((RANDOM % 2)).$((RANDOM % 10))
    kill9_berthd
    wait || true
    restart_berthd --live-restore
  done
  ids=$(docker ps -aq --no-trunc --filter label=burst=1)
  running=0
  for id in $ids; do
    read -r st p < <(docker inspect -f '{{.State.Status}} {{.State.Pid}}' "$id")
    case $st in
      running)
        running=$((running + 1))
        kill -0 "$p"                                   # its init lives
        [ -S "$BERTHD_DIR/exec/shims/$id.sock" ]       # and its shim answers there
        [ -n "$(cgroups_of "$id")" ] ;;
      created|exited)
        [ -z "$(cgroups_of "$id")" ]
        ! grep -q "$BERTHD_DIR/data/overlay/$id" /proc/self/mountinfo || false
        [ ! -e "$BERTHD_DIR/exec/shims/$id" ] ;;
      *) echo "unexpected state $st for $id"; false ;;
    esac
  done
  echo "# $(echo $ids | wc -w) containers, $running running" >&3
  [ "$running" -ge 5 ]
  [ "$(shim_pids | wc -l)" -eq "$running" ]
  # Everything removes cleanly and leaves nothing behind.
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  for ((i = 0; i < 50; i++)); do [ -z "$(shim_pids)" ] && break; sleep 0.1; done
  [ -z "$(shim_pids)" ]
  for id in $ids; do [ -z "$(cgroups_of "$id")" ]; done
  ! grep -q "$BERTHD_DIR/data/overlay/[0-9a-f]\{64\}/merged" /proc/self/mountinfo || false
  [ -z "$(ls "$BERTHD_DIR/exec/runtime")" ]
  run docker run --rm busybox echo still ok
  [ "$output" = "still ok" ]
}
