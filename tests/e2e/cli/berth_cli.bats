#!/usr/bin/env bats
# End-to-end: berth's own CLI against berthd.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
}

teardown_file() {
  stop_berthd
}

berth() { "$BERTH_BIN/berth" "$@"; }

@test "berth import creates busybox:latest from a tarball" {
  run berth import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest
  [ "$status" -eq 0 ]
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  run berth images
  [[ ${lines[0]} == "REPOSITORY"*"TAG"*"IMAGE ID"*"CREATED"*"SIZE"* ]]
  [[ ${lines[1]} == "busybox "*"latest "* ]]
}

@test "berth run --rm prints and cleans up" {
  run berth run --rm --name brm busybox echo hi there
  [ "$status" -eq 0 ]
  [ "$output" = "hi there" ]
  run berth ps -a
  [[ $output != *brm* ]]
}

@test "berth run exit code and -e environment" {
  run berth run --rm -e GREETING=hey -e OTHER=x busybox sh -c 'echo $GREETING; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = "hey" ]
}

@test "berth run -d, ps, ps -q, logs, inspect, rm -f" {
  run berth run -d --name bweb busybox sh -c 'echo up; exec sleep 300'
  [ "$status" -eq 0 ]
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  id=$output
  run berth ps
  [[ ${lines[0]} == "CONTAINER ID"*"NAMES" ]]
  [[ $output == *"${id:0:12}"*"Up "*"bweb"* ]]
  run berth ps -q
  [[ $output == *"${id:0:12}"* ]]
  run berth logs bweb
  [ "$output" = "up" ]
  run berth inspect bweb
  [ "$status" -eq 0 ]
  [ "$(jq -r '.[0].State.Status' <<<"$output")" = running ]
  [ "$(jq -r '.[0].Name' <<<"$output")" = /bweb ]
  run berth rm -f bweb
  [ "$output" = bweb ]
  run berth ps -aq
  [[ $output != *"${id:0:12}"* ]]
}

@test "berth ps -a lists exited containers; rm removes them" {
  berth run --name bex busybox sh -c 'exit 2' || true
  run berth ps -a
  [[ $output == *"Exited (2)"*"bex"* ]]
  run berth rm bex
  [ "$output" = bex ]
}

@test "berth errors: missing container, missing executable, unknown flag" {
  run berth rm nosuch
  [ "$status" -eq 1 ]
  [[ $output == *"No such container: nosuch"* ]]
  run -127 berth run --rm busybox nope
  [ "$status" -eq 127 ]
  run berth run --bogus busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"unknown flag: --bogus"* ]]
  run berth frobnicate
  [ "$status" -ne 0 ]
  [[ $output == *"unknown command: berth frobnicate"* ]]
}

@test "berth version and info talk to the daemon" {
  run berth version
  [ "$status" -eq 0 ]
  [[ $output == *"Client:"* && $output == *"Server:"* && $output == *"1.41"* ]]
  run berth info
  [ "$status" -eq 0 ]
  [[ $output == *"overlay2"* ]]
}

@test "berth honours -H and BERTH_HOST" {
  run env -u BERTH_HOST -u DOCKER_HOST "$BERTH_BIN/berth" -H "unix://$BERTHD_SOCK" version
  [ "$status" -eq 0 ]
  [[ $output == *"API version:"*"1.41"* ]]
  run env -u DOCKER_HOST BERTH_HOST="unix://$BERTHD_SOCK" "$BERTH_BIN/berth" ps
  [ "$status" -eq 0 ]
  run env -u DOCKER_HOST BERTH_HOST=unix:///nonexistent.sock "$BERTH_BIN/berth" ps
  [ "$status" -ne 0 ]
}
