#!/usr/bin/env bats
# End-to-end (docker CLI 28 and curl on the socket): docker cp both ways on
# running and stopped containers (the archive API with its path-stat
# header), docker export/import round trip, ps -s sizes, the ps filters,
# --cidfile, and --ipc shareable / container:X sharing /dev/shm.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
  export T=$(mktemp -d /tmp/ctr-archive.XXXXXX)
}

teardown_file() {
  stop_berthd
  rm -rf "$T"
}

sock() { echo "${DOCKER_HOST#unix://}"; }
api() { curl -sS --unix-socket "$(sock)" "$@"; }
stat_header() {  # PATH → the decoded X-Docker-Container-Path-Stat of HEAD
  api -I "http://x/v1.41/containers/$1/archive?path=$2" | tr -d '\r' |
    sed -n 's/^X-Docker-Container-Path-Stat: //Ip' | base64 -d
}

@test "archive HEAD: Docker's path stat (Go file mode, symlink target resolved in the container)" {
  docker run -d --name st busybox sh -c 'mkdir -p /d/sub; printf hi > /d/a; ln -s /d /ld; ln -s a /d/la; sleep 300'
  sleep 0.5
  run stat_header st /d
  [[ $output == '{"name":"d","size":'*',"mode":2147484141,"mtime":"'*'Z","linkTarget":""}' ]]
  run stat_header st /d/a
  [[ $output == '{"name":"a","size":2,"mode":420,'* ]]
  run stat_header st /d/la
  [[ $output == '{"name":"la","size":1,"mode":134218239,'*'"linkTarget":"/d/a"}' ]]
  run stat_header st /ld/
  [[ $output == '{"name":"ld",'*'"mode":2147484141,'* ]]
  run stat_header st /d/.
  [[ $output == '{"name":".",'* ]]
  run api -o /dev/null -w '%{http_code}' -I "http://x/v1.41/containers/st/archive?path=/nope"
  [ "$output" = 404 ]
  run api "http://x/v1.41/containers/st/archive?path=/nope"
  [ "$output" = '{"message":"Could not find the file /nope in container st"}' ]
  run api -w '%{http_code}' "http://x/v1.41/containers/st/archive"
  [[ $output == *'"bad parameter: pathcannot be empty"'*400 ]]
}

@test "archive GET: entry names follow Docker's rules for /., trailing /, symlinks" {
  run bash -c "curl -sS --unix-socket $(sock) 'http://x/v1.41/containers/st/archive?path=/d' | tar t"
  [ "$output" = $'d/\nd/a\nd/la\nd/sub/' ]
  run bash -c "curl -sS --unix-socket $(sock) 'http://x/v1.41/containers/st/archive?path=/d/.' | tar t"
  [ "$output" = $'./\n./a\n./la\n./sub/' ]
  run bash -c "curl -sS --unix-socket $(sock) 'http://x/v1.41/containers/st/archive?path=/ld/' | tar t"
  [ "$output" = $'ld/\nld/a\nld/la\nld/sub/' ]
  run bash -c "curl -sS --unix-socket $(sock) 'http://x/v1.41/containers/st/archive?path=/ld' | tar tv"
  [[ $output == *"ld -> /d" ]]
  # ../ cannot climb out of the container.
  run bash -c "curl -sS --unix-socket $(sock) 'http://x/v1.41/containers/st/archive?path=/../../../../d/a' | tar xO"
  [ "$output" = hi ]
}

@test "docker cp container → host: file, dir, dir/., stdout tar, missing path" {
  docker cp st:/d/a "$T/a"
  [ "$(cat "$T/a")" = hi ]
  docker cp st:/d "$T/dcopy"
  [ "$(cat "$T/dcopy/a")" = hi ]
  [ -d "$T/dcopy/sub" ]
  [ "$(readlink "$T/dcopy/la")" = a ]
  mkdir "$T/into"
  docker cp st:/d/. "$T/into"
  [ "$(cat "$T/into/a")" = hi ]
  run bash -c "docker cp st:/d/a - | tar tv"
  [[ $output == *"-rw-r--r--"*" a" ]]
  run docker cp st:/d/nope "$T/x"
  [ "$status" -eq 1 ]
  [[ $output == *"Could not find the file /d/nope in container st"* ]]
}

