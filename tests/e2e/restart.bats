#!/usr/bin/env bats
# Restart policies through the real docker CLI: no, on-failure[:N], always,
# unless-stopped; Docker's backoff, RestartCount, stop cancels, daemon
# restart honours always/unless-stopped, validation errors.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

wait_status() {  # name status [tries]
  local i
  for ((i = 0; i < ${3:-100}; i++)); do
    [ "$(docker inspect -f '{{.State.Status}}' "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$1" >&2
  return 1
}

@test "restart: on-failure:2 restarts a failing container twice, then leaves it exited" {
  docker run -d --name of2 --restart on-failure:2 busybox sh -c 'echo run; exit 4'
  sleep 1.5   # backoff 100 ms, 200 ms
  wait_status of2 exited
  run docker inspect -f '{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' of2
  [ "$output" = "2 4 on-failure 2" ]
  run docker logs of2
  [ "$output" = $'run\nrun\nrun' ]
}

@test "restart: on-failure does not restart a clean exit" {
  docker run -d --name ofok --restart on-failure busybox true
  sleep 0.6
  run docker inspect -f '{{.State.Status}} {{.RestartCount}}' ofok
  [ "$output" = "exited 0" ]
}

@test "restart: always restarts with Docker's doubling backoff; docker stop ends it" {
  t0=$(date +%s.%N)
  docker run -d --name alw --restart always busybox true
  # starts at ~0, 0.1, 0.3, 0.7, 1.5 s (backoff 100, 200, 400, 800 ms plus
  # each start); wait (bounded) for the fourth restart
  for i in $(seq 100); do
    n=$(docker inspect -f '{{.RestartCount}}' alw)
    [ "$n" -ge 4 ] && break
    sleep 0.1
  done
  [ "$n" -ge 4 ]
  # with backoff, four restarts cannot happen in under 0.7 s
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 0.7) }'
  mapfile -t ts < <(docker events --since "$t0" --until "$(date +%s.%N)" --filter container=alw --filter event=start --format '{{.TimeNano}}')
  [ "${#ts[@]}" -ge 4 ]
  # the gaps between starts grow: 100 then 400 ms of backoff plus a start
  g1=$(( ts[1] - ts[0] )); g3=$(( ts[3] - ts[2] ))
  [ "$g1" -ge 100000000 ]
  [ "$g3" -ge 400000000 ]
  [ "$g3" -gt "$g1" ]
  docker stop alw
  wait_status alw exited
  n=$(docker inspect -f '{{.RestartCount}}' alw)
  sleep 1.5
  run docker inspect -f '{{.State.Status}} {{.RestartCount}}' alw
  [ "$output" = "exited $n" ]
}

@test "restart: a running always container that is killed comes back; RestartCount counts" {
  docker run -d --name alw2 --restart always busybox sleep 300
  pid1=$(docker inspect -f '{{.State.Pid}}' alw2)
  kill -9 "$pid1"
  for i in $(seq 50); do
    pid2=$(docker inspect -f '{{.State.Pid}}' alw2)
    [ "$pid2" != 0 ] && [ "$pid2" != "$pid1" ] && break
    sleep 0.1
  done
  run docker inspect -f '{{.State.Status}} {{.RestartCount}}' alw2
  [ "$output" = "running 1" ]
  [ "$pid2" != "$pid1" ]
  # a manual start resets the count (dockerd's ResetRestartManager)
  docker stop -t 0 alw2
  docker start alw2
  run docker inspect -f '{{.State.Status}} {{.RestartCount}}' alw2
  [ "$output" = "running 0" ]
  docker rm -f alw2
}

@test "restart: invalid policies fail with Docker's messages before anything is created" {
  run docker run -d --name bad1 --restart sometimes busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"invalid restart policy 'sometimes'"* ]]
  run docker run -d --name bad2 --restart on-failure:-1 busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"maximum retry count cannot be negative"* ]]
  run curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}' http://d/containers/create
  [[ $output == *"maximum retry count cannot be used with restart policy 'always'"* ]]
  run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}' http://d/containers/create
  [ "$output" = 400 ]
  run docker run --rm --restart always busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"--restart and --rm"* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output != *bad1* && $output != *bad2* ]]
}

@test "restart: daemon restart starts always and unless-stopped (not user-stopped) containers" {
  docker run -d --name d-always --restart always busybox sleep 300
  docker run -d --name d-unless --restart unless-stopped busybox sleep 300
  docker run -d --name d-unless-stopped --restart unless-stopped busybox sleep 300
  docker run -d --name d-no busybox sleep 300
  docker stop -t 0 d-unless-stopped
  # Without live-restore, SIGTERM stops every container, as dockerd does.
  pid=$(berthd_pid)
  kill -TERM "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  proc_gone "$pid"
  restart_berthd
  run docker ps --format '{{.Names}}'
  [[ $output == *d-always* ]]
  [[ $output == *d-unless* ]]
  [[ $output != *d-unless-stopped* ]]
  [[ $output != *d-no* ]]
  run docker inspect -f '{{.State.Status}}' d-no
  [ "$output" = exited ]
  docker rm -f d-always d-unless d-unless-stopped d-no
}
