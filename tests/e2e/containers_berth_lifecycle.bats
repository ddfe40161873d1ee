#!/usr/bin/env bats
# End-to-end: the berth CLI's lifecycle commands (start, stop, restart,
# kill, wait, attach and their `container` spellings) against berthd; the
# state after each is read back with docker inspect.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

berth() { "$BERTH_BIN/berth" "$@"; }
state() { docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$1"; }
# Polls (bounded, 10 s) until the container's file exists; prints it.
wait_file() {
  local i
  for i in $(seq 100); do
    docker exec "$1" cat "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

@test "berth start: prints each argument, starts, docker's errors" {
  docker create --net none --name ls1 busybox sleep 60
  docker create --net none --name ls2 busybox sleep 60
  run berth start ls1 ls2
  [ "$status" -eq 0 ]
  [ "$output" = $'ls1\nls2' ]
  [ "$(state ls1)" = "running 0" ]
  [ "$(state ls2)" = "running 0" ]
  # Starting a running one is not an error (as docker).
  run berth container start ls1
  [ "$status" -eq 0 ]
  [ "$output" = ls1 ]
  run --separate-stderr berth start ls1 nosuch nosuch2
  [ "$status" -eq 1 ]
  [ "$output" = ls1 ]
  [ "$stderr" = $'Error response from daemon: No such container: nosuch\nError response from daemon: No such container: nosuch2\nError: failed to start containers: nosuch, nosuch2' ]
  run --separate-stderr berth start -a ls1 ls2
  [ "$status" -eq 1 ]
  [ "$stderr" = "you cannot start and attach multiple containers at once" ]
  run --separate-stderr berth start --checkpoint c1 ls1
  [ "$status" -eq 1 ]
  [[ $stderr == *'"--checkpoint" is only supported'* ]]
  run berth start
  [ "$status" -eq 1 ]
  [[ $output == *"'berth start' requires at least 1 argument"* ]]
  docker rm -f ls1 ls2
}

@test "berth start -a: stdout and stderr apart, the container's exit code, -i feeds stdin" {
  docker create --net none --name la1 busybox sh -c 'echo out; echo err >&2; exit 3'
  run --separate-stderr berth start -a la1
  [ "$status" -eq 3 ]
  [ "$output" = out ]
  [ "$stderr" = err ]
  [ "$(state la1)" = "exited 3" ]
  # Again: a second start -a of the same container streams its second run.
  run --separate-stderr berth container start -a la1
  [ "$status" -eq 3 ]
  [ "$output" = out ]
  docker create --net none -i --name la2 busybox sh -c 'read x; echo got:$x; exit 4'
  run bash -c "(echo hello; sleep 2) | $BERTH_BIN/berth start -a -i la2"
  [ "$status" -eq 4 ]
  [ "$output" = got:hello ]
  run --separate-stderr berth start -a nosuch
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: No such container: nosuch" ]
  # --rm container: start -a waits for the removal.
  docker create --net none --rm --name la3 busybox sh -c 'echo bye; exit 2'
  run berth start -a la3
  [ "$status" -eq 2 ]
  [ "$output" = bye ]
  run docker inspect la3
  [ "$status" -ne 0 ]
  docker rm -f la1 la2
}

@test "berth start -a: forwards SIGTERM to the container (sig-proxy)" {
  docker create --net none --name lp1 busybox sh -c 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done'
  "$BERTH_BIN/berth" start -a lp1 >"$BATS_TEST_TMPDIR/out" 2>&1 &
  local pid=$!
  local i
  for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 9 ]
  grep -q got-term "$BATS_TEST_TMPDIR/out"
  [ "$(state lp1)" = "exited 9" ]
  docker rm -f lp1
}

@test "berth stop: SIGTERM handled, ignored SIGTERM killed after -t, errors" {
  docker run -d --net none --name ls3 busybox sh -c 'trap "echo term > /tmp/sig; exit 5" TERM; while :; do sleep 0.1; done'
  run berth stop ls3
  [ "$status" -eq 0 ]
  [ "$output" = ls3 ]
  [ "$(state ls3)" = "exited 5" ]
  # PID 1 without a handler ignores SIGTERM: killed after -t seconds, 137.
  docker run -d --net none --name ls4 busybox sleep 300
  local t0=$(date +%s%N)
  run berth stop -t 2 ls4
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$status" -eq 0 ]
  [ "$output" = ls4 ]
  [ "$(state ls4)" = "exited 137" ]
  [ "$ms" -ge 1900 ]
  [ "$ms" -lt 8000 ]
  # --time (deprecated spelling) and -t 0: immediate kill.
  docker start ls4
  t0=$(date +%s%N)
  run berth container stop --time 0 ls4
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$status" -eq 0 ]
  [ "$ms" -lt 1900 ]
  [ "$(state ls4)" = "exited 137" ]
  # Stopping a stopped container is not an error (as docker).
  run berth stop ls4
  [ "$status" -eq 0 ]
  run --separate-stderr berth stop ls4 nosuch n2
  [ "$status" -eq 1 ]
  [ "$output" = ls4 ]
  [ "$stderr" = $'Error response from daemon: No such container: nosuch\nError response from daemon: No such container: n2' ]
  run --separate-stderr berth stop -t x ls4
  [ "$status" -eq 125 ]
  [[ $stderr == 'invalid argument "x" for "-t, --timeout" flag'* ]]
  # The stop signal is API 1.42: refused, not silently dropped.
  run --separate-stderr berth stop -s USR1 ls4
  [ "$status" -eq 1 ]
  [[ $stderr == *'"--signal" requires API version 1.42'* ]]
  docker rm -f ls3 ls4
}

@test "berth restart: a new run of the process, -t, errors" {
  docker run -d --net none --name lr1 busybox sh -c 'echo run >> /runs; trap "exit 7" TERM; while :; do sleep 0.1; done'
  local pid1=$(docker inspect -f '{{.State.Pid}}' lr1)
  run berth restart -t 5 lr1
  [ "$status" -eq 0 ]
  [ "$output" = lr1 ]
  [ "$(state lr1)" = "running 0" ]
  local pid2=$(docker inspect -f '{{.State.Pid}}' lr1)
  [ "$pid1" != "$pid2" ]
  [ "$(docker exec lr1 cat /runs)" = $'run\nrun' ]
  # A stopped container is started.
  docker stop lr1
  run berth container restart lr1
  [ "$status" -eq 0 ]
  [ "$(state lr1)" = "running 0" ]
  run --separate-stderr berth restart nosuch
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: No such container: nosuch" ]
  docker rm -f lr1
}

@test "berth kill: SIGKILL by default, -s delivers the signal, errors" {
  docker run -d --net none --name lk1 busybox sh -c 'trap "echo usr1 > /tmp/sig" USR1; trap "echo hup >> /tmp/sig" HUP; while :; do sleep 0.1; done'
  run berth kill -s USR1 lk1
  [ "$status" -eq 0 ]
  [ "$output" = lk1 ]
  run wait_file lk1 /tmp/sig
  [ "$output" = usr1 ]
  [ "$(state lk1)" = "running 0" ]
  run berth container kill --signal=SIGHUP lk1
  [ "$status" -eq 0 ]
  for i in $(seq 50); do [ "$(docker exec lk1 cat /tmp/sig | wc -l)" = 2 ] && break; sleep 0.1; done
  [ "$(docker exec lk1 cat /tmp/sig)" = $'usr1\nhup' ]
  run berth kill lk1
  [ "$status" -eq 0 ]
  [ "$output" = lk1 ]
  [ "$(state lk1)" = "exited 137" ]
  run --separate-stderr berth kill lk1
  [ "$status" -eq 1 ]
  # dockerd's words, which the CLI prints.
  [[ $stderr == "Error response from daemon: Cannot kill container: lk1: Container "*" is not running" ]]
  run --separate-stderr berth kill -s FOO lk1
  [ "$status" -eq 1 ]
  [[ $stderr == *"Invalid signal: FOO"* ]]
  docker rm -f lk1
}

@test "berth wait: prints each exit code, blocks until the exit, errors" {
  docker run -d --net none --name lw1 busybox sh -c 'exit 3'
  docker run -d --net none --name lw2 busybox sh -c 'sleep 1; exit 42'
  run berth wait lw1 lw2
  [ "$status" -eq 0 ]
  [ "$output" = $'3\n42' ]
  [ "$(state lw2)" = "exited 42" ]
  run --separate-stderr berth container wait nosuch lw1
  [ "$status" -eq 1 ]
  [ "$output" = 3 ]
  [ "$stderr" = "Error response from daemon: No such container: nosuch" ]
  docker rm -f lw1 lw2
}

@test "berth attach: streams, stdin, exits with the container's code; refusals" {
  docker run -d --net none -i --name lt1 busybox sh -c 'echo ready; read x; echo got:$x; echo e >&2; exit 6'
  sleep 0.5
  # stdin stays open past the container's exit: an attach whose stdin ends
  # has its output closed by the daemon (dockerd's, and berthd's, rule for
  # a container without StdinOnce), which would race the answer.
  run --separate-stderr bash -c "(echo hi; sleep 3) | $BERTH_BIN/berth attach lt1"
  [ "$status" -eq 6 ]
  [ "$output" = got:hi ]
  [ "$stderr" = e ]
  [ "$(state lt1)" = "exited 6" ]
  run --separate-stderr berth attach lt1
  [ "$status" -eq 1 ]
  [ "$stderr" = "You cannot attach to a stopped container, start it first" ]
  # --no-stdin: input is not sent; the container ends on its own.
  docker run -d --net none -i --name lt2 busybox sh -c 'sleep 1; echo late; exit 2'
  run bash -c "echo ignored | $BERTH_BIN/berth container attach --no-stdin lt2"
  [ "$status" -eq 2 ]
  [ "$output" = late ]
  # Signals are proxied: TERM to the CLI reaches the container's trap.
  docker run -d --net none --name lt3 busybox sh -c 'trap "echo got-term; exit 8" TERM; while :; do sleep 0.1; done'
  "$BERTH_BIN/berth" attach lt3 >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null &
  local pid=$!
  sleep 1
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 8 ]
  grep -q got-term "$BATS_TEST_TMPDIR/out"
  docker run -d --net none --name lt4 busybox sleep 60
  docker pause lt4
  run --separate-stderr berth attach lt4
  [ "$status" -eq 1 ]
  [ "$stderr" = "You cannot attach to a paused container, unpause it first" ]
  docker unpause lt4
  run --separate-stderr berth attach nosuch
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: No such container: nosuch" ]
  run berth attach a b
  [ "$status" -eq 1 ]
  [[ $output == *"'berth attach' requires 1 argument"* ]]
  docker rm -f lt1 lt2 lt3 lt4
}