@test "docker cp host → container: file, dir, into dir, errors as Docker's" {
  echo payload > "$T/f"
  docker cp "$T/f" st:/d/
  [ "$(docker exec st cat /d/f)" = payload ]
  docker cp "$T/f" st:/d/renamed
  [ "$(docker exec st cat /d/renamed)" = payload ]
  mkdir -p "$T/tree/deep"; echo x > "$T/tree/deep/y"
  docker cp "$T/tree" st:/newtree
  [ "$(docker exec st cat /newtree/deep/y)" = x ]
  # through a symlinked directory
  docker cp "$T/f" st:/ld/vialink
  [ "$(docker exec st cat /d/vialink)" = payload ]
  run docker cp "$T/f" st:/nodir/b
  [ "$status" -eq 1 ]
  [[ $output == *"Could not find the file /nodir in container st"* ]]
  run docker cp "$T/f" st:/d/a/b
  [ "$status" -eq 1 ]
  [[ $output == *"extraction point is not a directory"* ]]
}

@test "archive PUT refused early: a client still sending the body gets the answer, not EPIPE" {
  # The daemon answers before reading the 8 MB body; it must let the client
  # finish writing before it closes (docker cp saw "write: broken pipe").
  run python3 - "$(sock)" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
size = 8 << 20
s.sendall(("PUT /v1.41/containers/st/archive?path=/d/a HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/x-tar\r\nContent-Length: %d\r\n\r\n" % size).encode())
try:
    s.sendall(b"\0" * size)
except OSError as e:
    sys.exit("send failed: %s" % e)
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
print(body.decode())
PY
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "HTTP/1.1 500 Internal Server Error" ]
  [ "${lines[1]}" = '{"message":"extraction point is not a directory"}' ]
  # the daemon keeps serving
  [ "$(docker exec st cat /d/a)" = hi ]
}

@test "archive PUT: noOverwriteDirNonDir, archives cannot write outside the container" {
  mkdir -p "$T/p1/sub"; tar cf "$T/dir-sub.tar" -C "$T/p1" sub
  # /d/a is a file: a directory named a over it is refused with the flag.
  mkdir -p "$T/p2/a"; tar cf "$T/dir-a.tar" -C "$T/p2" a
  run api -w '%{http_code}' -X PUT -T "$T/dir-a.tar" "http://x/v1.41/containers/st/archive?path=/d&noOverwriteDirNonDir=true"
  [[ $output == *'cannot overwrite non-directory \"/d/a\" with directory \"/d\"'*500 ]]
  [ "$(docker exec st cat /d/a)" = hi ]
  # hostile archives: "../" above the destination is refused; absolute
  # names and symlinks resolve inside the destination, never on the host.
  python3 - "$T" <<'PY'
import io, sys, tarfile
def add(t, name, data=b"pwned"):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
t = tarfile.open(sys.argv[1] + "/evil1.tar", "w")
add(t, "../../../../tmp/ctr-escape-1")
t.close()
t = tarfile.open(sys.argv[1] + "/evil2.tar", "w")
add(t, "/tmp/ctr-escape-2")
l = tarfile.TarInfo("esc"); l.type = tarfile.SYMTYPE; l.linkname = "/tmp"; t.addfile(l)
add(t, "esc/ctr-escape-3")
t.close()
PY
  run api -w '%{http_code}' -X PUT -T "$T/evil1.tar" "http://x/v1.41/containers/st/archive?path=/d"
  [[ $output == *"path escapes"*400 ]]
  run api -w '%{http_code}' -X PUT -T "$T/evil2.tar" "http://x/v1.41/containers/st/archive?path=/d"
  [[ $output == *200 ]]
  [ ! -e /tmp/ctr-escape-1 ] && [ ! -e /tmp/ctr-escape-2 ] && [ ! -e /tmp/ctr-escape-3 ]
  run docker exec st ls /tmp/ctr-escape-1
  [ "$status" -ne 0 ]
  [ "$(docker exec st cat /d/tmp/ctr-escape-2)" = pwned ]
  [ "$(docker exec st cat /d/tmp/ctr-escape-3)" = pwned ]
}

