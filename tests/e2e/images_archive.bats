#!/usr/bin/env bats
# End-to-end: docker save / docker load through the real docker CLI against
# berthd (Docker archive and OCI layout, gzip input, several images in one
# archive), a round trip through a private real dockerd, and hostile
# archives that must be refused without leaving anything behind.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
  docker tag busybox:latest img-arch/second:v2
  export TMPD=$(mktemp -d /tmp/img-arch.XXXXXX)
}

teardown_file() {
  stop_berthd
  rm -rf "$TMPD"
}

no_leftovers() {
  ! ls "$BERTHD_DIR/data/overlay" | grep -q '^\.tmp-layer-' || false
}

@test "docker save writes Docker's archive and the OCI layout" {
  run docker save -o "$TMPD/bb.tar" busybox:latest
  [ "$status" -eq 0 ]
  run tar -tf "$TMPD/bb.tar"
  [[ $output == *"manifest.json"* ]]
  [[ $output == *"repositories"* ]]
  [[ $output == *"/layer.tar"* ]]
  [[ $output == *"index.json"* ]]
  [[ $output == *"oci-layout"* ]]
  local id
  id=$(docker image inspect -f '{{.Id}}' busybox:latest)
  [[ $output == *"${id#sha256:}.json"* ]]
  # the layer tar is the exact diff: its sha256 is the config's diff ID
  tar -xOf "$TMPD/bb.tar" manifest.json > "$TMPD/m.json"
  local layer diff
  layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$TMPD/m.json")
  diff=$(docker image inspect -f '{{index .RootFS.Layers 0}}' busybox:latest)
  [ "sha256:$(tar -xOf "$TMPD/bb.tar" "$layer" | sha256sum | cut -d' ' -f1)" = "$diff" ]
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m[0]["RepoTags"]==["busybox:latest"], m' "$TMPD/m.json"
}

@test "docker load of a saved archive restores the same image (and from gzip on stdin)" {
  local id
  id=$(docker image inspect -f '{{.Id}}' busybox:latest)
  docker save -o "$TMPD/bb.tar" busybox:latest
  docker rmi img-arch/second:v2 busybox:latest >/dev/null
  run docker image inspect busybox:latest
  [ "$status" -ne 0 ]
  run docker load -i "$TMPD/bb.tar"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: busybox:latest"* ]]
  [ "$(docker image inspect -f '{{.Id}}' busybox:latest)" = "$id" ]
  run docker run --rm busybox:latest echo loaded-ok
  [ "$output" = "loaded-ok" ]
  docker rmi busybox:latest >/dev/null
  gzip -c "$TMPD/bb.tar" > "$TMPD/bb.tar.gz"
  run docker load < "$TMPD/bb.tar.gz"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: busybox:latest"* ]]
  [ "$(docker image inspect -f '{{.Id}}' busybox:latest)" = "$id" ]
  docker tag busybox:latest img-arch/second:v2
  no_leftovers
}

@test "several images in one archive load into a second daemon" {
  printf 'FROM scratch\n' >/dev/null
  # a second, different image: busybox plus --change
  docker import -c 'ENV X=1' "$(busybox_tar)" img-arch/third:v3 >/dev/null
  run docker save -o "$TMPD/multi.tar" busybox:latest img-arch/second:v2 img-arch/third:v3
  [ "$status" -eq 0 ]
  local d2 pid
  d2=$(mktemp -d /tmp/img-arch-d2.XXXXXX)
  echo '{}' > "$d2/daemon.json"
  scratch_net_flags
  "$BERTH_BIN/berthd" -H "unix://$d2/s" --data-root "$d2/data" --exec-root "$d2/exec" --pidfile "$d2/pid" \
    --config-file "$d2/daemon.json" $SCRATCH_NET_FLAGS >"$d2/log" 2>&1 &
  pid=$!
  wait_for_ping "$d2/s"
  run env DOCKER_HOST="unix://$d2/s" docker load -i "$TMPD/multi.tar"
  local out=$output st=$status
  local tags
  tags=$(DOCKER_HOST="unix://$d2/s" docker images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')
  local envx
  envx=$(DOCKER_HOST="unix://$d2/s" docker image inspect -f '{{json .Config.Env}}' img-arch/third:v3)
  kill "$pid"; wait "$pid" || true
  drop_scratch_net
  rm -rf "$d2"
  [ "$st" -eq 0 ]
  [[ $out == *"Loaded image: busybox:latest"* ]]
  [[ $out == *"Loaded image: img-arch/second:v2"* ]]
  [[ $out == *"Loaded image: img-arch/third:v3"* ]]
  [ "$tags" = "busybox:latest img-arch/second:v2 img-arch/third:v3 " ]
  [[ $envx == *'"X=1"'* ]]
}

@test "an OCI-layout-only archive loads, tagged from its annotations" {
  docker save -o "$TMPD/bb.tar" busybox:latest
  python3 - "$TMPD/bb.tar" "$TMPD/oci.tar" <<'PY'
import sys, tarfile
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')
for m in src.getmembers():
    if m.name in ('manifest.json', 'repositories') or m.name.endswith('.json') and '/' not in m.name and m.name != 'index.json':
        continue
    if m.isfile():
        dst.addfile(m, src.extractfile(m))
    else:
        dst.addfile(m)
dst.close()
PY
  run tar -tf "$TMPD/oci.tar"
  [[ $output != *"manifest.json"* ]]
  docker rmi img-arch/second:v2 busybox:latest >/dev/null
  run docker load -i "$TMPD/oci.tar"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: busybox:latest"* ]]
  docker run --rm busybox:latest true
  docker tag busybox:latest img-arch/second:v2
}

hostile_archive() {  # $1 = kind, $2 = output
  python3 - "$1" "$2" <<'PY'
import hashlib, io, json, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
def tarbytes(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w') as t:
        for e in entries:
            t.addfile(e[0], io.BytesIO(e[1]) if len(e) > 1 else None)
    return b.getvalue()
def reg(name, data, mode=0o644):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode; return (i, data)
def sym(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return (i,)
def hard(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; return (i,)
if kind == 'slip':
    layer = tarbytes([reg('../../../../tmp/img-arch-escaped', b'pwned')])
elif kind == 'symlink':
    layer = tarbytes([sym('etc', '/tmp'), reg('etc/img-arch-escaped', b'pwned')])
elif kind == 'hardlink':
    layer = tarbytes([hard('passwd', '/etc/passwd')])
else:
    layer = tarbytes([reg('ok', b'fine')])
diff = 'sha256:' + hashlib.sha256(layer).hexdigest()
if kind == 'diffid':
    diff = 'sha256:' + '1' * 64
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                  'rootfs': {'type': 'layers', 'diff_ids': [diff]}}).encode()
cname = hashlib.sha256(cfg).hexdigest() + '.json'
lname = '../../layer.tar' if kind == 'manifestpath' else 'l1/layer.tar'
man = json.dumps([{'Config': cname, 'RepoTags': ['img-arch/hostile:' + kind], 'Layers': [lname]}]).encode()
with tarfile.open(out, 'w') as t:
    for name, data in ((cname, cfg), ('l1/layer.tar', layer), ('manifest.json', man)):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
}

@test "hostile archives are refused and leave nothing behind" {
  rm -f /tmp/img-arch-escaped
  local before
  before=$(docker images -q | sort | tr '\n' ' ')
  for kind in slip symlink hardlink diffid manifestpath; do
    hostile_archive "$kind" "$TMPD/h-$kind.tar"
    run docker load -i "$TMPD/h-$kind.tar"
    echo "$kind: $output"
    case $kind in
      slip) [[ $output == *"path escapes the layer root"* ]] ;;
      hardlink) [[ $output == *"is not in the layer"* ]] ;;
      diffid) [[ $output == *"has diff ID"* ]] ;;
      manifestpath) [[ $output == *"missing entry"* ]] ;;
      symlink) [[ $output == *"is not a directory"* ]] ;;
    esac
    # (symlink: etc -> /tmp resolves inside the layer, where there is no
    # /tmp, so the file has no parent and the layer is refused)
    [ "$status" -ne 0 ]
    [ ! -e /tmp/img-arch-escaped ]
    no_leftovers
  done
  [ "$(docker images -q | sort | tr '\n' ' ')" = "$before" ]
}

