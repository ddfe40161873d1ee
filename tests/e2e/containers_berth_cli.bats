#!/usr/bin/env bats
# End-to-end: the berth CLI's container operations (exec, pause, unpause,
# rename, top, port, update, stats) against berthd (RT: the containers'
# runtime, berth-runtime by default).

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

berth() { "$BERTH_BIN/berth" "$@"; }

@test "berth exec: output, exit code, 127, -e -w -u, -i, -d" {
  docker run -d --runtime "$RT" --name bx busybox sleep 120
  run berth exec bx sh -c 'echo out; echo err >&2; exit 5'
  [ "$status" -eq 5 ]
  [[ $output == *out* && $output == *err* ]]
  run -127 berth exec bx nosuchcmd
  [[ $output == *"executable file not found"* ]]
  run berth exec -u nobody -w /tmp -e A=b bx sh -c 'id -u; pwd; echo $A'
  [ "$output" = $'65534\n/tmp\nb' ]
  run bash -c "echo fromstdin | $BERTH_BIN/berth exec -i bx cat"
  [ "$output" = fromstdin ]
  run berth exec -d bx touch /tmp/bd
  [ "$status" -eq 0 ]
  sleep 0.5
  run berth exec bx ls /tmp/bd
  [ "$status" -eq 0 ]
  run berth exec nosuch true
  [ "$status" -ne 0 ]
  [[ $output == *"No such container: nosuch"* ]]
}

@test "berth pause / unpause and their errors" {
  run berth pause bx
  [ "$output" = bx ]
  run docker inspect -f '{{.State.Status}}' bx
  [ "$output" = paused ]
  run berth exec bx true
  [[ $output == *"is paused, unpause the container before exec"* ]]
  run berth unpause bx
  [ "$output" = bx ]
  run berth unpause bx
  [ "$status" -eq 1 ]
  [[ $output == *"is not paused"* ]]
}

@test "berth update, top, stats --no-stream, rename, port" {
  run berth update -m 48m --cpus 0.5 bx
  [ "$output" = bx ]
  id=$(docker inspect -f '{{.Id}}' bx)
  [ "$(cat /sys/fs/cgroup/memory/berth/$id/memory.limit_in_bytes)" = 50331648 ]
  run berth update --memory 10x bx
  [ "$status" -eq 125 ]
  [[ $output == *"invalid argument \"10x\" for \"-m, --memory\" flag: invalid size: '10x'"* ]]
  run berth top bx
  [[ ${lines[0]} == UID*PID*CMD* && $output == *"sleep 120"* ]]
  run berth top bx -o pid,comm
  [[ ${lines[0]} == PID*COMMAND* ]]
  run berth stats --no-stream bx
  [[ ${lines[0]} == "CONTAINER ID"*"NAME"*"CPU %"*"MEM USAGE / LIMIT"*"MEM %"*"NET I/O"*"BLOCK I/O"*"PIDS" ]]
  [[ ${lines[1]} == "${id:0:12}"*"bx"*"/ 48MiB"* ]]
  run berth rename bx by
  [ "$status" -eq 0 ]
  run docker inspect -f '{{.Name}}' by
  [ "$output" = /by ]
  run berth port by
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run berth port by 80
  [ "$status" -eq 1 ]
  [[ $output == *"No public port '80/tcp' published for by"* ]]
  docker rm -f by
}
