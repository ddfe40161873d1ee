#!/usr/bin/env bats
# End-to-end: docker import --change/--message/--platform, from stdin, a
# file and a URL (dockerd downloads it; here a python3 http.server on
# 127.0.0.1), and the errors dockerd gives.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  IMG_WWW=$(mktemp -d /tmp/img-www.XXXXXX)
  cp "$(busybox_tar)" "$IMG_WWW/busybox.tar"
  gzip -c "$IMG_WWW/busybox.tar" > "$IMG_WWW/busybox.tar.gz"
  IMG_WWW_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory "$IMG_WWW" "$IMG_WWW_PORT" >"$IMG_WWW.log" 2>&1 &
  IMG_WWW_PID=$!
  export IMG_WWW IMG_WWW_PORT IMG_WWW_PID
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$IMG_WWW_PORT/busybox.tar" && break
    sleep 0.05
  done
}

teardown_file() {
  [[ -z ${IMG_WWW_PID:-} ]] || kill "$IMG_WWW_PID" 2>/dev/null || true
  rm -rf "${IMG_WWW:-/nonexistent}" "${IMG_WWW:-/nonexistent}.log"
  stop_berthd
}

@test "docker import URL downloads the archive, with --change and --message" {
  run docker import -c 'CMD ["echo", "from-url"]' -c 'ENV A=b' -m 'fetched over http' \
    "http://127.0.0.1:$IMG_WWW_PORT/busybox.tar.gz" imp/url:1
  [ "$status" -eq 0 ]
  [[ $output =~ sha256:[0-9a-f]{64} ]]
  run docker run --rm imp/url:1
  [ "$output" = "from-url" ]
  run docker image inspect -f '{{.Comment}}|{{json .Config.Env}}' imp/url:1
  [ "$output" = 'fetched over http|["A=b"]' ]
  run docker history --format '{{.Comment}}' imp/url:1
  [ "$output" = "fetched over http" ]
  grep -q 'GET /busybox.tar.gz' "$IMG_WWW.log"
}

@test "import URL without --message records 'Imported from <url>'; the API streams Docker's messages" {
  run bash -c "curl -s --unix-socket '$BERTHD_SOCK' -X POST \
    'http://x/v1.41/images/create?fromSrc=http://127.0.0.1:$IMG_WWW_PORT/busybox.tar&repo=imp/url2&tag=t' | tr -d '\r'"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == '{"progressDetail":{},"status":"Downloading from http://127.0.0.1:'$IMG_WWW_PORT'/busybox.tar"}' ]]
  [[ $output == *'"status":"Importing"'* ]]
  [[ ${lines[-1]} =~ \"status\":\"sha256:[0-9a-f]{64}\" ]]
  run docker image inspect -f '{{.Comment}}' imp/url2:t
  [ "$output" = "Imported from http://127.0.0.1:$IMG_WWW_PORT/busybox.tar" ]
}

@test "import URL failures: 404 and a refused connection fail, nothing is created" {
  local before
  before=$(docker images -aq | wc -l)
  run docker import "http://127.0.0.1:$IMG_WWW_PORT/missing.tar" imp/missing:1
  [ "$status" -ne 0 ]
  [[ $output == *"failed to GET http://127.0.0.1:$IMG_WWW_PORT/missing.tar with status 404"* ]]
  run docker import "http://127.0.0.1:1/x.tar" imp/missing:2
  [ "$status" -ne 0 ]
  [[ $output == *"Get \"http://127.0.0.1:1/x.tar\""* ]]
  [ "$(docker images -aq | wc -l)" -eq "$before" ]
  # a bad --change is refused before any download
  run docker import -c 'RUN true' "http://127.0.0.1:$IMG_WWW_PORT/busybox.tar" imp/missing:3
  [ "$status" -ne 0 ]
  [[ $output == *"run is not a valid change command"* ]]
  [ "$(docker images -aq | wc -l)" -eq "$before" ]
  [ -z "$(ls "$BERTHD_DIR/data/overlay" | grep '^\.tmp' || true)" ]
}

@test "docker import --platform sets os/architecture/variant; other OSes are refused" {
  run docker import --platform linux/arm64 "$(busybox_tar)" imp/arm:1
  [ "$status" -eq 0 ]
  run docker image inspect -f '{{.Os}}/{{.Architecture}}' imp/arm:1
  [ "$output" = "linux/arm64" ]
  run docker import --platform linux/arm/v6 - imp/arm6:1 < "$(busybox_tar)"
  [ "$status" -eq 0 ]
  run docker image inspect -f '{{.Architecture}}|{{.Variant}}' imp/arm6:1
  [ "$output" = "arm|v6" ]
  run docker import --platform windows/amd64 "$(busybox_tar)" imp/win:1
  [ "$status" -ne 0 ]
  [[ $output == *"operating system is not supported"* ]]
  run docker import --platform foo/bar "$(busybox_tar)" imp/bad:1
  [ "$status" -ne 0 ]
  [[ $output == *'"foo/bar": unknown operating system or architecture: invalid argument'* ]]
  # default: this host's
  run docker import "$(busybox_tar)" imp/host:1
  run docker image inspect -f '{{.Os}}/{{.Architecture}}' imp/host:1
  [ "$output" = "linux/amd64" ]
}

@test "import from stdin with --message and --change" {
  run docker import -m 'from stdin' -c 'WORKDIR /tmp' - imp/stdin:1 < "$(busybox_tar)"
  [ "$status" -eq 0 ]
  run docker image inspect -f '{{.Comment}}|{{.Config.WorkingDir}}' imp/stdin:1
  [ "$output" = "from stdin|/tmp" ]
  run docker run --rm imp/stdin:1 pwd
  [ "$output" = "/tmp" ]
}

@test "import from stdin of a tar cut at a block boundary fails and creates nothing" {
  local cut=$BATS_TEST_TMPDIR/cut.tar n
  # Cut the busybox tar after the header block of its 10th entry: every
  # byte before is whole 512-byte blocks, and the end-of-archive blocks are gone.
  n=$(python3 - "$(busybox_tar)" "$cut" <<'PY'
import sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t:
    members = t.getmembers()
    off = members[10].offset  # header of the 11th entry: whole entries before it
with open(src, 'rb') as f, open(dst, 'wb') as o:
    o.write(f.read(off))
print(off % 512)
PY
)
  [ "$n" = 0 ]
  local before
  before=$(docker images -aq | wc -l)
  run docker import - imp/cut:1 < "$cut"
  [ "$status" -ne 0 ]
  [[ $output == *"truncated"* ]]
  run docker image inspect imp/cut:1
  [ "$status" -ne 0 ]
  [ "$(docker images -aq | wc -l)" = "$before" ]
  # the whole archive through the same path still imports
  run docker import - imp/cut:whole < "$(busybox_tar)"
  [ "$status" -eq 0 ]
}
