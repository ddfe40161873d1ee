#!/usr/bin/env bats
# End-to-end crash safety beyond pull: kill -9 of berthd at a random moment
# (bounded: 50-700 ms into the operation) during docker load, docker commit
# and docker push, three times each. After every crash and restart: every
# listed image inspects and runs (nothing half-visible), berthd
# --validate-store finds 0 problems (open() already swept the leftovers),
# and the same operation then succeeds.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_registry
  start_berthd
  import_busybox busybox:latest
  # An image big enough that the operations take a while: busybox + 48 MB.
  docker run --name crash-src busybox sh -c 'dd if=/dev/urandom of=/big bs=1M count=48 2>/dev/null'
  docker commit crash-src crash/big:1 >/dev/null
  docker rm crash-src >/dev/null
  export CRASH_TAR=$BERTHD_DIR/big.tar
  docker save -o "$CRASH_TAR" crash/big:1
}

teardown_file() {
  stop_berthd
  stop_registry
}

# crash_during CMD...: run CMD in the background, kill -9 berthd after a
# random 50-700 ms, restart it, check the store.
crash_during() {
  "$@" >/dev/null 2>&1 &
  local op=$!
  sleep "0.$(printf '%03d' $((50 + RANDOM % 650)))"
  kill9_berthd
  wait "$op" || true
  restart_berthd
  check_store
}

check_store() {
  local id
  for id in $(docker images -aq --no-trunc); do
    docker image inspect "$id" >/dev/null
    docker run --rm "$id" true
  done
  # an offline consistency check on the stopped daemon's store
  kill "$(berthd_pid)"
  while kill -0 "$(berthd_pid)" 2>/dev/null; do sleep 0.05; done
  run "$BERTH_BIN/berthd" --data-root "$BERTHD_DIR/data" --exec-root "$BERTHD_DIR/exec" \
    --pidfile "$BERTHD_DIR/check.pid" --config-file "$BERTHD_DIR/daemon.json" --validate-store
  [ "$status" -eq 0 ]
  [[ $output == *"store check: 0 problem(s) found and repaired"* ]]
  restart_berthd
}

@test "kill -9 during docker load: no half-visible image, the next load succeeds" {
  local i
  for i in 1 2 3; do
    docker rmi crash/big:1 >/dev/null 2>&1 || true
    crash_during docker load -i "$CRASH_TAR"
    run docker load -i "$CRASH_TAR"
    [ "$status" -eq 0 ]
    run docker run --rm crash/big:1 sh -c 'test $(wc -c < /big) -eq 50331648'
    [ "$status" -eq 0 ]
  done
}

@test "kill -9 during docker commit: no half-visible image, the next commit succeeds" {
  docker run -d --name crash-c crash/big:1 sh -c 'dd if=/dev/urandom of=/more bs=1M count=32 2>/dev/null; sleep 1000' >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(docker exec crash-c sh -c 'wc -c < /more' 2>/dev/null)" = 33554432 ] && break
    sleep 0.1
  done
  for i in 1 2 3; do
    crash_during docker commit crash-c crash/committed:$i
    # the container outlives the daemon (live shims); commit it again
    run docker commit crash-c crash/committed:$i
    [ "$status" -eq 0 ]
    run docker run --rm crash/committed:$i sh -c 'wc -c < /more'
    [ "$output" = 33554432 ]
  done
  docker rm -f crash-c >/dev/null
}

@test "kill -9 during docker push: the local store is intact and the next push succeeds" {
  local i ref
  for i in 1 2 3; do
    ref=$REGISTRY_ADDR/crash/pushed:$i
    docker tag crash/big:1 "$ref"
    crash_during docker push "$ref"
    run docker push "$ref"
    [ "$status" -eq 0 ]
    docker rmi "$ref" >/dev/null
    run docker pull "$ref"
    [ "$status" -eq 0 ]
    run docker run --rm "$ref" sh -c 'wc -c < /big'
    [ "$output" = 50331648 ]
  done
}
