#!/usr/bin/env bats
# End-to-end volumes and mounts through the real docker CLI: named and
# anonymous volumes, copy-up, sharing, in-use refusal, --mount, tmpfs,
# --volumes-from, the local driver's options, bad input.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
  # An image with a VOLUME over content of its own (/etc).
  "$BERTH_BIN/berth" import -c 'CMD ["sh"]' -c 'VOLUME /etc' "$(busybox_tar)" busybox:vol >/dev/null
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  for m in $(grep -o " $BATS_FILE_TMPDIR[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
  stop_berthd
}

@test "a named volume persists across container removal and is shared between two containers" {
  run -0 docker volume create --label owner=t data1
  [ "$output" = data1 ]
  docker run --rm -v data1:/data busybox sh -c 'echo persisted > /data/f'
  run -0 docker run --rm -v data1:/data busybox cat /data/f
  [ "$output" = persisted ]
  docker run -d --name sh1 -v data1:/data busybox sleep 60 >/dev/null
  docker run --rm -v data1:/data busybox sh -c 'echo from-two > /data/g'
  run -0 docker run --rm --volumes-from sh1 busybox cat /data/g
  [ "$output" = from-two ]
  run -0 docker inspect sh1 --format '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}'
  [ "$output" = "volume data1 /data true" ]
  run -0 docker ps --filter volume=data1 --format '{{.Names}}'
  [ "$output" = sh1 ]
  docker rm -f sh1 >/dev/null
}

@test "a volume in use, even by a stopped container, cannot be removed" {
  id=$(docker create -v data2:/d busybox true)
  run docker volume rm data2
  [ "$status" -ne 0 ]
  [[ $output == *"remove data2: volume is in use - [$id]"* ]]
  docker rm "$id" >/dev/null
  run -0 docker volume rm data2
  run docker volume inspect data2
  [[ $output == *"no such volume"* ]]
}

@test "a new named volume is filled with the image's content at its path; nocopy leaves it empty" {
  run -0 docker run --rm -v etcvol:/etc busybox cat /etc/passwd
  [[ $output == *root:* ]]
  [ -f "$(docker volume inspect etcvol --format '{{.Mountpoint}}')/passwd" ]
  run -0 docker run --rm -v emptyvol:/etc:nocopy busybox ls /etc
  [ -z "$output" ]
  run -0 docker run --rm --mount type=volume,source=empty2,target=/etc,volume-nocopy busybox ls /etc
  [ -z "$output" ]
}

@test "an image's VOLUME becomes an anonymous volume filled from the image" {
  id=$(docker create busybox:vol cat /etc/passwd)
  run -0 docker inspect "$id" --format '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}'
  [[ $output =~ ^volume\ /etc\ [0-9a-f]{64}$ ]]
  run -0 docker start -a "$id"
  [[ $output == *root:* ]]
  docker rm -v "$id" >/dev/null
}

@test "anonymous volumes: -v /path and rm -v; --rm removes them" {
  id=$(docker create -v /scratch busybox true)
  name=$(docker inspect "$id" --format '{{range .Mounts}}{{.Name}}{{end}}')
  [[ $name =~ ^[0-9a-f]{64}$ ]]
  run -0 docker volume ls -q
  [[ $output == *"$name"* ]]
  docker rm -v "$id" >/dev/null
  run -0 docker volume ls -q
  [[ $output != *"$name"* ]]
  before=$(docker volume ls -q | wc -l)
  docker run --rm -v /anon busybox true
  [ "$(docker volume ls -q | wc -l)" = "$before" ]
}

@test "binds: -v /host:/path[:ro], --mount type=bind, missing --mount source fails" {
  d=$BATS_TEST_TMPDIR/host
  mkdir -p "$d" && echo on-host > "$d/f"
  run -0 docker run --rm -v "$d:/h:ro" busybox sh -c 'cat /h/f; touch /h/x 2>&1 || true'
  [[ ${lines[0]} == on-host ]]
  [[ $output == *"Read-only file system"* ]]
  run -0 docker run --rm --mount "type=bind,source=$d,target=/h" busybox sh -c 'echo back > /h/g'
  [ "$(cat "$d/g")" = back ]
  run docker run --rm --mount type=bind,source=/nonexistent-berth,target=/x busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"bind source path does not exist: /nonexistent-berth"* ]]
  run -0 docker run --rm --read-only -v "$d:/h" busybox sh -c 'touch /h/rw && touch /not-here 2>&1 || true'
  [[ $output == *"Read-only file system"* ]]
  [ -f "$d/rw" ]
}

