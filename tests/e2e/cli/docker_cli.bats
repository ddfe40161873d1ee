#!/usr/bin/env bats
# End-to-end: the real docker CLI (28) against berthd, through berth-shim and
# berth-runtime. One berthd per file, on a throwaway data root.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

@test "docker version: server speaks API 1.41" {
  run docker version
  [ "$status" -eq 0 ]
  [[ $output == *"Server:"* ]]
  [[ $output == *"API version:"*"1.41"* ]]
}

@test "docker info: reports overlay2 and the container counts" {
  run docker info
  [ "$status" -eq 0 ]
  [[ $output == *"Storage Driver: overlay2"* ]]
  [[ $output == *"Containers:"* ]]
}

@test "docker images lists the imported busybox:latest" {
  run docker images
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "REPOSITORY"*"TAG"*"IMAGE ID"*"CREATED"*"SIZE"* ]]
  [[ $output == *$'\n'"busybox "*"latest "* ]]
  run docker images -q
  [[ $output =~ ^[0-9a-f]{12}$ ]]
}

@test "docker import from stdin tags the image and prints its ID" {
  run bash -c "docker import - imported:v1 < '$(busybox_tar)'"
  [ "$status" -eq 0 ]
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  run docker image inspect -f '{{index .RepoTags 0}} {{.Id}}' imported:v1
  [ "$status" -eq 0 ]
  [[ $output == "imported:v1 sha256:"* ]]
}

@test "docker run -e NAME with NAME unset in the client unsets it, as dockerd" {
  run env -u D -u PATHX docker run --rm -e A=1 -e D busybox sh -c 'env | sort'
  [ "$status" -eq 0 ]
  [[ $output == *"A=1"* ]]
  [[ $output != *$'\nD'* && $output != D* ]]
  [[ $output == *"PATH=/usr/local/sbin:"* ]]
  # a bare name also removes a default: HOSTNAME goes, HOME is set again
  run env -u HOSTNAME docker run --rm -e HOSTNAME busybox env
  [[ $output != *HOSTNAME=* ]]
  [[ $output == *HOME=/root* ]]
  docker create --name envbare -e D busybox
  [ "$(docker inspect -f '{{json .Config.Env}}' envbare)" = '["D"]' ]
  docker rm envbare
}

@test "docker run --rm prints from inside and leaves no container behind" {
  run docker run --rm --name rmme busybox echo hello from berth
  [ "$status" -eq 0 ]
  [ "$output" = "hello from berth" ]
  run docker ps -a --format '{{.Names}}'
  [[ $output != *rmme* ]]
}

@test "docker run exit status is the container's: exit 3 → 3" {
  run docker run busybox sh -c 'exit 3'
  [ "$status" -eq 3 ]
}

@test "the container is pid 1 of its own pid namespace" {
  run docker run --rm busybox sh -c 'echo $$'
  [ "$status" -eq 0 ]
  [ "$output" = "1" ]
}

@test "the container has its own network namespace: loopback plus eth0 on the default bridge" {
  run docker run --rm busybox ls /sys/class/net
  [ "$status" -eq 0 ]
  [ "$output" = $'eth0\nlo' ]
  run docker run --rm --network none busybox ls /sys/class/net
  [ "$output" = "lo" ]
}

@test "hostname is the short container ID; /sys is read-only; /proc is mounted" {
  run docker run -d busybox sh -c 'hostname; touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro; cat /proc/1/cmdline | tr "\0" " "'
  [ "$status" -eq 0 ]
  id=$output
  docker wait "$id" >/dev/null
  run docker logs "$id"
  [ "${lines[0]}" = "${id:0:12}" ]
  [ "${lines[1]}" = "sys-ro" ]
  [[ ${lines[2]} == "sh -c hostname;"* ]]
  docker rm "$id" >/dev/null
}

