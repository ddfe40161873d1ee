#!/usr/bin/env bats
# The Engine API on the wire (curl --unix-socket): version handshake, paths,
# status codes and error bodies for bad input. After each bad request the
# daemon must keep serving.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

# api METHOD PATH [curl args...] → sets $code and $body
api() {
  local method=$1 path=$2
  shift 2
  local out
  out=$(curl -s --unix-socket "$BERTHD_SOCK" -X "$method" -w '\n%{http_code}' "$@" "http://d$path")
  code=${out##*$'\n'}
  body=${out%$'\n'*}
}

alive() {
  api GET /_ping
  [ "$code" = 200 ] && [ "$body" = OK ]
}

@test "HEAD /_ping carries the version headers and no body" {
  run curl -sI --unix-socket "$BERTHD_SOCK" http://d/_ping
  [ "$status" -eq 0 ]
  [[ $output == *"HTTP/1.1 200"* ]]
  [[ $output == *$'\n'[Aa]"pi-Version: 1.41"* ]]
  [[ $output == *$'\n'[Oo][Ss][Tt]"ype: linux"* ]]
  [[ $output == *$'\n'[Dd]"ocker-Experimental: false"* ]]
  [[ $output == *$'\n'[Cc]"ontent-Length: 0"* ]]
}

@test "versioned and unversioned paths both route" {
  api GET /version
  [ "$code" = 200 ]
  [ "$(jq -r .ApiVersion <<<"$body")" = "1.41" ]
  api GET /v1.24/version
  [ "$code" = 200 ]
  api GET /v1.41/info
  [ "$code" = 200 ]
  [ "$(jq -r .Driver <<<"$body")" = "overlay2" ]
}

@test "a client version above 1.41 is refused with Docker's message" {
  api GET /v1.50/version
  [ "$code" = 400 ]
  [ "$(jq -r .message <<<"$body")" = "client version 1.50 is too new. Maximum supported API version is 1.41" ]
  alive
}

@test "unknown endpoint → 404 with a JSON message" {
  api GET /v1.41/nonsense/endpoint
  [ "$code" = 404 ]
  jq -e '.message | length > 0' <<<"$body"
  alive
}

@test "malformed JSON body → 400, never 500" {
  api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image": "busybox", '
  [ "$code" = 400 ]
  jq -e '.message | length > 0' <<<"$body"
  alive
}

@test "wrongly typed JSON field → 400" {
  api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image": "busybox", "Cmd": 42}'
  [ "$code" = 400 ]
  jq -e '.message | length > 0' <<<"$body"
  api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '[1,2,3]'
  [ "$code" = 400 ]
  alive
}

@test "missing image → 404 No such image" {
  api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image": "nosuchimage"}'
  [ "$code" = 404 ]
  [ "$(jq -r .message <<<"$body")" = "No such image: nosuchimage:latest" ]
  alive
}

@test "missing container → 404 No such container" {
  api GET /v1.41/containers/nosuch/json
  [ "$code" = 404 ]
  [ "$(jq -r .message <<<"$body")" = "No such container: nosuch" ]
  api DELETE /v1.41/containers/nosuch
  [ "$code" = 404 ]
  alive
}

@test "name conflict → 409; invalid name → 400" {
  api POST '/v1.41/containers/create?name=dup' -H 'Content-Type: application/json' -d '{"Image": "busybox", "Cmd": ["true"]}'
  [ "$code" = 201 ]
  id=$(jq -r .Id <<<"$body")
  api POST '/v1.41/containers/create?name=dup' -H 'Content-Type: application/json' -d '{"Image": "busybox", "Cmd": ["true"]}'
  [ "$code" = 409 ]
  [[ $(jq -r .message <<<"$body") == *'"/dup" is already in use by container "'$id'"'* ]]
  api POST '/v1.41/containers/create?name=bad%20name' -H 'Content-Type: application/json' -d '{"Image": "busybox"}'
  [ "$code" = 400 ]
  api DELETE "/v1.41/containers/$id"
  [ "$code" = 204 ]
  alive
}

@test "start twice → 304; kill of a stopped container → 409" {
  api POST '/v1.41/containers/create?name=twice' -H 'Content-Type: application/json' -d '{"Image": "busybox", "Cmd": ["sleep", "30"]}'
  [ "$code" = 201 ]
  api POST /v1.41/containers/twice/start
  [ "$code" = 204 ]
  api POST /v1.41/containers/twice/start
  [ "$code" = 304 ]
  api POST '/v1.41/containers/twice/kill?signal=KILL'
  [ "$code" = 204 ]
  api POST '/v1.41/containers/twice/wait'
  [ "$code" = 200 ]
  [ "$(jq -r .StatusCode <<<"$body")" = 137 ]
  api POST /v1.41/containers/twice/kill
  [ "$code" = 409 ]
  api DELETE /v1.41/containers/twice
  [ "$code" = 204 ]
}

@test "chunked request body to import, and the JSON status stream" {
  run bash -c "curl -s --unix-socket '$BERTHD_SOCK' -X POST -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-tar' --data-binary @'$(busybox_tar)' 'http://d/v1.41/images/create?fromSrc=-&repo=chunked&tag=t1'"
  [ "$status" -eq 0 ]
  [[ $output == *'"status":"sha256:'* ]]
  api GET /v1.41/images/chunked:t1/json
  [ "$code" = 200 ]
  [ "$(jq -r '.RepoTags[0]' <<<"$body")" = "chunked:t1" ]
}

@test "a garbage import body → 4xx/5xx JSON error, no image created" {
  before=$(curl -s --unix-socket "$BERTHD_SOCK" http://d/v1.41/images/json | jq length)
  api POST '/v1.41/images/create?fromSrc=-&repo=garbage' --data-binary 'this is not a tar archive'
  [ "$code" -ge 400 ] || [[ $body == *'"error"'* ]]
  after=$(curl -s --unix-socket "$BERTHD_SOCK" http://d/v1.41/images/json | jq length)
  [ "$before" = "$after" ]
  alive
}

@test "wait headers arrive before the container exits" {
  api POST '/v1.41/containers/create?name=waiter' -H 'Content-Type: application/json' -d '{"Image": "busybox", "Cmd": ["sh", "-c", "exit 5"]}'
  # With the headers flushed, curl can print the status code before start.
  curl -s -N --unix-socket "$BERTHD_SOCK" -X POST -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/b" \
    'http://d/v1.41/containers/waiter/wait?condition=next-exit' & w=$!
  for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/h" ] && break; sleep 0.05; done
  grep -q '200' "$BATS_TEST_TMPDIR/h"
  api POST /v1.41/containers/waiter/start
  wait $w
  [ "$(jq -r .StatusCode "$BATS_TEST_TMPDIR/b")" = 5 ]
  api DELETE /v1.41/containers/waiter
}

@test "garbage on the socket does not take the daemon down" {
  printf 'NOT HTTP AT ALL\r\n\r\n' | socat -t1 - "UNIX-CONNECT:$BERTHD_SOCK" || true
  head -c 100000 /dev/urandom | socat -t1 - "UNIX-CONNECT:$BERTHD_SOCK" >/dev/null 2>&1 || true
  alive
}