@test "docker cp on a stopped container, both ways, and volumes through their source" {
  docker volume create cpvol
  docker run -d --name sv -v cpvol:/vol busybox sh -c 'echo invol > /vol/v; echo inroot > /r; sleep 300'
  sleep 0.5
  docker cp sv:/vol/v "$T/v"
  [ "$(cat "$T/v")" = invol ]
  docker stop -t 0 sv
  docker cp sv:/r "$T/r"
  [ "$(cat "$T/r")" = inroot ]
  docker cp sv:/vol/v "$T/v2"
  [ "$(cat "$T/v2")" = invol ]
  echo new > "$T/n"
  docker cp "$T/n" sv:/vol/
  docker cp "$T/n" sv:/etc/
  [ "$(docker run --rm -v cpvol:/vol busybox cat /vol/n)" = new ]
  docker start sv
  [ "$(docker exec sv cat /etc/n)" = new ]
  docker rm -f sv
}

@test "docker cp sees file binds and nested binds as the container does; never detaches a mount" {
  echo hostfile > "$T/hf"
  mkdir -p "$T/hd" "$T/src/bd"
  echo nested > "$T/src/bd/y"
  docker run -d --name fb -v "$T/hf:/etc/bound" -v "$T/hd:/mnt/bd" busybox sleep 300
  for state in running stopped; do
    # a file bind reads as the host file, not the empty mount point
    [ "$(docker cp fb:/etc/bound - | tar xO)" = hostfile ]
    # copying a tree into /mnt writes bd/y through the nested bind
    rm -f "$T/hd/y"
    docker cp "$T/src/." fb:/mnt/
    [ "$(cat "$T/hd/y")" = nested ]
    # replacing a file bind fails as dockerd's does (EBUSY), host file intact
    echo new > "$T/new"
    run docker cp "$T/new" fb:/etc/bound
    [ "$status" -eq 1 ]
    [[ $output == *"Device or resource busy"* ]]
    [ "$(cat "$T/hf")" = hostfile ]
    if [ $state = running ]; then
      # the container still has its bind (a replace from outside its mount
      # namespace would have detached it)
      [ "$(docker exec fb cat /etc/bound)" = hostfile ]
      docker exec fb grep -q ' /etc/bound ' /proc/self/mountinfo
      docker stop -t 0 fb
    fi
  done
  # the stopped container's binds were made in a private namespace only
  run grep -c "$T" /proc/self/mountinfo
  [ "$output" = 0 ]
  # a created, never started container: cp reaches its named volume
  docker create --name fc -v cpvol2:/data busybox
  docker cp "$T/new" fc:/data/
  [ "$(docker run --rm -v cpvol2:/data busybox cat /data/new)" = new ]
  docker rm -f fb fc
}

@test "a start during docker cp from a stopped container waits for the copy; both work" {
  docker run --name cs busybox sh -c 'if [ -f /big ]; then sleep 1; cat /marker; else dd if=/dev/zero of=/big bs=1M count=24 2>/dev/null; echo up > /marker; fi'
  # a slow reader keeps the copy (and the rootfs it mounted) busy ~3 s
  curl -sS --limit-rate 8M --unix-socket "$(sock)" "http://x/v1.41/containers/cs/archive?path=/big" > "$T/big.tar" &
  cp_pid=$!
  sleep 0.5
  docker start cs
  wait "$cp_pid"
  [ "$(tar xOf "$T/big.tar" big | wc -c)" = 25165824 ]
  # the second run saw its own rootfs (not one unmounted under it)
  [ "$(docker wait cs)" = 0 ]
  [ "$(docker logs cs)" = up ]
  [ "$(docker cp cs:/marker - | tar xO)" = up ]
  docker rm cs
}

