#!/usr/bin/env bats
# End-to-end: docker commit (a real new layer from the container's upper dir,
# whiteouts included, --change, -m, -a), and the committed image saved and
# loaded back.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

@test "docker commit makes a new layer with the container's changes" {
  docker run --name img-c1 busybox sh -c 'echo hi > /newfile; rm /bin/yes; mkdir -p /d; echo x > /d/f'
  run docker commit -c 'ENV X=1' -c 'CMD ["cat", "/newfile"]' -m 'my message' -a 'me <me@x>' img-c1 img-commit/one:v1
  [ "$status" -eq 0 ]
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  run docker run --rm img-commit/one:v1
  [ "$output" = "hi" ]
  run docker run --rm img-commit/one:v1 ls /bin/yes
  [ "$status" -ne 0 ]
  run docker run --rm img-commit/one:v1 cat /d/f
  [ "$output" = "x" ]
  run docker image inspect -f '{{.Author}}|{{.Comment}}|{{len .RootFS.Layers}}|{{json .Config.Env}}' img-commit/one:v1
  [[ $output == "me <me@x>|my message|2|"*'"X=1"'* ]]
  run docker history img-commit/one:v1
  [[ $output == *"my message"* ]]
  # the base image is untouched
  run docker run --rm busybox ls /bin/yes
  [ "$status" -eq 0 ]
}

@test "docker system df counts images, layers and the container's writable layer" {
  run docker system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
  [ "$status" -eq 0 ]
  [[ $output == *"Images 2 1"* ]]
  [[ $output == *"Containers 1 0"* ]]
  [[ $output == *"Build Cache 0 0"* ]]
  run curl -sf --unix-socket "$BERTHD_SOCK" http://x/v1.41/system/df
  [ "$status" -eq 0 ]
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
c = d["Containers"][0]
assert c["SizeRw"] >= 5, c["SizeRw"]            # /newfile + /d/f
imgs = {i["RepoTags"][0]: i for i in d["Images"]}
base = imgs["busybox:latest"]
assert base["Containers"] == 1 and base["SharedSize"] == base["Size"], base
assert d["LayersSize"] > base["Size"], d["LayersSize"]
' "$output"
}

@test "a committed image saves and loads back with the same ID" {
  local id
  id=$(docker image inspect -f '{{.Id}}' img-commit/one:v1)
  local t
  t=$(mktemp /tmp/img-commit.XXXXXX)
  docker save -o "$t" img-commit/one:v1
  docker rm img-c1 >/dev/null
  docker rmi img-commit/one:v1 >/dev/null
  run docker load -i "$t"
  rm -f "$t"
  [ "$status" -eq 0 ]
  [ "$(docker image inspect -f '{{.Id}}' img-commit/one:v1)" = "$id" ]
  run docker run --rm img-commit/one:v1
  [ "$output" = "hi" ]
}

@test "docker commit of a missing container: 404" {
  run docker commit img-nope img-commit/x
  [ "$status" -ne 0 ]
  [[ $output == *"No such container: img-nope"* ]]
}

@test "berthd --validate-store reports and repairs a corrupt blob and a lost layer" {
  import_busybox img-commit/victim:v1
  docker tag busybox:latest img-commit/keep:v1
  local id top
  id=$(docker image inspect -f '{{.Id}}' img-commit/one:v1)
  top=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' img-commit/one:v1)
  local ids
  ids=$(docker images -qa --no-trunc | sed 's/^sha256://')
  kill "$(berthd_pid)"
  while kill -0 "$(berthd_pid)" 2>/dev/null; do sleep 0.05; done
  # corrupt one stored layer blob; remove the committed image's top layer
  # (a layer blob, not an image config: a config is restored from the database)
  local blob
  blob=$(ls "$BERTHD_DIR/data/content/blobs/sha256" | grep -v -F -f <(echo "$ids") | head -1)
  echo garbage >> "$BERTHD_DIR/data/content/blobs/sha256/$blob"
  rm -rf "$top"
  run "$BERTH_BIN/berthd" --data-root "$BERTHD_DIR/data" --exec-root "$BERTHD_DIR/exec" \
    --pidfile "$BERTHD_DIR/check.pid" --config-file "$BERTHD_DIR/daemon.json" --validate-store
  [ "$status" -eq 0 ]
  [[ $output == *"corrupt blob (digest mismatch): sha256:$blob"* ]]
  [[ $output == *"image $id: layer directory missing"* ]]
  [[ $output == *"problem(s) found and repaired"* ]]
  [ ! -e "$BERTHD_DIR/data/content/blobs/sha256/$blob" ]
  # a second check finds nothing left to repair except what the first removed
  run "$BERTH_BIN/berthd" --data-root "$BERTHD_DIR/data" --exec-root "$BERTHD_DIR/exec" \
    --pidfile "$BERTHD_DIR/check.pid" --config-file "$BERTHD_DIR/daemon.json" --validate-store
  [[ $output != *"corrupt blob"* ]]
  [[ $output != *"layer directory missing"* ]]
  restart_berthd
  run docker image inspect img-commit/one:v1
  [ "$status" -ne 0 ]
  run docker run --rm img-commit/keep:v1 true
  [ "$status" -eq 0 ]
}
