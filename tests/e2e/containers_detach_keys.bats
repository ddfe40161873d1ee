#!/usr/bin/env bats
# End-to-end: detach keys honoured by berthd itself (POST
# /containers/{id}/attach?detachKeys=, exec's DetachKeys) for TTY streams,
# as dockerd does, and the docker CLI's detach flows (attach, exec -it,
# run -it, start -ai) on a terminal; kill's error text.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

HIJACK="$BATS_TEST_DIRNAME/../helpers/hijack.py"
state() { docker inspect -f '{{.State.Status}}' "$1"; }
# hijack.py against this test's berthd: the stream's bytes on stdout, exit 0
# when the daemon ended the stream, 3 when it stayed open for 15 s.
hj() { python3 "$HIJACK" "$BERTHD_SOCK" "$@"; }

@test "berthd ends a TTY attach on ctrl-p ctrl-q; the container keeps running" {
  docker run -dit --net none --name dk1 busybox sh
  run --separate-stderr hj POST "/v1.41/containers/dk1/attach?stream=1&stdin=1&stdout=1&stderr=1" -- \
    sleep:0.5 'send:echo a-$((6*7))\r' sleep:1 'send:\x10' sleep:0.5 'send:\x11' sleep:1
  [ "$status" -eq 0 ]
  [[ $output == *a-42* ]]
  [ "$(state dk1)" = running ]
  # The sequence in one piece, after other input, also detaches.
  run --separate-stderr hj POST "/v1.41/containers/dk1/attach?stream=1&stdin=1&stdout=1" -- \
    sleep:0.5 'send:echo b-$((2*3))\r\x10\x11' sleep:1
  [ "$status" -eq 0 ]
  [ "$(state dk1)" = running ]
  docker events --since 0 --until "$(($(date +%s) + 1))" --filter container=dk1 --filter event=detach --format '{{.Action}}' >"$BATS_TEST_TMPDIR/ev"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/ev")" -eq 2 ]
  docker rm -f dk1
}

@test "berthd: custom detachKeys; a partial sequence is typed through; bad keys are a 400" {
  docker run -dit --net none --name dk2 busybox sh
  # ctrl-p ctrl-q is ordinary input now; ctrl-a then y is forwarded (ctrl-a
  # moves busybox's cursor to the line start: "y" lands before "echo").
  run --separate-stderr hj POST "/v1.41/containers/dk2/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,x" -- \
    sleep:0.5 'send:\x10\x11echo c-$((2*3))\r' sleep:1 'send:echo d\x01' sleep:0.3 'send:y\r' sleep:1 \
    'send:\x01' sleep:0.3 'send:x' sleep:1
  [ "$status" -eq 0 ]
  [[ $output == *c-6* ]]
  [[ $output == *"yecho: not found"* ]]
  [ "$(state dk2)" = running ]
  run curl -s -w ' %{http_code}' --unix-socket "$BERTHD_SOCK" -X POST \
    "http://d/v1.41/containers/dk2/attach?stream=1&stdin=1&detachKeys=ctrl-1"
  [[ $output == *'Invalid detach keys (ctrl-1) provided'*' 400' ]]
  # dockerd checks the keys before the container.
  run curl -s -w ' %{http_code}' --unix-socket "$BERTHD_SOCK" -X POST \
    "http://d/v1.41/containers/nosuch/attach?stream=1&stdin=1&detachKeys=ctrl-1"
  [[ $output == *'Invalid detach keys (ctrl-1) provided'*' 400' ]]
  docker rm -f dk2
}

@test "berthd: no detach on a non-TTY attach (as dockerd): the keys reach the container" {
  docker run -di --net none --name dk3 busybox sh -c 'cat >/tmp/in'
  run --separate-stderr hj POST "/v1.41/containers/dk3/attach?stream=1&stdin=1&stdout=1" -- \
    sleep:0.5 'send:x\x10\x11y' sleep:1 shut sleep:1
  [ "$(docker exec dk3 cat /tmp/in | od -An -c | tr -d ' ')" = 'x020021y' ]
  docker rm -f dk3
}