@test "berth attach / start -ai on a TTY: raw stream, detach keys leave the container running" {
  docker run -dit --net none --name ld1 busybox sh
  # On a terminal (script(1) gives one): a typed command runs, ctrl-p
  # ctrl-q detaches; docker attach reports "read escape sequence", exit 1.
  run bash -c "(sleep 1; printf 'echo hi-\$((6*7))\r'; sleep 1; printf '\x10\x11'; sleep 3) |
               timeout 20 script -qec '$BERTH_BIN/berth attach ld1' /dev/null"
  [ "$status" -eq 1 ]
  [[ $output == *hi-42* ]]
  [[ $output == *"read escape sequence"* ]]
  [ "$(state ld1)" = "running 0" ]
  # --detach-keys: ctrl-p ctrl-q is now typed through, ctrl-a x detaches.
  run bash -c "(sleep 1; printf '\x10\x11echo k-\$((2*3))\r'; sleep 1; printf '\x01x'; sleep 3) |
               timeout 20 script -qec '$BERTH_BIN/berth attach --detach-keys ctrl-a,x ld1' /dev/null"
  [ "$status" -eq 1 ]
  [[ $output == *k-6* ]]
  [ "$(state ld1)" = "running 0" ]
  run bash -c "sleep 2 | timeout 20 script -qec '$BERTH_BIN/berth attach --detach-keys ctrl-1 ld1' /dev/null"
  [ "$status" -eq 1 ]
  [[ $output == *"Invalid detach keys (ctrl-1) provided"* ]]
  # start -ai of a stopped TTY container: a detach is exit 0 (as docker).
  docker stop -t 0 ld1
  run bash -c "(sleep 1; printf 'echo s-\$((5*5))\r'; sleep 1; printf '\x10\x11'; sleep 3) |
               timeout 20 script -qec '$BERTH_BIN/berth start -ai ld1' /dev/null"
  [ "$status" -eq 0 ]
  [[ $output == *s-25* ]]
  [ "$(state ld1)" = "running 0" ]
  # ... and an exit from the shell is the container's code.
  run bash -c "(sleep 1; printf 'exit 12\r'; sleep 3) |
               timeout 20 script -qec '$BERTH_BIN/berth attach ld1' /dev/null"
  [ "$status" -eq 12 ]
  [ "$(state ld1)" = "exited 12" ]
  docker rm -f ld1
}
