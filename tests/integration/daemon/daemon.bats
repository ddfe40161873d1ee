#!/usr/bin/env bats
# berthd in depth (root): its flags and daemon.json, the socket, and the
# container lifecycle as the real docker CLI and curl drive it. One throwaway
# berthd per file (tests/helpers/berth.bash); a few tests start their own.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
  docker import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
}

teardown_file() {
  BERTHD_PID=$(daemon_pid 2>/dev/null || echo "$BERTHD_PID")
  stop_berthd
}

api() { curl -s --unix-socket "$BERTHD_SOCK" "$@"; }
# Tests that restart berthd change its PID; the pidfile is the truth.
daemon_pid() { cat "$BERTHD_DIR/berthd.pid"; }
stop_current() {
  local pid
  pid=$(daemon_pid)
  kill "$@" "$pid"
  # (a zombie counts as gone: it may be this test's own child)
  while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
    sleep 0.05
  done
}

# ------------------------------------------------------------ daemon itself

@test "berthd: unknown flag → exit 1 with a clear error" {
  run -1 "$BERTH_BIN/berthd" --no-such-flag
  [[ $output == *"unknown flag: --no-such-flag"* ]]
}

@test "berthd: --version and --help" {
  run -0 "$BERTH_BIN/berthd" --version
  [[ $output == *"API 1.41"* ]]
  run -0 "$BERTH_BIN/berthd" --help
  [[ $output == *"--data-root"* ]]
}

@test "berthd: unknown daemon.json key and flag/file conflicts exit 1 as dockerd" {
  d=$(mktemp -d /tmp/berth-daemon-cfg.XXXXXX)
  echo '{"data-root":"'$d'/data","no-such-option":true}' > "$d/daemon.json"
  run -1 "$BERTH_BIN/berthd" --config-file "$d/daemon.json" -H "unix://$d/s.sock"
  [[ $output == *"the following directives don't match any configuration option: no-such-option"* ]]
  echo '{"data-root":"'$d'/data"}' > "$d/daemon.json"
  run -1 "$BERTH_BIN/berthd" --config-file "$d/daemon.json" --data-root "$d/other" -H "unix://$d/s.sock"
  [[ $output == *"specified both as a flag and in the configuration file: data-root"* ]]
  run -1 "$BERTH_BIN/berthd" --config-file "$d/missing.json"
  [[ $output == *"no such file or directory"* ]]
  rm -rf "$d"
}

@test "berthd: refuses to start on a socket another daemon answers" {
  d=$(mktemp -d /tmp/berth-daemon-2nd.XXXXXX)
  echo '{}' > "$d/daemon.json"
  scratch_net_flags
  run -1 "$BERTH_BIN/berthd" -H "unix://$BERTHD_SOCK" --data-root "$d/data" --exec-root "$d/exec" \
    --pidfile "$d/pid" --config-file "$d/daemon.json" $SCRATCH_NET_FLAGS
  drop_scratch_net
  [[ $output == *"another daemon is already listening"* ]]
  run -0 curl -sf --unix-socket "$BERTHD_SOCK" http://d/_ping
  rm -rf "$d"
}

@test "berthd: the socket is 0660 and a stale socket file is replaced" {
  run stat -c %a "$BERTHD_SOCK"
  [ "$output" = 660 ]
  d=$(mktemp -d /tmp/berth-daemon-stale.XXXXXX)
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/s.sock"
  echo '{}' > "$d/daemon.json"
  scratch_net_flags
  "$BERTH_BIN/berthd" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" \
    --pidfile "$d/pid" --config-file "$d/daemon.json" $SCRATCH_NET_FLAGS >"$d/log" 2>&1 &
  pid=$!
  wait_for_ping "$d/s.sock"
  kill "$pid"; wait "$pid" || true
  drop_scratch_net
  [ ! -e "$d/pid" ]
  rm -rf "$d"
}

