#!/usr/bin/env bats
# End-to-end: docker image prune [-a] (dangling, until, label, label!
# filters; images used by containers stay; Docker's response shape) and
# docker system prune [-a] [--volumes] (every prune endpoint the CLI calls).

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

api() { curl -s --unix-socket "$BERTHD_SOCK" "$@"; }
berth() { "$BERTH_BIN/berth" "$@"; }

# make_dangling SIZE [docker import flags...]: an untagged image of its own
# (unique content so its layer is not shared); prints its ID.
make_dangling() {
  local d size=$1
  shift
  d=$(mktemp -d /tmp/img-prune.XXXXXX)
  head -c "$size" /dev/urandom > "$d/blob"
  tar -C "$d" -cf "$d.tar" blob
  docker import "$@" "$d.tar"
  rm -rf "$d" "$d.tar"
}

@test "image prune removes dangling images nobody uses, answers Docker's shape" {
  local id used
  id=$(make_dangling 5000)
  used=$(make_dangling 3000)
  [[ $id == sha256:* && $used == sha256:* ]]
  docker create --name prune-user "$used" /blob >/dev/null
  run api -X POST "http://x/v1.41/images/prune?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D"
  [ "$status" -eq 0 ]
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
dels = [e["Deleted"] for e in d["ImagesDeleted"] if "Deleted" in e]
assert sys.argv[2] in dels, d
assert sys.argv[3] not in dels, d
assert not any("Untagged" in e for e in d["ImagesDeleted"]), d
assert d["SpaceReclaimed"] == 5000, d["SpaceReclaimed"]
' "$output" "$id" "$used"
  run docker image inspect "$id"
  [ "$status" -ne 0 ]
  docker image inspect "$used" >/dev/null
  docker image inspect busybox:latest >/dev/null
  # nothing left to prune: ImagesDeleted is null, as dockerd answers
  run api -X POST "http://x/v1.41/images/prune"
  [ "$output" = '{"ImagesDeleted":null,"SpaceReclaimed":0}' ]
  docker rm prune-user >/dev/null
}

@test "image prune -a honours label, label! and until; tagged images in use stay" {
  make_dangling 100 -c "LABEL keep=yes" >/dev/null
  local t1
  t1=$(date +%s)
  sleep 1.1
  docker import -c 'LABEL drop=1' "$(busybox_tar)" prune-lab:drop >/dev/null
  docker import -c 'LABEL keep=yes' "$(busybox_tar)" prune-lab:keep >/dev/null
  # label!: keep=yes images are spared
  run docker image prune -a -f --filter 'label!=keep=yes' --filter "until=$(($(date +%s) + 5))"
  [ "$status" -eq 0 ]
  [[ $output == *"untagged: prune-lab:drop"* ]]
  [[ $output != *"prune-lab:keep"* ]]
  docker image inspect prune-lab:keep >/dev/null
  run docker image inspect prune-lab:drop
  [ "$status" -ne 0 ]
  # busybox is used by no container but has no keep label: gone with -a
  run docker image inspect busybox:latest
  [ "$status" -ne 0 ]
  import_busybox busybox:latest
  # until before the keep image was made: it survives a label=keep prune
  run docker image prune -a -f --filter label=keep=yes --filter "until=$t1"
  [ "$status" -eq 0 ]
  docker image inspect prune-lab:keep >/dev/null
  # in use by a container: stays even with -a
  docker create --name prune-user2 prune-lab:keep true >/dev/null
  run docker image prune -a -f --filter label=keep
  [ "$status" -eq 0 ]
  docker image inspect prune-lab:keep >/dev/null
  docker rm prune-user2 >/dev/null
  run docker image prune -a -f --filter label=keep
  [[ $output == *"untagged: prune-lab:keep"* ]]
  [[ $output == *"Total reclaimed space: "* ]]
  run docker image inspect prune-lab:keep
  [ "$status" -ne 0 ]
}

@test "image prune refuses unknown filters and bad dangling values as dockerd" {
  run api -X POST "http://x/v1.41/images/prune?filters=%7B%22foo%22%3A%5B%22x%22%5D%7D"
  [[ $output == *"invalid filter 'foo'"* ]]
  run api -o /dev/null -w '%{http_code}' -X POST "http://x/v1.41/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D"
  [ "$output" = 400 ]
  run api -X POST "http://x/v1.41/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D"
  [[ $output == *"Invalid filter 'dangling=[maybe]'"* ]]
}

@test "build prune: berth has no build cache, so nothing is deleted" {
  run api -X POST "http://x/v1.41/build/prune?all=1"
  [ "$output" = '{"CachesDeleted":[],"SpaceReclaimed":0}' ]
  run docker builder prune -a -f
  [ "$status" -eq 0 ]
  [[ $output == *"Total reclaimed space: 0B"* ]]
}

