#!/usr/bin/env bash
# Benchmark: image transfer against Debian's docker-registry on 127.0.0.1.
#  1. pull of a 256 MB image (4 layers of random data) and of a many-layer
#     image (30 small layers), berth vs Debian's dockerd (private, started
#     here on throwaway dirs, stopped by PID) — each run starts from an
#     empty local store (rmi, which also drops the layer blobs);
#  2. push of the same images to a fresh repository (registry blobs wiped
#     before each run, so every layer is uploaded);
#  3. save and load of the 256 MB image.
# Podman (if installed) is an optional third column: storage under a
# throwaway --root/--runroot, --tls-verify=false against the local registry.
# Prints hyperfine medians and MB/s, and the berth/docker (and berth/podman)
# throughput ratios.
#   usage: bench/image_pull_push.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source tests/helpers/berth.bash
command -v hyperfine >/dev/null || { echo "needs hyperfine" >&2; exit 1; }
out=$(mktemp -d /tmp/berth-bench-img.XXXXXX)

DPID= DDIR= PDIR=
finish() {
  set +e
  if [[ -n $PDIR ]]; then
    podman --root "$PDIR/root" --runroot "$PDIR/run" system reset -f >/dev/null 2>&1
    { grep -o " $PDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$PDIR"
  fi
  if [[ -n $DPID ]]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  stop_berthd
  stop_registry
  rm -rf "$out"
}
trap finish EXIT

# Fixtures: random-data layer tars (incompressible, as the worst case).
big=() many=()
for i in 1 2 3 4; do
  mkdir -p "$out/big$i"; head -c $((64 << 20)) /dev/urandom > "$out/big$i/data$i"
  tar -C "$out/big$i" -cf "$out/big$i.tar" "data$i"; big+=("$out/big$i.tar")
done
for i in $(seq 1 30); do
  mkdir -p "$out/m$i"; head -c $((256 << 10)) /dev/urandom > "$out/m$i/f$i"
  tar -C "$out/m$i" -cf "$out/m$i.tar" "f$i"; many+=("$out/m$i.tar")
done
start_registry
python3 tests/fixtures/registry-put-image.py "$REGISTRY_ADDR" bench/big v1 "${big[@]}" >/dev/null
python3 tests/fixtures/registry-put-image.py "$REGISTRY_ADDR" bench/many v1 "${many[@]}" >/dev/null
big_bytes=$(du -cb "${big[@]}" | tail -1 | cut -f1)

start_berthd
B="docker -H unix://$BERTHD_SOCK"
DDIR=$(mktemp -d /tmp/berth-bench-dd.XXXXXX)
dockerd --data-root "$DDIR/root" --exec-root "$DDIR/exec" -H "unix://$DDIR/sock" --pidfile "$DDIR/pid" \
  --bridge=none --iptables=false >"$DDIR/log" 2>&1 &
DPID=$!
for ((i = 0; i < 300; i++)); do docker -H "unix://$DDIR/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
D="docker -H unix://$DDIR/sock"
# Optional podman column: P_PULL/P_PUSH/… stay empty without podman.
P=
if command -v podman >/dev/null; then
  PDIR=$(mktemp -d /tmp/berth-bench-pm.XXXXXX)
  P="podman --root $PDIR/root --runroot $PDIR/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend none"
fi
# pcol NAME PREPARE CMD: sets pargs to hyperfine's arguments for the podman
# column (none without podman).
pargs=()
pcol() { pargs=(); [[ -z $P ]] || pargs=(-n "$1" --prepare "$2" "$3"); }

for img in big many; do
  ref=$REGISTRY_ADDR/bench/$img:v1
  pcol "podman pull $img" "$P rmi -f $ref >/dev/null 2>&1 || true" "$P pull -q --tls-verify=false $ref"
  hyperfine --warmup 1 --runs "$runs" --export-json "$out/pull-$img.json" \
    -n "berth pull $img" --prepare "$B rmi -f $ref >/dev/null 2>&1 || true" "$B pull -q $ref" \
    -n "docker pull $img" --prepare "$D rmi -f $ref >/dev/null 2>&1 || true" "$D pull -q $ref" "${pargs[@]}"
done

wipe="rm -rf $REGISTRY_DIR/data/docker/registry/v2/repositories/pushed $REGISTRY_DIR/data/docker/registry/v2/blobs"
for img in big many; do
  ref=$REGISTRY_ADDR/bench/$img:v1
  $B tag "$ref" "$REGISTRY_ADDR/pushed/$img-b:v1"; $D tag "$ref" "$REGISTRY_ADDR/pushed/$img-d:v1"
  if [[ -n $P ]]; then
    $P pull -q --tls-verify=false "$ref" >/dev/null
    $P tag "$ref" "$REGISTRY_ADDR/pushed/$img-p:v1"
  fi
done
# Pushes last: the wipe removes the pull fixtures' blobs too.
for img in big many; do
  pcol "podman push $img" "$wipe" "$P push -q --tls-verify=false $REGISTRY_ADDR/pushed/$img-p:v1 >/dev/null"
  hyperfine --runs "$runs" --export-json "$out/push-$img.json" \
    -n "berth push $img" --prepare "$wipe" "$B push $REGISTRY_ADDR/pushed/$img-b:v1 >/dev/null" \
    -n "docker push $img" --prepare "$wipe" "$D push $REGISTRY_ADDR/pushed/$img-d:v1 >/dev/null" "${pargs[@]}"
done

pcol "podman save" "rm -f $out/p.tar" "$P save -q -o $out/p.tar $REGISTRY_ADDR/bench/big:v1"
hyperfine --runs "$runs" --export-json "$out/save.json" \
  -n "berth save" "$B save -o $out/b.tar $REGISTRY_ADDR/bench/big:v1" \
  -n "docker save" "$D save -o $out/d.tar $REGISTRY_ADDR/bench/big:v1" "${pargs[@]}"
pcol "podman load" "$P rmi -f $REGISTRY_ADDR/bench/big:v1 $REGISTRY_ADDR/pushed/big-p:v1 >/dev/null 2>&1 || true" "$P load -q -i $out/p.tar"
hyperfine --runs "$runs" --export-json "$out/load.json" \
  -n "berth load" --prepare "$B rmi -f $REGISTRY_ADDR/bench/big:v1 $REGISTRY_ADDR/pushed/big-b:v1 >/dev/null 2>&1 || true" "$B load -q -i $out/b.tar" \
  -n "docker load" --prepare "$D rmi -f $REGISTRY_ADDR/bench/big:v1 $REGISTRY_ADDR/pushed/big-d:v1 >/dev/null 2>&1 || true" "$D load -q -i $out/d.tar" \
  "${pargs[@]}"

echo
echo "== medians (256 MB image = $big_bytes bytes uncompressed; many = 30 layers x 256 KiB)"
for f in pull-big pull-many push-big push-many save load; do
  python3 - "$out/$f.json" "$big_bytes" "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]; n = int(sys.argv[2]); kind = sys.argv[3]
med = {x["command"].split()[0]: x["median"] for x in r}
line = f"{kind:10s}" + "".join(f"  {k}: {v*1000:8.1f} ms" + (f" ({n/v/1e6:6.1f} MB/s)" if 'many' not in kind else "") for k, v in med.items())
for other in ("docker", "podman"):
    if "berth" in med and other in med:
        line += f"   berth is {med[other]/med['berth']:.2f}x {other}"
print(line)
PY
done