@test "malformed requests never take the daemon down" {
  run api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"Image":' http://d/v1.41/containers/create
  [ "$output" = 400 ]
  run api -X POST -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":"x"}}' http://d/containers/create
  [[ $output == *'"message":"json: cannot unmarshal string into Go struct field HostConfig.Memory'* ]]
  run api -o /dev/null -w '%{http_code}' -X POST -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"CgroupParent":"/elsewhere"}}' \
    http://d/v1.41/containers/create
  [ "$output" = 400 ]
  printf 'GARBAGE\r\n\r\n' | python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(4096).decode().split("\r\n")[0])' "$BERTHD_SOCK"
  run -0 curl -sf --unix-socket "$BERTHD_SOCK" http://d/_ping
  [ "$output" = OK ]
}

@test "unimplemented HostConfig settings are refused by name, not ignored" {
  run -125 docker run --rm --cgroup-parent /elsewhere busybox true
  [[ $output == *"berth does not support --cgroup-parent"* ]]
  run docker ps -aq
  [ -z "$output" ]
}

# ------------------------------------------------------------- containers

@test "stop: SIGTERM, then SIGKILL after -t; 304 when already stopped" {
  docker run -d --name stopme busybox sleep 300
  start=$(date +%s%N)
  run -0 docker stop -t 1 stopme
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  (( elapsed >= 900 && elapsed < 5000 ))
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' stopme
  [ "$output" = "exited 137" ]
  run api -o /dev/null -w '%{http_code}' -X POST http://d/v1.41/containers/stopme/stop
  [ "$output" = 304 ]
  # A process that handles SIGTERM exits at once with its own code.
  docker run -d --name termme busybox sh -c 'trap "exit 42" TERM; while true; do sleep 0.1; done'
  sleep 0.3
  start=$(date +%s%N)
  docker stop -t 10 termme
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  (( elapsed < 3000 ))
  run docker inspect -f '{{.State.ExitCode}}' termme
  [ "$output" = 42 ]
  docker rm stopme termme
}

@test "kill -s, restart, and rm of a running container (409 without -f)" {
  docker run -d --name killme busybox sh -c 'trap "echo got-usr1" USR1; while true; do sleep 0.1; done'
  sleep 0.3
  docker kill -s USR1 killme
  sleep 0.5
  run docker logs killme
  [[ $output == *got-usr1* ]]
  run -1 docker rm killme
  [[ $output == *"You cannot remove a running container"* ]]
  pid1=$(docker inspect -f '{{.State.Pid}}' killme)
  docker restart -t 0 killme
  run docker inspect -f '{{.State.Running}}' killme
  [ "$output" = true ]
  [ "$(docker inspect -f '{{.State.Pid}}' killme)" != "$pid1" ]
  docker rm -f killme
  run -1 docker kill killme
  [[ $output == *"No such container: killme"* ]]
}

@test "logs: --tail, --since/--until, -t, and -f ends when the container exits" {
  docker run -d --name logger busybox sh -c 'for i in 1 2 3 4; do echo out$i; echo err$i >&2; sleep 0.4; done'
  run -0 timeout 20 docker logs -f logger
  [[ $output == *out4* && $output == *err4* ]]
  run docker logs --tail 2 logger
  [ "${#lines[@]}" -eq 2 ]
  [[ $output == *out4* && $output == *err4* ]]
  run docker logs -t logger
  [[ ${lines[0]} =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z\ (out|err)1$ ]]
  first=$(docker logs -t logger 2>&1 | head -1 | cut -d' ' -f1)
  run docker logs --since "$first" --until "$first" logger
  [ "${#lines[@]}" -ge 1 ]
  [[ $output == *1* ]]
  [[ $output != *out4* ]]
  run docker logs --since 2000000000 logger
  [ -z "$output" ]
  docker rm logger
}

@test "wait: not-running returns at once for a stopped container; removed fires on rm" {
  docker create --name waitme busybox true >/dev/null
  run api -X POST "http://d/v1.41/containers/waitme/wait?condition=not-running"
  [[ $output == '{"Error":null,"StatusCode":0}' ]]
  api -X POST "http://d/v1.41/containers/waitme/wait?condition=removed" > "$BATS_TEST_TMPDIR/w" &
  wpid=$!
  sleep 0.3
  docker rm waitme
  wait "$wpid"
  [[ $(cat "$BATS_TEST_TMPDIR/w") == *'"StatusCode":0'* ]]
  run api -o /dev/null -w '%{http_code}' -X POST "http://d/v1.41/containers/waitme/wait"
  [ "$output" = 404 ]
  run api -o /dev/null -w '%{http_code}' -X POST "http://d/v1.41/containers/x/wait?condition=bogus"
  [ "$output" = 400 ]
}