@test "tmpfs: --tmpfs and --mount type=tmpfs with size and mode; empty after restart" {
  run -0 docker run --rm --mount type=tmpfs,target=/t,tmpfs-size=1048576,tmpfs-mode=1770 busybox sh -c 'df -k /t | tail -1; stat -c %a /t'
  [[ $output == *"1024 "* ]]
  [[ ${lines[-1]} == 1770 ]]
  docker run -d --name tmp1 --tmpfs /cache busybox sh -c 'ls /cache; echo x > /cache/f; sleep 60' >/dev/null
  docker rm -f tmp1 >/dev/null
  docker run --name tmp2 --tmpfs /cache busybox sh -c 'ls /cache; echo x > /cache/f' >/dev/null
  docker start -a tmp2 >/dev/null 2>&1 || docker start tmp2 >/dev/null
  docker wait tmp2 >/dev/null
  run -0 docker logs tmp2
  [ -z "$output" ]  # both runs saw an empty /cache
  docker rm tmp2 >/dev/null
}

@test "volume ls filters, inspect, prune" {
  docker volume create --label keep=yes kept1 >/dev/null
  docker volume create loose1 >/dev/null
  docker run -d --name holder -v kept1:/k busybox sleep 60 >/dev/null
  run -0 docker volume ls -q --filter label=keep=yes
  [ "$output" = kept1 ]
  run -0 docker volume ls -q --filter name=loose
  [ "$output" = loose1 ]
  run -0 docker volume ls -q --filter dangling=false
  [[ $output == *kept1* && $output != *loose1* ]]
  run -0 docker volume ls -q --filter driver=local
  [[ $output == *kept1* ]]
  run -0 docker volume inspect kept1 --format '{{.Driver}} {{.Labels.keep}} {{.Scope}}'
  [ "$output" = "local yes local" ]
  run -0 docker volume prune -f
  [[ $output == *loose1* ]]
  [[ $output != *kept1* ]]
  docker rm -f holder >/dev/null
}

@test "bad input: volume names, unknown driver options, duplicate mount points" {
  run docker volume create 'bad/name'
  [[ $output == *'"bad/name" includes invalid characters for a local volume name'* ]]
  run docker volume create -o foo=bar optvol
  [[ $output == *'invalid option: "foo"'* ]]
  run docker volume create -d nosuch dv
  [ "$status" -ne 0 ]
  run docker run --rm -v va:/x -v vb:/x busybox true
  [[ $output == *"Duplicate mount point: /x"* ]]
  run -0 docker volume ls -q
  [[ $output != *optvol* ]]
}

@test "local driver options: tmpfs, ext4 on a loop device, bind; nfs fails at the kernel's answer" {
  run -0 docker volume create -o type=tmpfs -o device=tmpfs -o o=size=2m tv
  run -0 docker run --rm -v tv:/t busybox sh -c 'df -k /t | tail -1'
  [[ $output == tmpfs*2048* ]]
  img=$BATS_FILE_TMPDIR/ext4.img
  truncate -s 16M "$img"
  mkfs.ext4 -q -F "$img"
  loop=$(losetup -f --show "$img")
  run -0 docker volume create -o type=ext4 -o device="$loop" ev
  docker run --rm -v ev:/e busybox sh -c 'echo on-ext4 > /e/f'
  mp=$(docker volume inspect ev --format '{{.Mountpoint}}')
  run -0 findmnt -n -o FSTYPE "$mp"
  [ "$output" = ext4 ]
  docker volume rm ev >/dev/null
  mkdir -p "$BATS_FILE_TMPDIR/m" && mount "$loop" "$BATS_FILE_TMPDIR/m"
  [ "$(cat "$BATS_FILE_TMPDIR/m/f")" = on-ext4 ]
  umount "$BATS_FILE_TMPDIR/m"
  losetup -d "$loop"
  d=$BATS_TEST_TMPDIR/bsrc && mkdir -p "$d" && echo bound > "$d/f"
  run -0 docker volume create -o type=none -o o=bind -o device="$d" bv
  run -0 docker run --rm -v bv:/b busybox cat /b/f
  [ "$output" = bound ]
  run -0 docker volume create -o type=nfs -o o=addr=127.0.0.1,rw -o device=:/export nv
  run docker run --rm -v nv:/n busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"failed to mount local volume: mount :/export:"*"data: addr=127.0.0.1"*"No such device"* ]]
  docker volume rm tv bv nv >/dev/null
}

@test "berth CLI: volume create/ls/inspect/rm" {
  berth() { "$BERTH_BIN/berth" "$@"; }
  run -0 berth volume create --label x=y clivol
  [ "$output" = clivol ]
  run -0 berth volume ls
  [[ ${lines[0]} == "DRIVER"*"VOLUME NAME"* ]]
  [[ $output == *"local"*"clivol"* ]]
  run -0 berth volume inspect --format '{{.Name}} {{.Labels.x}}' clivol
  [ "$output" = "clivol y" ]
  run -0 berth volume rm clivol
  [ "$output" = clivol ]
}