@test "docker export: the merged rootfs as a tar that docker import round-trips" {
  docker run --name ex busybox sh -c 'echo exported > /marker; rm /bin/vi'
  docker export ex > "$T/ex.tar"
  run tar tf "$T/ex.tar"
  [[ $output == *$'\nmarker\n'* || $output == marker$'\n'* ]]
  [[ $output == *"bin/busybox"* ]]
  [[ $output != *"bin/vi"* ]]
  [[ $output != ./* ]]
  docker export -o "$T/ex2.tar" ex
  cmp "$T/ex.tar" "$T/ex2.tar"
  docker import "$T/ex.tar" roundtrip:1
  [ "$(docker run --rm roundtrip:1 cat /marker)" = exported ]
  run docker run --rm roundtrip:1 ls /bin/vi
  [ "$status" -ne 0 ]
  run docker export nosuch
  [ "$status" -eq 1 ]
  [[ $output == *"No such container: nosuch"* ]]
  docker rm ex
}

@test "ps -s and inspect --size: SizeRw from the upper dir, SizeRootFs with the image" {
  docker run -d --name sz busybox sh -c 'head -c 100000 /dev/zero > /big; sleep 300'
  sleep 0.5
  run docker ps -s --filter name=sz --format '{{.Size}}'
  [[ $output == 10?*kB" (virtual "*B")" ]]
  run docker inspect --size -f '{{.SizeRw}} {{.SizeRootFs}}' sz
  rw=${output% *}; root=${output#* }
  [ "$rw" -ge 100000 ] && [ "$rw" -lt 110000 ]
  [ "$root" -gt "$rw" ]
  run api "http://x/v1.41/containers/json?size=1&filters=%7B%22name%22%3A%5B%22sz%22%5D%7D"
  [[ $output == *'"SizeRw":1000'* && $output == *'"SizeRootFs":'* ]]
  run api "http://x/v1.41/containers/json?filters=%7B%22name%22%3A%5B%22sz%22%5D%7D"
  [[ $output != *SizeRw* ]]
  docker rm -f sz
}

@test "ps filters: publish, expose (ranges, protocols), is-task, isolation, unknown → Docker's 400" {
  docker run -d --name pub -p 127.0.0.1::8080 --expose 9000-9001/udp busybox sleep 300
  docker run -d --name nopub busybox sleep 300
  run docker ps --filter publish=8080 --format '{{.Names}}'
  [ "$output" = pub ]
  run docker ps --filter publish=8080/tcp --format '{{.Names}}'
  [ "$output" = pub ]
  run docker ps --filter publish=8000-8100 --format '{{.Names}}'
  [ "$output" = pub ]
  run docker ps --filter publish=8080/udp --format '{{.Names}}'
  [ "$output" = "" ]
  run docker ps --filter expose=9001/udp --format '{{.Names}}'
  [ "$output" = pub ]
  run docker ps --filter expose=9001 --format '{{.Names}}'
  [ "$output" = "" ]
  run docker ps --filter is-task=true --format '{{.Names}}'
  [ "$output" = "" ]
  run docker ps --filter is-task=false --filter name=^pub$ --format '{{.Names}}'
  [ "$output" = pub ]
  run docker ps --filter isolation=default --filter name=nopub --format '{{.Names}}'
  [ "$output" = nopub ]
  run docker ps --filter bogus=1
  [ "$status" -eq 1 ]
  [[ $output == *"Invalid filter 'bogus'"* ]]
  run docker ps --filter publish=x
  [[ $output == *'error while looking up for publish x: strconv.ParseUint: parsing "x": invalid syntax'* ]]
  run docker ps --filter publish=1:2
  [[ $output == *"filter for 'publish' should not contain ':': 1:2"* ]]
  run docker ps --filter is-task=maybe
  [[ $output == *"Invalid filter 'is-task=[maybe]'"* ]]
  docker rm -f pub nopub
}

@test "--cidfile: the docker CLI writes the ID, refuses an existing file; berthd accepts what it sends" {
  docker run -d --cidfile "$T/cid" --name cidc busybox sleep 300
  [ "$(cat "$T/cid")" = "$(docker inspect -f '{{.Id}}' cidc)" ]
  run docker run --cidfile "$T/cid" busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"container ID file found, make sure the other container isn't running or delete $T/cid"* ]]
  docker rm -f cidc
}

@test "--ipc shareable / container:X share /dev/shm; a private donor is refused as Docker" {
  docker run -d --name shm1 --ipc shareable busybox sleep 300
  docker exec shm1 sh -c 'echo shared > /dev/shm/f'
  run docker run --rm --ipc container:shm1 busybox cat /dev/shm/f
  [ "$output" = shared ]
  run docker run --rm --ipc container:shm1 busybox sh -c 'echo back > /dev/shm/g'
  [ "$(docker exec shm1 cat /dev/shm/g)" = back ]
  # same IPC namespace too
  [ "$(docker run --rm --ipc container:shm1 busybox readlink /proc/self/ns/ipc)" = "$(docker exec shm1 readlink /proc/self/ns/ipc)" ]
  docker run -d --name shm2 busybox sleep 300
  run docker run --rm --ipc container:shm2 busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"non-shareable IPC (hint: use IpcMode:shareable for the donor container)"* ]]
  id=$(docker inspect -f '{{.Id}}' shm1)
  grep -q "containers/$id/mounts/shm" /proc/self/mountinfo
  docker rm -f shm1 shm2
  run grep -c "containers/$id/mounts/shm" /proc/self/mountinfo
  [ "$output" = 0 ]
}