@test "stdout and stderr stay separate in run and logs" {
  run --separate-stderr docker run --name streams busybox sh -c 'echo out; echo err >&2'
  [ "$status" -eq 0 ]
  [ "$output" = "out" ]
  [ "$stderr" = "err" ]
  run --separate-stderr docker logs streams
  [ "$output" = "out" ]
  [ "$stderr" = "err" ]
  docker rm streams >/dev/null
}

@test "docker run -i forwards stdin" {
  run bash -c "printf 'abc\ndef\n' | docker run --rm -i busybox wc -l"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | tr -d ' ')" = "2" ]
}

@test "docker run -t gives a raw tty stream" {
  run docker run --rm -t busybox sh -c 'test -t 1 && echo tty'
  [ "$status" -eq 0 ]
  [ "$output" = $'tty\r' ]
}

@test "run -d, ps, ps -q, inspect, logs, rm -f" {
  run docker run -d --name web busybox sh -c 'echo started; exec sleep 300'
  [ "$status" -eq 0 ]
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  id=$output
  run docker ps
  [[ ${lines[0]} == "CONTAINER ID"*"IMAGE"*"COMMAND"*"CREATED"*"STATUS"*"PORTS"*"NAMES" ]]
  [[ $output == *"${id:0:12}"*"busybox"*"Up "*"web"* ]]
  run docker ps -q
  [[ $output == *"${id:0:12}"* ]]
  run docker inspect -f '{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Image}}' web
  [ "$output" = "running true /web busybox" ]
  run docker inspect -f '{{.State.Pid}}' web
  [ "$output" -gt 1 ]
  pid=$output
  [ -d "/proc/$pid" ]
  run docker logs web
  [ "$output" = "started" ]
  run docker rm web
  [ "$status" -ne 0 ]
  [[ $output == *"cannot remove a running container"* ]]
  run docker rm -f web
  [ "$status" -eq 0 ]
  [ "$output" = "web" ]
  run docker ps -a -q --no-trunc
  [[ $output != *"$id"* ]]
  proc_gone "$pid"
}

@test "ps -a shows exited containers with their exit code" {
  docker run --name exited7 busybox sh -c 'exit 7' || true
  run docker ps -a
  [[ $output == *"Exited (7)"*"exited7"* ]]
  run docker ps
  [[ $output != *exited7* ]]
  docker rm exited7
}

@test "docker run -d --rm removes the container when it exits" {
  run docker run -d --rm --name gone busybox true
  [ "$status" -eq 0 ]
  for i in $(seq 50); do docker ps -a --format '{{.Names}}' | grep -qx gone || break; sleep 0.1; done
  run docker ps -a --format '{{.Names}}'
  [[ $output != *gone* ]]
}

@test "a missing executable exits 127, a non-executable 126" {
  run -127 docker run --rm busybox /nope
  [ "$status" -eq 127 ]
  [[ $output == *"no such file or directory"* ]]
  run -127 docker run --rm busybox nope
  [ "$status" -eq 127 ]
  [[ $output == *"executable file not found"* ]]
  run docker run --rm busybox /etc/passwd
  [ "$status" -eq 126 ]
  [[ $output == *"permission denied"* ]]
}

@test "name conflict is a 409 with Docker's message" {
  docker create --name twin busybox true >/dev/null
  run docker create --name twin busybox true
  [ "$status" -ne 0 ]
  [[ $output == *'Conflict. The container name "/twin" is already in use by container'* ]]
  docker rm twin >/dev/null
}

@test "missing objects: No such container / image / object" {
  run docker rm nosuch
  [ "$status" -ne 0 ]
  [[ $output == *"No such container: nosuch"* ]]
  run docker logs nosuch
  [[ $output == *"No such container: nosuch"* ]]
  run docker inspect nosuch
  [ "$status" -ne 0 ]
  [[ $output == *"No such object: nosuch"* ]]
  run docker image inspect nosuch:1
  [[ $output == *"No such image: nosuch:1"* ]]
}