@test "berthd: exec DetachKeys ends a TTY exec stream, the exec keeps running" {
  docker run -d --net none --name dk4 busybox sleep 300
  run curl -s -w ' %{http_code}' --unix-socket "$BERTHD_SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh"],"DetachKeys":"ctrl-1","AttachStdin":true,"Tty":true}' "http://d/v1.41/containers/dk4/exec"
  [[ $output == *'Invalid escape keys (ctrl-1) provided'*' 400' ]]
  id=$(curl -s --unix-socket "$BERTHD_SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh"],"DetachKeys":"ctrl-a,x","AttachStdin":true,"AttachStdout":true,"Tty":true}' \
    "http://d/v1.41/containers/dk4/exec" | sed 's/.*"Id":"\([^"]*\)".*/\1/')
  run --separate-stderr hj POST "/v1.41/exec/$id/start" '{"Detach":false,"Tty":true}' -- \
    sleep:0.5 'send:\x10\x11echo e-$((2*3))\r' sleep:1 'send:\x01x' sleep:1
  [ "$status" -eq 0 ]
  [[ $output == *e-6* ]]
  run curl -s --unix-socket "$BERTHD_SOCK" "http://d/v1.41/exec/$id/json"
  [[ $output == *'"Running":true'* ]]
  [[ $output == *'"DetachKeys":"AXg="'* ]]
  docker events --since 0 --until "$(($(date +%s) + 1))" --filter container=dk4 --format '{{.Action}}' >"$BATS_TEST_TMPDIR/ev"
  grep -qx exec_detach "$BATS_TEST_TMPDIR/ev"
  docker rm -f dk4
}

# The docker CLI on a terminal (script(1)): ctrl-p ctrl-q is "read escape
# sequence", exit 1 for attach and exec -it; run -it and start -ai exit 0.
cli_detach() {  # cli_detach KEYS-PRINTF COMMAND...
  local keys=$1
  shift
  bash -c "(sleep 1.5; printf 'echo hi-\$((6*7))\r'; sleep 1; printf '$keys'; sleep 3) |
           timeout 20 script -qec '$*' /dev/null"
}

@test "docker CLI on a terminal: attach, exec -it, run -it and start -ai detach" {
  docker run -dit --net none --name dk5 busybox sh
  run cli_detach '\x10\x11' docker attach dk5
  [ "$status" -eq 1 ]
  [[ $output == *hi-42* ]]
  [[ $output == *"read escape sequence"* ]]
  [ "$(state dk5)" = running ]
  run cli_detach '\x01x' docker attach --detach-keys ctrl-a,x dk5
  [ "$status" -eq 1 ]
  [[ $output == *"read escape sequence"* ]]
  [ "$(state dk5)" = running ]
  run cli_detach '\x10\x11' docker exec -it dk5 sh
  [ "$status" -eq 1 ]
  [[ $output == *hi-42* ]]
  [[ $output == *"read escape sequence"* ]]
  [ "$(docker exec dk5 ps -o comm | grep -c '^sh$')" -eq 2 ]
  run cli_detach '\x01x' docker exec -it --detach-keys ctrl-a,x dk5 sh
  [ "$status" -eq 1 ]
  [ "$(docker exec dk5 ps -o comm | grep -c '^sh$')" -eq 3 ]
  run cli_detach '\x10\x11' docker run -it --net none --name dk6 busybox sh
  [ "$status" -eq 0 ]
  [[ $output == *hi-42* ]]
  [ "$(state dk6)" = running ]
  docker stop -t 0 dk6
  run cli_detach '\x10\x11' docker start -ai dk6
  [ "$status" -eq 0 ]
  [[ $output == *hi-42* ]]
  [ "$(state dk6)" = running ]
  docker rm -f dk5 dk6
}

@test "kill: dockerd's 'Cannot kill container: <name>: …' text, status codes and CLI exit" {
  docker create --net none --name kk1 busybox sleep 60
  id=$(docker inspect -f '{{.Id}}' kk1)
  run --separate-stderr docker kill kk1
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: Cannot kill container: kk1: Container $id is not running" ]
  run --separate-stderr docker kill nosuch
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: Cannot kill container: nosuch: No such container: nosuch" ]
  run --separate-stderr docker kill -s FOO kk1
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: Invalid signal: FOO" ]
  run --separate-stderr docker kill -s 99 kk1
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: Cannot kill container: kk1: The linux daemon does not support signal 99" ]
  k() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$BERTHD_SOCK" -X POST "http://d/v1.41/containers/$1"; }
  [ "$(k kk1/kill)" = 409 ]
  [ "$(k nosuch/kill)" = 404 ]
  [ "$(k 'kk1/kill?signal=FOO')" = 400 ]
  [ "$(k 'kk1/kill?signal=0')" = 400 ]
  [ "$(k 'kk1/kill?signal=32')" = 500 ]
  docker rm -f kk1
}
