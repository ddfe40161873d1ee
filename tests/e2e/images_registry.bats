#!/usr/bin/env bats
# End-to-end: pull / push / login / rmi against Debian's docker-registry on
# 127.0.0.1, through the real docker CLI. Images are put into the registry
# by an independent producer (tests/fixtures/registry-put-image.py) or by
# berth's own push.

bats_require_minimum_version 1.5.0
load ../helpers/berth

PUT_IMAGE="$BERTH_SRC/tests/fixtures/registry-put-image.py"

setup_file() {
  start_registry
  start_berthd
  export TMPD=$(mktemp -d /tmp/img-e2e.XXXXXX)
  # A second, small layer: one file and a whiteout of busybox's /etc/motd-less tree.
  python3 - "$TMPD/layer2.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    d = b'second layer\n'
    i = tarfile.TarInfo('etc/second'); i.size = len(d); i.mode = 0o644; t.addfile(i, io.BytesIO(d))
    i = tarfile.TarInfo('bin/.wh.yes'); i.size = 0; t.addfile(i, io.BytesIO(b''))
PY
  export BB_DIGEST=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" fixture/bb latest "$(busybox_tar)" "$TMPD/layer2.tar")
  export LIST_DIGEST=$(python3 "$PUT_IMAGE" --list "$REGISTRY_ADDR" fixture/multi v1 "$(busybox_tar)")
  export OCI_DIGEST=$(python3 "$PUT_IMAGE" --oci "$REGISTRY_ADDR" fixture/oci v1 "$(busybox_tar)")
}

teardown_file() {
  stop_berthd
  stop_registry
  rm -rf "$TMPD"
}

@test "docker pull: schema2 image with two layers, Docker's progress lines, runnable, whiteout applied" {
  run docker pull "$REGISTRY_ADDR/fixture/bb"
  [ "$status" -eq 0 ]
  [[ $output == *"latest: Pulling from fixture/bb"* ]]
  [[ $output == *": Pull complete"* ]]
  [[ $output == *"Digest: $BB_DIGEST"* ]]
  [[ $output == *"Status: Downloaded newer image for $REGISTRY_ADDR/fixture/bb:latest"* ]]
  run docker run --rm "$REGISTRY_ADDR/fixture/bb" cat /etc/second
  [ "$status" -eq 0 ]
  [ "$output" = "second layer" ]
  # bin/.wh.yes hid busybox's /bin/yes
  run docker run --rm "$REGISTRY_ADDR/fixture/bb" ls /bin/yes
  [ "$status" -ne 0 ]
  run docker image inspect -f '{{json .RepoDigests}} {{len .RootFS.Layers}}' "$REGISTRY_ADDR/fixture/bb"
  [ "$output" = "[\"$REGISTRY_ADDR/fixture/bb@$BB_DIGEST\"] 2" ]
  # nothing half-done stays in the ingest area
  [ -z "$(ls "$BERTHD_DIR/data/content/ingest")" ]
}

@test "docker pull again: Image is up to date" {
  run docker pull "$REGISTRY_ADDR/fixture/bb"
  [ "$status" -eq 0 ]
  [[ $output == *"Status: Image is up to date for $REGISTRY_ADDR/fixture/bb:latest"* ]]
  [[ $output != *"Pull complete"* ]]
}

@test "docker pull by digest records the digest reference, no tag" {
  run docker pull "$REGISTRY_ADDR/fixture/oci@$OCI_DIGEST"
  [ "$status" -eq 0 ]
  [[ $output == *"Digest: $OCI_DIGEST"* ]]
  run docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' "$REGISTRY_ADDR/fixture/oci"
  [ "$output" = "$REGISTRY_ADDR/fixture/oci <none> $OCI_DIGEST" ]
}