@test "system prune -a --volumes: containers, networks, volumes, images, build cache" {
  docker run --name sp-stopped busybox true
  docker network create sp-net >/dev/null
  docker volume create sp-vol >/dev/null
  docker import -c 'LABEL x=1' "$(busybox_tar)" sp-img:1 >/dev/null
  run docker system prune -a -f --volumes
  [ "$status" -eq 0 ]
  [[ $output == *"Deleted Containers:"* ]]
  [[ $output == *"Deleted Networks:"*"sp-net"* ]]
  [[ $output == *"Deleted Volumes:"*"sp-vol"* ]]
  [[ $output == *"untagged: sp-img:1"* ]]
  [[ $output == *"untagged: busybox:latest"* ]]
  [[ $output == *"Total reclaimed space:"* ]]
  run docker ps -aq
  [ -z "$output" ]
  run docker images -q
  [ -z "$output" ]
  run docker volume ls -q
  [ -z "$output" ]
  run docker network ls --filter name=sp-net -q
  [ -z "$output" ]
  import_busybox busybox:latest
}

@test "system prune without -a keeps tagged images and volumes" {
  docker run --name sp2 busybox true
  docker volume create sp-vol2 >/dev/null
  make_dangling 200 >/dev/null
  run docker system prune -f
  [ "$status" -eq 0 ]
  [[ $output == *"Deleted Images:"* ]]
  [[ $output != *"untagged: busybox"* ]]
  docker image inspect busybox:latest >/dev/null
  docker volume inspect sp-vol2 >/dev/null
  run docker images -q -f dangling=true
  [ -z "$output" ]
  run docker ps -aq
  [ -z "$output" ]
}

@test "berth image prune -f: dangling only, docker's report; unused tagged images stay" {
  local id used
  id=$(make_dangling 7000)
  used=$(make_dangling 2000)
  docker tag "$(make_dangling 1000)" prune/tagged:1
  docker create --name bprune-user "$used" /blob >/dev/null
  run berth image prune -f
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Images:" ]
  [[ $output == *$'\n'"deleted: $id"$'\n'* ]]
  [[ $output != *"$used"* ]]
  [[ $output == *$'\n\n'"Total reclaimed space: "* ]]
  run docker image inspect "$id"
  [ "$status" -ne 0 ]
  docker image inspect "$used" prune/tagged:1 busybox:latest >/dev/null
  # nothing left: only the total, as the docker CLI prints it
  run berth image prune --force
  [ "$status" -eq 0 ]
  [ "$output" = "Total reclaimed space: 0B" ]
  docker rm bprune-user >/dev/null
  docker rmi "$used" prune/tagged:1 >/dev/null
}

@test "berth image prune -a --filter: tagged unused images go (untagged + deleted lines), filters and prompt honoured" {
  local a b
  a=$(make_dangling 1500 -c "LABEL tier=old")
  b=$(make_dangling 2500 -c "LABEL tier=new")
  docker tag "$a" bprune/old:1
  docker tag "$b" bprune/new:1
  docker create --name bprune-bb busybox true >/dev/null
  # label filter: only the old one
  run berth image prune -a -f --filter label=tier=old
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Images:" ]
  [[ $output == *"untagged: bprune/old:1"* ]]
  [[ $output == *"deleted: $a"* ]]
  [[ $output != *"bprune/new"* ]]
  [[ ${lines[-1]} == "Total reclaimed space: 1.5kB" ]]
  docker image inspect bprune/new:1 >/dev/null
  # the prompt: "n" keeps everything, docker's -a warning text
  run berth image prune -a <<<"n"
  [ "$status" -eq 0 ]
  [[ $output == "WARNING! This will remove all images without at least one container associated to them."* ]]
  [[ $output == *"Are you sure you want to continue? [y/N] " ]]
  docker image inspect bprune/new:1 >/dev/null
  # "y": every unused image goes; busybox is used by a container and stays
  run berth image prune -a <<<"y"
  [ "$status" -eq 0 ]
  [[ $output == *"untagged: bprune/new:1"* ]]
  [[ $output == *"deleted: $b"* ]]
  run docker image inspect bprune/new:1
  [ "$status" -ne 0 ]
  docker image inspect busybox:latest >/dev/null
  # bad filters are the daemon's errors; arguments are refused
  run berth image prune -f --filter nosuch=1
  [ "$status" -ne 0 ]
  [[ $output == *"invalid filter 'nosuch'"* ]]
  run berth image prune -f extra
  [ "$status" -eq 1 ]
  [[ $output == *"'berth image prune' accepts no arguments"* ]]
  docker rm bprune-bb >/dev/null
}