@test "attach without Upgrade (dockerode) answers 200 and streams stdcopy frames" {
  id=$(docker create busybox sh -c 'echo via-dockerode')
  api -N -X POST "http://d/containers/$id/attach?stream=true&stdout=true&stderr=true" -D "$BATS_TEST_TMPDIR/h" \
    -o "$BATS_TEST_TMPDIR/body" &
  cpid=$!
  sleep 0.3
  docker start "$id" >/dev/null
  wait "$cpid" || true
  head -1 "$BATS_TEST_TMPDIR/h" | grep -q '200 OK'
  grep -qi 'Content-Type: application/vnd.docker.raw-stream' "$BATS_TEST_TMPDIR/h"
  # stdcopy header: stream 1, three zero bytes, length 14 ("via-dockerode\n").
  run od -An -tx1 -N8 "$BATS_TEST_TMPDIR/body"
  [[ $output == *"01 00 00 00 00 00 00 0e"* ]]
  grep -q via-dockerode "$BATS_TEST_TMPDIR/body"
  docker rm "$id" >/dev/null
}

@test "ps filters: status, name, label, ancestor, exited; -n/--last" {
  docker run --name fa --label tier=web busybox true
  run -2 docker run --name fb --label tier=db busybox sh -c 'exit 2'
  docker run -d --name fc busybox sleep 300 >/dev/null
  run docker ps --format '{{.Names}}'
  [ "$output" = fc ]
  run docker ps -a --filter status=exited --format '{{.Names}}'
  [[ $output == *fa* && $output == *fb* && $output != *fc* ]]
  run docker ps -a --filter label=tier=db --format '{{.Names}}'
  [ "$output" = fb ]
  run docker ps -a --filter name=^fa$ --format '{{.Names}}'
  [ "$output" = fa ]
  run docker ps -a --filter exited=2 --format '{{.Names}}'
  [ "$output" = fb ]
  run docker ps -a --filter ancestor=busybox -q
  [ "${#lines[@]}" -eq 3 ]
  run docker ps -a -n 1 --format '{{.Names}}'
  [ "$output" = fc ]
  run -1 docker ps --filter bogus=1
  [[ $output == *"Invalid filter 'bogus'"* ]]
  docker rm -f fa fb fc >/dev/null
}

@test "run options: -e -w -u --hostname --add-host --dns --read-only --tmpfs -v --cap-add" {
  src=$(mktemp -d /tmp/berth-daemon-bind.XXXXXX)
  chmod 755 "$src"
  echo from-host > "$src/f"
  run -0 docker run --rm -e FOO=bar -w /made/here -u 1000:1000 --hostname boxy \
    --add-host db.local:10.1.2.3 --dns 9.9.9.9 --read-only --tmpfs /scratch -v "$src:/data:ro" \
    busybox sh -c 'echo $FOO; pwd; id -u; id -g; hostname; grep db.local /etc/hosts; grep nameserver /etc/resolv.conf;
                   touch /x 2>/dev/null && echo rootfs-rw || echo rootfs-ro; touch /scratch/ok && echo tmpfs-rw;
                   cat /data/f; touch /data/g 2>/dev/null && echo bind-rw || echo bind-ro'
  [ "${lines[0]}" = bar ]
  [ "${lines[1]}" = /made/here ]
  [ "${lines[2]}" = 1000 ]
  [ "${lines[3]}" = 1000 ]
  [ "${lines[4]}" = boxy ]
  [[ ${lines[5]} == "10.1.2.3"*"db.local" ]]
  [ "${lines[6]}" = "nameserver 9.9.9.9" ]
  [ "${lines[7]}" = rootfs-ro ]
  [ "${lines[8]}" = tmpfs-rw ]
  [ "${lines[9]}" = from-host ]
  [ "${lines[10]}" = bind-ro ]
  run docker run --rm busybox sh -c 'grep CapEff /proc/self/status'
  [[ $output == *00000000a80425fb* ]]
  run docker run --rm --cap-drop ALL busybox sh -c 'grep CapEff /proc/self/status'
  [[ $output == *0000000000000000* ]]
  run -0 docker run --rm --network none busybox ls /sys/class/net
  [ "$output" = lo ]
  rm -rf "$src"
}

