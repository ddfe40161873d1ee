#!/usr/bin/env bats
# End-to-end (docker CLI 28): exec, pause/unpause, update, stats, top,
# rename, resource flags and their validation.
# RT: the runtime for exec/pause/update tests (berth-runtime by default;
# BERTH_OPS_RUNTIME=runc runs them against runc). One test always uses runc.

bats_require_minimum_version 1.5.0
load ../helpers/berth

RT=${BERTH_OPS_RUNTIME:-berth}

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

cg() { echo "/sys/fs/cgroup/$1/berth/$(docker inspect -f '{{.Id}}' "$2")/$3"; }

@test "resource flags reach the cgroup files" {
  docker run -d --name res -m 32m --memory-swap 64m --memory-reservation 16m --cpus 0.5 \
    --cpu-shares 512 --cpuset-cpus 0 --pids-limit 42 busybox sleep 60
  [ "$(cat "$(cg memory res memory.limit_in_bytes)")" = 33554432 ]
  [ "$(cat "$(cg memory res memory.memsw.limit_in_bytes)")" = 67108864 ]
  [ "$(cat "$(cg memory res memory.soft_limit_in_bytes)")" = 16777216 ]
  [ "$(cat "$(cg cpu res cpu.cfs_quota_us)")" = 50000 ]
  [ "$(cat "$(cg cpu res cpu.cfs_period_us)")" = 100000 ]
  [ "$(cat "$(cg cpu res cpu.shares)")" = 512 ]
  [ "$(cat "$(cg cpuset res cpuset.cpus)")" = 0 ]
  [ "$(cat "$(cg pids res pids.max)")" = 42 ]
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' res
  [ "$output" = "33554432 500000000 42" ]
  docker rm -f res
}

@test "blkio weight and device throttles" {
  docker run -d --runtime "$RT" --name blk --blkio-weight 300 --device-read-bps /dev/loop0:1mb busybox sleep 60
  run cat "$(cg blkio blk blkio.throttle.read_bps_device)"
  [[ $output == *"7:0 1048576"* ]]
  docker rm -f blk
}

@test "bad resource values fail with Docker's messages before anything is created" {
  run docker run --rm -m 1m busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"Minimum memory limit allowed is 6MB"* ]]
  run docker run --rm --cpus -1 busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"Range of CPUs is from 0.01 to $(nproc).00, as there are only $(nproc) CPUs available"* ]]
  run docker run --rm -m 10m --memory-swap 5m busybox true
  [[ $output == *"Minimum memoryswap limit should be larger than memory limit"* ]]
  run docker run --rm --cpuset-cpus 99 busybox true
  [[ $output == *"Requested CPUs are not available - requested 99"* ]]
  run docker run --rm --cpu-period 10 busybox true
  [[ $output == *"CPU cfs period can not be less than 1ms"* ]]
  run docker run --rm --blkio-weight 5 busybox true
  [[ $output == *"Range of blkio weight is from 10 to 1000"* ]]
  run docker run --rm --memory 10x busybox true
  [ "$status" -eq 125 ]
  [ -z "$(docker ps -aq)" ]
}

@test "OOM: a container over its memory limit exits 137 with OOMKilled true" {
  run docker run --name oom -m 8m --memory-swap 8m busybox sh -c 'x=a; while true; do x=$x$x; done'
  [ "$status" -eq 137 ]
  run docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' oom
  [ "$output" = "137 true" ]
  docker rm oom
  # a plain SIGKILL is not an OOM
  docker run -d --name killed -m 64m busybox sleep 60
  docker kill killed
  docker wait killed
  run docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' killed
  [ "$output" = "137 false" ]
  docker rm killed
}

