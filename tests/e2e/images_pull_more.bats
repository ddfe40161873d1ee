#!/usr/bin/env bats
# End-to-end: docker pull --all-tags (every tag of a repository, one final
# status line) and registry-mirrors for Docker Hub references (the local
# docker-registry plays the mirror; a dead mirror first is skipped; what no
# mirror has falls back to the origin).

bats_require_minimum_version 1.5.0
load ../helpers/berth

PUT_IMAGE="$BERTH_SRC/tests/fixtures/registry-put-image.py"

setup_file() {
  start_registry
  start_berthd
  # registry-mirrors are read at start: restart with them configured.
  kill "$(berthd_pid)"
  while kill -0 "$(berthd_pid)" 2>/dev/null; do sleep 0.05; done
  printf '{"registry-mirrors": ["http://127.0.0.1:1", "http://%s/"]}\n' "$REGISTRY_ADDR" > "$BERTHD_DIR/daemon.json"
  restart_berthd
  export TMPD=$(mktemp -d /tmp/img-pull.XXXXXX)
  local i
  for i in 1 2; do
    python3 - "$TMPD/l$i.tar" "$i" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    d = ('layer %s\n' % sys.argv[2]).encode()
    i = tarfile.TarInfo('etc/which'); i.size = len(d); i.mode = 0o644; t.addfile(i, io.BytesIO(d))
PY
  done
  export D1=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" fixture/all v1 "$(busybox_tar)" "$TMPD/l1.tar")
  export D2=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" fixture/all v2 "$(busybox_tar)" "$TMPD/l2.tar")
  export D3=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" fixture/all v3 "$(busybox_tar)" "$TMPD/l1.tar")
  export HUB=$(python3 "$PUT_IMAGE" "$REGISTRY_ADDR" library/busybox latest "$(busybox_tar)" "$TMPD/l2.tar")
}

teardown_file() {
  stop_berthd
  stop_registry
  rm -rf "$TMPD"
}

@test "docker pull --all-tags pulls every tag, then says up to date" {
  run docker pull --all-tags "$REGISTRY_ADDR/fixture/all"
  [ "$status" -eq 0 ]
  [[ $output == *"v1: Pulling from fixture/all"* ]]
  [[ $output == *"v2: Pulling from"* ]]
  [[ $output == *"v3: Pulling from"* ]]
  [[ $output == *"Digest: $D1"* && $output == *"Digest: $D2"* ]]
  [[ $output == *"Status: Downloaded newer image for $REGISTRY_ADDR/fixture/all"* ]]
  [ "$(echo "$output" | grep -c '^Status: ')" -eq 1 ]
  run docker run --rm "$REGISTRY_ADDR/fixture/all:v2" cat /etc/which
  [ "$output" = "layer 2" ]
  run docker run --rm "$REGISTRY_ADDR/fixture/all:v3" cat /etc/which
  [ "$output" = "layer 1" ]
  # v1 and v3 are one image
  [ "$(docker image inspect -f '{{.Id}}' "$REGISTRY_ADDR/fixture/all:v1")" = "$(docker image inspect -f '{{.Id}}' "$REGISTRY_ADDR/fixture/all:v3")" ]
  run docker pull -a "$REGISTRY_ADDR/fixture/all"
  [ "$status" -eq 0 ]
  [[ $output == *"Status: Image is up to date for $REGISTRY_ADDR/fixture/all"* ]]
}

@test "the API: fromImage without any tag means every tag (as dockerd); with a tag just that one" {
  docker rmi "$REGISTRY_ADDR/fixture/all:v1" "$REGISTRY_ADDR/fixture/all:v2" "$REGISTRY_ADDR/fixture/all:v3" >/dev/null
  run curl -sf --unix-socket "$BERTHD_SOCK" -X POST "http://x/v1.41/images/create?fromImage=$REGISTRY_ADDR/fixture/all&tag=v2"
  [ "$status" -eq 0 ]
  run docker images --format '{{.Tag}}' "$REGISTRY_ADDR/fixture/all"
  [ "$output" = "v2" ]
  run curl -sf --unix-socket "$BERTHD_SOCK" -X POST "http://x/v1.41/images/create?fromImage=$REGISTRY_ADDR/fixture/all"
  [ "$status" -eq 0 ]
  run docker images --format '{{.Tag}}' "$REGISTRY_ADDR/fixture/all"
  [ "$(echo "$output" | sort | tr '\n' ' ')" = "v1 v2 v3 " ]
}

@test "pull --all-tags of a repository the registry does not have fails cleanly" {
  run docker pull -a "$REGISTRY_ADDR/fixture/none"
  [ "$status" -ne 0 ]
  [[ $output == *"repository does not exist"* ]]
}

@test "registry-mirrors: a Docker Hub pull comes from the mirror, past a dead one" {
  run docker pull busybox
  [ "$status" -eq 0 ]
  [[ $output == *"latest: Pulling from library/busybox"* ]]
  [[ $output == *"Digest: $HUB"* ]]
  [[ $output == *"Status: Downloaded newer image for busybox:latest"* ]]
  run docker run --rm busybox cat /etc/which
  [ "$output" = "layer 2" ]
  run docker image inspect -f '{{join .RepoDigests ","}}' busybox
  [ "$output" = "busybox@$HUB" ]
}

@test "registry-mirrors: what the mirror lacks falls back to the origin (Docker Hub, unreachable here)" {
  run docker pull berthtest/not-on-mirror:1
  [ "$status" -ne 0 ]
  [[ $output == *"registry-1.docker.io"* ]]
  run docker image inspect berthtest/not-on-mirror:1
  [ "$status" -ne 0 ]
}

@test "daemon.json registry-mirrors without a scheme is refused at start, as dockerd" {
  local d
  d=$(mktemp -d /tmp/img-mirror.XXXXXX)
  echo '{"registry-mirrors": ["mirror.example:5000"]}' > "$d/daemon.json"
  scratch_net_flags
  run timeout 10 "$BERTH_BIN/berthd" -H "unix://$d/s" --data-root "$d/data" --exec-root "$d/exec" --config-file "$d/daemon.json" $SCRATCH_NET_FLAGS
  drop_scratch_net
  rm -rf "$d"
  [ "$status" -ne 0 ]
  [[ $output == *'invalid mirror: unsupported scheme "" in "mirror.example:5000"'* ]]
}
