#!/usr/bin/env bats
# Crash safety: kill -9 of berthd leaves running containers running; the
# next start reconciles its database with the shims it finds.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

@test "containers survive kill -9 of berthd and are adopted on restart" {
  id=$(docker run -d --name survivor busybox sh -c 'echo before; exec sleep 300')
  pid=$(docker inspect -f '{{.State.Pid}}' survivor)
  kill9_berthd
  kill -0 "$pid"                     # still running without the daemon
  restart_berthd
  run docker inspect -f '{{.State.Status}} {{.State.Pid}}' survivor
  [ "$output" = "running $pid" ]
  run docker logs survivor
  [ "$output" = before ]
  run docker rm -f survivor
  [ "$status" -eq 0 ]
  proc_gone "$pid"
}

@test "a container that exits while berthd is down is reported exited with its code" {
  docker run -d --name shortlived busybox sh -c 'sleep 1; exit 9' >/dev/null
  kill9_berthd
  sleep 1.5
  restart_berthd
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' shortlived
  [ "$output" = "exited 9" ]
  docker rm shortlived
}

@test "repeated kill -9 during create/start leaves a store that keeps working" {
  for i in 1 2 3; do
    docker run -d busybox sleep 5 >/dev/null 2>&1 &
    sleep 0.0$((RANDOM % 9))
    kill9_berthd
    wait
    restart_berthd
  done
  run docker run --rm busybox echo still ok
  [ "$output" = "still ok" ]
  run docker ps -a
  [ "$status" -eq 0 ]
}
