#!/usr/bin/env bats
# End-to-end: a lying registry (tests/fixtures/hostile-registry.py) — a
# layer bigger than its manifest says, an unknown manifest media type, an
# unknown layer media type, a config claiming 10 GB, a blob that does not
# match its digest. Each pull fails with a clear error and leaves nothing:
# no image, no blob, no ingest file, no extraction directory.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  HOSTILE_DIR=$(mktemp -d /tmp/img-hostile.XXXXXX)
  python3 "$BERTH_SRC/tests/fixtures/hostile-registry.py" "$HOSTILE_DIR/port" &
  HOSTILE_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do [[ -s $HOSTILE_DIR/port ]] && break; sleep 0.05; done
  HOSTILE=127.0.0.1:$(cat "$HOSTILE_DIR/port")
  export HOSTILE_DIR HOSTILE_PID HOSTILE
}

teardown_file() {
  [[ -z ${HOSTILE_PID:-} ]] || kill "$HOSTILE_PID" 2>/dev/null || true
  rm -rf "${HOSTILE_DIR:-/nonexistent}"
  stop_berthd
}

store_is_empty() {
  [ -z "$(docker images -aq)" ]
  [ -z "$(ls -A "$BERTHD_DIR/data/content/ingest")" ]
  [ -z "$(ls -A "$BERTHD_DIR/data/content/blobs/sha256" 2>/dev/null)" ]
  [ -z "$(ls -A "$BERTHD_DIR/data/overlay")" ]
}

@test "a layer larger than its manifest states is refused" {
  run docker pull "$HOSTILE/h/sizelie:v1"
  [ "$status" -ne 0 ]
  [[ $output == *"is larger than the 100 bytes its manifest states"* ]]
  store_is_empty
}

@test "an unknown manifest media type is refused" {
  run docker pull "$HOSTILE/h/mediatype:v1"
  [ "$status" -ne 0 ]
  [[ $output == *'unsupported manifest media type "application/vnd.example.unknown+json"'* ]]
  store_is_empty
}

@test "an unknown layer media type is refused" {
  run docker pull "$HOSTILE/h/layertype:v1"
  [ "$status" -ne 0 ]
  [[ $output == *'unsupported layer media type "application/vnd.example.layer.v1+exe"'* ]]
  store_is_empty
}

@test "a config blob claiming 10 GB is refused before any download" {
  run docker pull "$HOSTILE/h/bigconfig:v1"
  [ "$status" -ne 0 ]
  [[ $output == *"image config of 10000000000 bytes refused"* ]]
  store_is_empty
}

@test "a blob whose bytes do not match its digest is refused" {
  run docker pull "$HOSTILE/h/digest:v1"
  [ "$status" -ne 0 ]
  [[ $output == *"verification failed for digest sha256:abab"* ]]
  store_is_empty
}