@test "exec: output, exit codes, 127 for a missing command, -u -w -e, -i, -d, -t, --privileged" {
  docker run -d --runtime "$RT" --name ex busybox sleep 120
  run docker exec ex echo hello
  [ "$status" -eq 0 ]
  [ "$output" = hello ]
  run docker exec ex sh -c 'echo out; echo err >&2; exit 7'
  [ "$status" -eq 7 ]
  [[ $output == *out* && $output == *err* ]]
  run -127 docker exec ex nosuchcmd
  [[ $output == *"OCI runtime exec failed"*"executable file not found"* ]]
  run docker exec -u nobody -w /tmp -e FOO=bar ex sh -c 'id -u; pwd; echo $FOO $HOME'
  [ "${lines[0]}" = 65534 ]
  [ "${lines[1]}" = /tmp ]
  [ "${lines[2]}" = "bar /home" ]
  run bash -c 'echo piped | docker exec -i ex cat'
  [ "$output" = piped ]
  run docker exec -d ex sh -c 'sleep 0.5; touch /tmp/detached'
  [ "$status" -eq 0 ]
  sleep 1.5
  run docker exec ex ls /tmp/detached
  [ "$status" -eq 0 ]
  run docker exec -t ex sh -c 'tty; echo $TERM'
  [[ $output == *"/dev/pts/"* && $output == *xterm* ]]
  run docker exec ex grep CapEff: /proc/self/status
  [[ $output == *00000000a80425fb* ]]
  run docker exec --privileged ex grep CapEff: /proc/self/status
  [[ $output != *00000000a80425fb* ]]
}

@test "exec and pause through runc (--runtime runc)" {
  docker run -d --runtime runc --name exrunc busybox sleep 60
  run docker exec exrunc sh -c 'echo via-runc; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = via-runc ]
  docker pause exrunc
  [ "$(cat "$(cg freezer exrunc freezer.state)")" = FROZEN ]
  docker unpause exrunc
  docker update -m 40m exrunc
  [ "$(cat "$(cg memory exrunc memory.limit_in_bytes)")" = 41943040 ]
  docker rm -f exrunc
}