@test "inspect: Docker's shape, and State.Error after a failed start" {
  docker create --name shape busybox nope >/dev/null
  run -1 docker start shape
  [[ $output == *'OCI runtime create failed'* ]]
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' shape
  [ "$output" = "created 127" ]
  run docker inspect -f '{{.State.Error}}' shape
  [[ $output == *'executable file not found'* ]]
  run docker inspect -f '{{.Name}} {{.Driver}} {{.HostConfig.NetworkMode}} {{.Config.Image}} {{.Path}} {{json .Args}}' shape
  [ "$output" = '/shape overlay2 default busybox nope []' ]
  run docker inspect -f '{{.GraphDriver.Data.MergedDir}}' shape
  [[ $output == "$BERTHD_DIR/data/overlay/"*"/merged" ]]
  docker rm shape >/dev/null
}

@test "a failed --rm start leaves nothing behind (container, mount, dirs)" {
  run -127 docker run --rm busybox nope
  run docker ps -aq
  [ -z "$output" ]
  [ -z "$(ls "$BERTHD_DIR/data/containers")" ]
  ! grep -q "$BERTHD_DIR/data/overlay" /proc/self/mountinfo || false
}

@test "the rootfs is mounted only while the container runs" {
  id=$(docker run -d busybox sleep 300)
  grep -q "$BERTHD_DIR/data/overlay/$id/merged" /proc/self/mountinfo
  docker kill "$id" >/dev/null
  docker wait "$id" >/dev/null
  sleep 0.2
  ! grep -q "$BERTHD_DIR/data/overlay/$id/merged" /proc/self/mountinfo || false
  docker rm "$id" >/dev/null
  [ ! -e "$BERTHD_DIR/data/overlay/$id" ]
  [ ! -e "$BERTHD_DIR/data/containers/$id" ]
}

@test "restart reconciles: orphan dirs removed, stopped containers kept, running adopted" {
  docker run --name kept busybox true
  docker run -d --name adopted busybox sleep 300 >/dev/null
  orphan=$(printf 'f%.0s' {1..64})
  mkdir -p "$BERTHD_DIR/data/containers/$orphan" "$BERTHD_DIR/data/overlay/$orphan"/{diff,work,merged}
  stop_current -9
  restart_berthd
  [ ! -e "$BERTHD_DIR/data/containers/$orphan" ]
  [ ! -e "$BERTHD_DIR/data/overlay/$orphan" ]
  run docker ps -a --format '{{.Names}} {{.State}}'
  [[ $output == *"kept exited"* ]]
  [[ $output == *"adopted running"* ]]
  # The adopted container's exit is still observed.
  docker kill adopted >/dev/null
  run docker wait adopted
  [ "$output" = 137 ]
  docker rm kept adopted >/dev/null
}

@test "SIGTERM stops containers; with --live-restore they keep running" {
  docker run -d --name survivor busybox sleep 300 >/dev/null
  stop_current
  restart_berthd --live-restore
  run docker inspect -f '{{.State.Status}}' survivor
  [ "$output" = exited ]
  docker start survivor
  stop_current
  restart_berthd
  run docker inspect -f '{{.State.Status}}' survivor
  [ "$output" = running ]
  docker rm -f survivor >/dev/null
}

@test "timing: docker run --rm busybox true (reported, not asserted)" {
  command -v hyperfine >/dev/null || skip "hyperfine not installed"
  hyperfine -N -w 2 -r 10 --export-json "$BATS_TEST_TMPDIR/h.json" 'docker run --rm busybox true' >/dev/null
  median=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1000,1))' "$BATS_TEST_TMPDIR/h.json")
  echo "# docker run --rm busybox true: median ${median} ms" >&3
}