@test "load of something that is not an archive: clear error" {
  head -c 3000 /dev/urandom > "$TMPD/junk"
  run docker load -i "$TMPD/junk"
  [ "$status" -ne 0 ]
  [[ $output == *"invalid archive"* ]]
  gzip -c "$TMPD/bb.tar" | head -c 5000 > "$TMPD/trunc.tar.gz"
  run docker load -i "$TMPD/trunc.tar.gz"
  [ "$status" -ne 0 ]
  no_leftovers
}

@test "an archive saved by berth loads into a real dockerd, and dockerd's save loads into berth" {
  command -v dockerd >/dev/null || skip "no dockerd"
  local dd=/tmp/img-dd.$$
  mkdir -p "$dd"
  dockerd --data-root "$dd/root" --exec-root "$dd/exec" -H "unix://$dd/sock" --pidfile "$dd/pid" \
    --bridge=none --iptables=false >"$dd/log" 2>&1 &
  local dpid=$!
  local i
  for ((i = 0; i < 300; i++)); do DOCKER_HOST="unix://$dd/sock" docker version >/dev/null 2>&1 && break; sleep 0.1; done
  docker save -o "$TMPD/to-docker.tar" busybox:latest
  local id
  id=$(docker image inspect -f '{{.Id}}' busybox:latest)
  run env DOCKER_HOST="unix://$dd/sock" docker load -i "$TMPD/to-docker.tar"
  local st1=$status out1=$output
  local id_docker
  id_docker=$(DOCKER_HOST="unix://$dd/sock" docker image inspect -f '{{.Id}}' busybox:latest 2>&1)
  DOCKER_HOST="unix://$dd/sock" docker tag busybox:latest img-arch/from-docker:v1
  DOCKER_HOST="unix://$dd/sock" docker save -o "$TMPD/from-docker.tar" img-arch/from-docker:v1
  kill "$dpid"; wait "$dpid" || true
  umount "$dd/root/overlay2" 2>/dev/null || true
  rm -rf "$dd"
  [ "$st1" -eq 0 ]
  [[ $out1 == *"Loaded image: busybox:latest"* ]]
  [ "$id_docker" = "$id" ]
  run docker load -i "$TMPD/from-docker.tar"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: img-arch/from-docker:v1"* ]]
  [ "$(docker image inspect -f '{{.Id}}' img-arch/from-docker:v1)" = "$id" ]
}

@test "berth CLI: save -o and load -i round trip" {
  local b="$BERTH_BIN/berth" id
  id=$(docker image inspect -f '{{.Id}}' img-arch/second:v2)
  run "$b" save -o "$TMPD/cli.tar" img-arch/second:v2
  [ "$status" -eq 0 ]
  [ -s "$TMPD/cli.tar" ]
  docker rmi img-arch/second:v2 >/dev/null
  run "$b" load -i "$TMPD/cli.tar"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: img-arch/second:v2"* ]]
  [ "$(docker image inspect -f '{{.Id}}' img-arch/second:v2)" = "$id" ]
}