@test "exec API: inspect shows ExitCode, Pid, ProcessConfig; wrong states give 404/409" {
  id=$(curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","exit 3"],"AttachStdout":true}' http://d/v1.41/containers/ex/exec | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
  [ ${#id} -eq 64 ]
  run curl -s --unix-socket "$BERTHD_SOCK" http://d/v1.41/exec/$id/json
  [[ $output == *'"Running":false'* && $output == *'"ExitCode":null'* && $output == *'"entrypoint":"sh"'* ]]
  run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' -d '{"Detach":true}' http://d/v1.41/exec/$id/start
  [ "$output" = 200 ]
  sleep 0.5
  run curl -s --unix-socket "$BERTHD_SOCK" http://d/v1.41/exec/$id/json
  [[ $output == *'"ExitCode":3'* && $output == *'"Running":false'* && $output == *'"ContainerID"'* ]]
  run curl -s -w '%{http_code}' --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' -d '{"Detach":true}' http://d/v1.41/exec/$id/start
  [[ $output == *"has already run"*409 ]]
  run curl -s -w '%{http_code}' --unix-socket "$BERTHD_SOCK" http://d/v1.41/exec/nope/json
  [[ $output == *"No such exec instance: nope"*404 ]]
  docker run --name stopped busybox true
  run docker exec stopped true
  [[ $output == *"is not running"* ]]
  docker rm stopped
}

@test "pause/unpause freeze the container; exec into a paused container is a 409" {
  docker run -d --runtime "$RT" --name pz busybox sh -c 'while true; do date +%s%N >/tmp/t; usleep 50000; done'
  docker pause pz
  [ "$(cat "$(cg freezer pz freezer.state)")" = FROZEN ]
  run docker ps --filter name=pz --format '{{.Status}}'
  [[ $output == *"(Paused)"* ]]
  run docker inspect -f '{{.State.Status}} {{.State.Paused}}' pz
  [ "$output" = "paused true" ]
  run docker exec pz true
  [[ $output == *"is paused, unpause the container before exec"* ]]
  run docker pause pz
  [[ $output == *"is already paused"* ]]
  docker unpause pz
  [ "$(cat "$(cg freezer pz freezer.state)")" = THAWED ]
  run docker unpause pz
  [[ $output == *"is not paused"* ]]
  # stop works on a paused container
  docker pause pz
  run docker stop -t 1 pz
  [ "$status" -eq 0 ]
  run docker inspect -f '{{.State.Status}}' pz
  [ "$output" = exited ]
  docker rm pz
}

@test "update changes limits live" {
  docker run -d --runtime "$RT" --name up -m 32m busybox sleep 60
  run docker update -m 64m --memory-swap 128m --cpus 0.25 --pids-limit 20 up
  [ "$status" -eq 0 ]
  [ "$(cat "$(cg memory up memory.limit_in_bytes)")" = 67108864 ]
  [ "$(cat "$(cg cpu up cpu.cfs_quota_us)")" = 25000 ]
  [ "$(cat "$(cg pids up pids.max)")" = 20 ]
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' up
  [ "$output" = "67108864 250000000" ]
  run docker update -m 1m up
  [[ $output == *"Minimum memory limit allowed is 6MB"* ]]
  docker rm -f up
}

@test "stats: one-shot JSON fields and docker stats --no-stream" {
  docker run -d --name st -m 64m busybox sh -c 'while true; do :; done'
  run curl -s --unix-socket "$BERTHD_SOCK" 'http://d/v1.41/containers/st/stats?stream=0'
  for k in read preread pids_stats cpu_stats precpu_stats memory_stats blkio_stats total_usage percpu_usage \
    usage_in_kernelmode usage_in_usermode system_cpu_usage online_cpus throttling_data '"limit":67108864' '"name":"/st"'; do
    [[ $output == *$k* ]] || { echo "missing $k"; false; }
  done
  run docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}} {{.CPUPerc}}' st
  [ "$status" -eq 0 ]
  [[ $output == "st "*" / 64MiB 1 "* ]]
  cpu=${output##* }; cpu=${cpu%\%}
  [ "${cpu%%.*}" -ge 3 ]   # a busy loop; loose because CI may be loaded
  # streaming: two samples, the second with precpu_stats filled in
  run bash -c "curl -s -N --max-time 2.5 --unix-socket $BERTHD_SOCK 'http://d/v1.41/containers/st/stats' | head -2"
  [ "${#lines[@]}" -eq 2 ]
  docker rm -f st
}

@test "top with default and custom ps arguments; rename" {
  docker run -d --name tp busybox sleep 77
  run docker top tp
  [[ ${lines[0]} == UID*PID*PPID*CMD* ]]
  [[ $output == *"sleep 77"* ]]
  run docker top tp -o pid,comm
  [[ ${lines[0]} == PID*COMMAND* ]]
  [[ ${lines[1]} == *sleep ]]
  docker rename tp tp2
  run docker ps --format '{{.Names}}'
  [[ $output == *tp2* && $output != *"tp"$'\n'* ]]
  run docker rename tp2 tp2
  [ "$status" -ne 0 ]
  docker run -d --name other busybox sleep 60
  run docker rename tp2 other
  [[ $output == *"is already in use"* ]]
  docker rm -f tp2 other
  run docker top tp2
  [ "$status" -ne 0 ]
}

@test "diff lists added, changed and deleted paths; container prune removes stopped ones by label/until" {
  docker run --name df busybox sh -c 'echo x >/newfile; rm /bin/zcat; touch /etc/passwd'
  run docker diff df
  [ "$status" -eq 0 ]
  [[ $output == *"A /newfile"* ]]
  [[ $output == *"D /bin/zcat"* ]]
  [[ $output == *"C /etc/passwd"* ]]
  [[ $output == *"C /etc"* ]]
  docker run --name keepme --label keep=yes busybox true
  docker run -d --name runs busybox sleep 60
  run docker container prune -f --filter label!=keep=yes
  [ "$status" -eq 0 ]
  keep_id=$(docker inspect -f '{{.Id}}' keepme)
  [[ $output != *"$keep_id"* ]]
  [[ $output == *"Total reclaimed space:"* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output == *keepme* && $output == *runs* && $output != *df* ]]
  run docker container prune -f --filter until=1h
  [[ $output == *"Total reclaimed space: 0B"* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output == *keepme* ]]
  run docker container prune -f
  run docker ps -a --filter status=exited --format '{{.Names}}'
  [ -z "$output" ]
  run docker ps --format '{{.Names}}'
  [[ $output == *runs* ]]
  docker rm -f runs
}