@test "docker pull of a manifest list picks this machine's platform; --platform picks another" {
  run docker pull "$REGISTRY_ADDR/fixture/multi:v1"
  [ "$status" -eq 0 ]
  [[ $output == *"Digest: $LIST_DIGEST"* ]]
  run docker image inspect -f '{{.Architecture}}' "$REGISTRY_ADDR/fixture/multi:v1"
  [ "$output" = "amd64" ]
  run docker pull --platform linux/arm64 "$REGISTRY_ADDR/fixture/multi:v1"
  [ "$status" -eq 0 ]
  run docker image inspect -f '{{.Architecture}}' "$REGISTRY_ADDR/fixture/multi:v1"
  [ "$output" = "arm64" ]
  run docker pull --platform linux/s390x "$REGISTRY_ADDR/fixture/multi:v1"
  [ "$status" -ne 0 ]
  [[ $output == *"no matching manifest for linux/s390x in the manifest list entries"* ]]
}

@test "docker pull of a missing tag: Docker's error, nothing stored" {
  run docker pull "$REGISTRY_ADDR/fixture/bb:nope"
  [ "$status" -eq 1 ]
  [[ $output == *"manifest for $REGISTRY_ADDR/fixture/bb:nope not found: manifest unknown: manifest unknown"* ]]
}

@test "docker push: Pushed, then Layer already exists, then Mounted from; pulls back byte-identical" {
  import_busybox img-e2e/pushme:latest
  docker tag img-e2e/pushme "$REGISTRY_ADDR/pushed/bb:v1"
  run docker push "$REGISTRY_ADDR/pushed/bb:v1"
  [ "$status" -eq 0 ]
  [[ $output == *"The push refers to repository [$REGISTRY_ADDR/pushed/bb]"* ]]
  [[ $output == *": Pushed"* ]]
  [[ $output =~ v1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+ ]]
  local digest=${BASH_REMATCH[1]}
  run docker push "$REGISTRY_ADDR/pushed/bb:v1"
  [[ $output == *": Layer already exists"* ]]
  docker tag img-e2e/pushme "$REGISTRY_ADDR/pushed/other:v2"
  run docker push "$REGISTRY_ADDR/pushed/other:v2"
  [ "$status" -eq 0 ]
  [[ $output == *": Mounted from pushed/bb"* ]]
  # The registry holds a manifest whose config is the image's ID.
  local id
  id=$(docker image inspect -f '{{.Id}}' img-e2e/pushme)
  run curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REGISTRY_ADDR/v2/pushed/bb/manifests/v1"
  [ "$status" -eq 0 ]
  [[ $output == *"\"digest\": \"$id\""* ]]
  run docker image inspect -f '{{json .RepoDigests}}' img-e2e/pushme
  [[ $output == *"$REGISTRY_ADDR/pushed/bb@$digest"* ]]
  # Pull it into a second daemon: same image ID.
  local d2 s2
  d2=$(mktemp -d /tmp/img-e2e-d2.XXXXXX)
  echo '{}' > "$d2/daemon.json"
  scratch_net_flags
  "$BERTH_BIN/berthd" -H "unix://$d2/s" --data-root "$d2/data" --exec-root "$d2/exec" --pidfile "$d2/pid" \
    --config-file "$d2/daemon.json" $SCRATCH_NET_FLAGS >"$d2/log" 2>&1 &
  s2=$!
  wait_for_ping "$d2/s"
  run env DOCKER_HOST="unix://$d2/s" docker pull "$REGISTRY_ADDR/pushed/bb:v1"
  local id2
  id2=$(DOCKER_HOST="unix://$d2/s" docker image inspect -f '{{.Id}}' "$REGISTRY_ADDR/pushed/bb:v1")
  kill "$s2"; wait "$s2" || true
  drop_scratch_net
  rm -rf "$d2"
  [ "$id2" = "$id" ]
}

@test "docker push of a tag that does not exist" {
  run docker push "$REGISTRY_ADDR/nothing/here:v9"
  [ "$status" -eq 1 ]
  [[ $output == *"tag does not exist: $REGISTRY_ADDR/nothing/here:v9"* ]]
}