@test "a client that disconnects mid-attach leaves nothing behind" {
  pid=$BERTHD_PID
  before=$(ls /proc/$pid/fd | wc -l)
  docker run --name dangling busybox sleep 1 & cli=$!
  sleep 0.5
  kill -9 $cli; wait $cli 2>/dev/null || true
  docker wait dangling >/dev/null
  docker rm dangling >/dev/null
  sleep 0.2
  after=$(ls /proc/$pid/fd | wc -l)
  [ "$after" -le "$before" ]
  run docker version --format '{{.Server.APIVersion}}'
  [ "$output" = "1.41" ]
}

@test "a container can be started again right after it exits" {
  # The shim answers wait before it deletes the runtime state; berthd must
  # let that shim finish before the next start reuses the runtime ID. A
  # runtime whose delete is slow makes the window wide enough to hit.
  wrap=$BATS_TEST_TMPDIR/slow-delete-runtime
  printf '#!/bin/sh\nfor a in "$@"; do [ "$a" = delete ] && sleep 0.3; done\nexec %s "$@"\n' "$BERTH_BIN/berth-runtime" > "$wrap"
  chmod +x "$wrap"
  saved_dir=$BERTHD_DIR saved_pid=$BERTHD_PID
  start_berthd --add-runtime "slow=$wrap" --default-runtime slow
  import_busybox
  docker create --name again busybox true >/dev/null
  urls=()
  for i in $(seq 5); do
    urls+=(-X POST "http://d/v1.41/containers/again/start" -X POST "http://d/v1.41/containers/again/wait?condition=not-running")
  done
  run curl -s --unix-socket "$BERTHD_SOCK" -w ' %{http_code}\n' "${urls[@]}"
  echo "$output"
  status_line=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' again)
  stop_berthd
  BERTHD_DIR=$saved_dir BERTHD_PID=$saved_pid BERTHD_SOCK=$saved_dir/berth.sock
  export DOCKER_HOST=unix://$BERTHD_SOCK BERTH_HOST=unix://$BERTHD_SOCK
  [[ $output != *" 500"* ]]
  [[ $output != *" 409"* ]]
  [ "$(grep -c '"StatusCode":0' <<<"$output")" -eq 5 ]
  [ "$status_line" = "exited 0" ]
}

@test "a client that disconnects mid-logs -f leaves nothing behind" {
  pid=$(berthd_pid)
  docker run -d --name chatty busybox sh -c 'while true; do echo tick; sleep 0.1; done' >/dev/null
  sleep 0.3
  before=$(ls /proc/$pid/fd | wc -l)
  threads_before=$(ls /proc/$pid/task | wc -l)
  for i in 1 2 3; do
    docker logs -f chatty > /dev/null & cli=$!
    sleep 0.4
    kill -9 $cli; wait $cli 2>/dev/null || true
  done
  # The daemon notices the closed connection at its next write (~0.1 s).
  for i in $(seq 30); do
    [ "$(ls /proc/$pid/fd | wc -l)" -le "$before" ] && [ "$(ls /proc/$pid/task | wc -l)" -le "$threads_before" ] && break
    sleep 0.1
  done
  [ "$(ls /proc/$pid/fd | wc -l)" -le "$before" ]
  [ "$(ls /proc/$pid/task | wc -l)" -le "$threads_before" ]
  docker rm -f chatty >/dev/null
}

@test "a client that hangs up on wait leaves nothing behind" {
  pid=$(berthd_pid)
  docker run -d --name waitee busybox sleep 60 >/dev/null
  before=$(ls /proc/$pid/fd | wc -l)
  for i in 1 2 3; do
    curl -s --max-time 0.3 --unix-socket "$BERTHD_SOCK" -X POST http://d/v1.41/containers/waitee/wait || true
  done
  for i in $(seq 30); do [ "$(ls /proc/$pid/fd | wc -l)" -le "$before" ] && break; sleep 0.1; done
  [ "$(ls /proc/$pid/fd | wc -l)" -le "$before" ]
  docker rm -f waitee >/dev/null
}