@test "push without X-Registry-Auth is refused as dockerd does" {
  run curl -s --unix-socket "$BERTHD_SOCK" -X POST "http://x/v1.41/images/img-e2e/pushme/push?tag=latest"
  [[ $output == *"Bad parameters and missing X-Registry-Auth"* ]]
}

@test "docker rmi of the last tag drops the repository's digest refs and the image" {
  run docker pull "$REGISTRY_ADDR/pushed/other:v2"
  docker tag img-e2e/pushme img-e2e/keep:1
  run docker rmi "$REGISTRY_ADDR/fixture/bb"
  [ "$status" -eq 0 ]
  [[ $output == *"Untagged: $REGISTRY_ADDR/fixture/bb:latest"* ]]
  [[ $output == *"Untagged: $REGISTRY_ADDR/fixture/bb@$BB_DIGEST"* ]]
  [[ $output == *"Deleted: sha256:"* ]]
  run docker images -q "$REGISTRY_ADDR/fixture/bb"
  [ -z "$output" ]
}

@test "an interrupted download resumes from the partial ingest file" {
  local gz blob hex half
  # The second layer (only fixture/bb has it) as the registry holds it.
  blob=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/fixture/bb/manifests/latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"])')
  hex=${blob#sha256:}
  curl -sf "http://$REGISTRY_ADDR/v2/fixture/bb/blobs/$blob" -o "$TMPD/blob"
  half=$(( $(stat -c %s "$TMPD/blob") / 2 ))
  docker rmi -f "$REGISTRY_ADDR/fixture/oci@$OCI_DIGEST" "$REGISTRY_ADDR/fixture/multi:v1" >/dev/null 2>&1 || true
  rm -f "$BERTHD_DIR/data/content/blobs/sha256/$hex"
  # A partial of garbage is resumed (Range): the stream it starts fails to
  # unpack, the partial is dropped; the next pull starts over and succeeds.
  head -c "$half" /dev/zero > "$BERTHD_DIR/data/content/ingest/$hex.partial"
  run docker pull "$REGISTRY_ADDR/fixture/bb"
  [ "$status" -ne 0 ]
  [[ $output == *"failed to register layer: invalid tar archive"* ]]
  [ ! -e "$BERTHD_DIR/data/content/ingest/$hex.partial" ]
  # A correct half is resumed and completes.
  head -c "$half" "$TMPD/blob" > "$BERTHD_DIR/data/content/ingest/$hex.partial"
  run docker pull "$REGISTRY_ADDR/fixture/bb"
  [ "$status" -eq 0 ]
  [[ $output == *"Downloaded newer image"* ]]
  [ ! -e "$BERTHD_DIR/data/content/ingest/$hex.partial" ]
  cmp "$TMPD/blob" "$BERTHD_DIR/data/content/blobs/sha256/$hex"
}

@test "docker login against an htpasswd registry; push and pull with the stored credentials" {
  local rd port pid
  rd=$(mktemp -d /tmp/img-e2e-auth.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 -W ignore -c 'import crypt,sys; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' > "$rd/htpasswd"
  cat > "$rd/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $rd/data
auth:
  htpasswd:
    realm: img-e2e
    path: $rd/htpasswd
http:
  addr: 127.0.0.1:$port
CFG
  docker-registry serve "$rd/config.yml" >"$rd/log" 2>&1 &
  pid=$!
  local i
  for ((i = 0; i < 100; i++)); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.05; done
  export DOCKER_CONFIG=$rd/dockercfg
  run docker login -u alice -p wrong "127.0.0.1:$port"
  local bad_status=$status bad_output=$output
  run docker push "127.0.0.1:$port/private/bb:v1"
  docker tag img-e2e/pushme "127.0.0.1:$port/private/bb:v1"
  run docker push "127.0.0.1:$port/private/bb:v1"
  local anon_status=$status anon_output=$output
  run docker login -u alice -p s3cret "127.0.0.1:$port"
  local good_status=$status good_output=$output
  run docker push "127.0.0.1:$port/private/bb:v1"
  local push_status=$status
  docker rmi "127.0.0.1:$port/private/bb:v1" >/dev/null
  run docker pull "127.0.0.1:$port/private/bb:v1"
  local pull_status=$status
  kill "$pid"; wait "$pid" || true
  unset DOCKER_CONFIG
  rm -rf "$rd"
  [ "$bad_status" -eq 1 ]
  [[ $bad_output == *"login attempt to http://127.0.0.1:$port/v2/ failed with status: 401 Unauthorized"* ]]
  [ "$anon_status" -eq 1 ]
  [[ $anon_output == *"no basic auth credentials"* ]]
  [ "$good_status" -eq 0 ]
  [[ $good_output == *"Login Succeeded"* ]]
  [ "$push_status" -eq 0 ]
  [ "$pull_status" -eq 0 ]
}

@test "kill -9 of berthd during a pull leaves no half-visible image; the next pull completes" {
  local deb digest
  deb=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" fixture/debian v1 "$BERTH_FIXTURES/debian-bookworm-minbase.tar")
  local i
  for i in 1 2 3; do
    docker pull "$REGISTRY_ADDR/fixture/debian:v1" >/dev/null 2>&1 &
    local cp=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill9_berthd
    wait "$cp" || true
    restart_berthd
    run docker images -q "$REGISTRY_ADDR/fixture/debian:v1"
    if [ -n "$output" ]; then
      # committed before the kill: must be complete and runnable
      run docker run --rm "$REGISTRY_ADDR/fixture/debian:v1" test -x /bin/bash
      [ "$status" -eq 0 ]
      docker rmi "$REGISTRY_ADDR/fixture/debian:v1" >/dev/null
    fi
    # no leftover extraction directories
    run ls "$BERTHD_DIR/data/overlay"
    [[ $output != *".tmp-layer-"* ]]
  done
  run docker pull "$REGISTRY_ADDR/fixture/debian:v1"
  [ "$status" -eq 0 ]
  [[ $output == *"Digest: $deb"* ]]
  run docker run --rm "$REGISTRY_ADDR/fixture/debian:v1" cat /etc/debian_version
  [ "$status" -eq 0 ]
  [[ $output == 12* ]]
}

@test "docker search lists matching repositories from the registry's catalog" {
  run docker search "$REGISTRY_ADDR/fixture"
  [ "$status" -eq 0 ]
  [[ $output == *"$REGISTRY_ADDR/fixture/bb"* ]]
  [[ $output == *"$REGISTRY_ADDR/fixture/oci"* ]]
  [[ $output != *"pushed/bb"* ]]
  run docker search --limit 1 "$REGISTRY_ADDR/fixture"
  [ "${#lines[@]}" -eq 2 ]
}

@test "berth CLI: pull, tag, push, rmi against the registry" {
  local b="$BERTH_BIN/berth"
  run "$b" pull "$REGISTRY_ADDR/fixture/oci:v1"
  [ "$status" -eq 0 ]
  [[ $output == *"Status: "*"$REGISTRY_ADDR/fixture/oci:v1"* ]]
  run "$b" tag "$REGISTRY_ADDR/fixture/oci:v1" "$REGISTRY_ADDR/berthcli/copy:c1"
  [ "$status" -eq 0 ]
  run "$b" push "$REGISTRY_ADDR/berthcli/copy:c1"
  [ "$status" -eq 0 ]
  [[ $output == *"c1: digest: sha256:"* ]]
  run "$b" rmi "$REGISTRY_ADDR/berthcli/copy:c1"
  [ "$status" -eq 0 ]
  [[ $output == *"Untagged: $REGISTRY_ADDR/berthcli/copy:c1"* ]]
  run "$b" pull "$REGISTRY_ADDR/berthcli/copy:nope"
  [ "$status" -ne 0 ]
  [[ $output == *"manifest unknown"* ]]
}
