#!/usr/bin/env bash
# containerd 1.6 (Debian) driving berth-runtime through containerd-shim-runc-v2
# (`ctr run --runc-binary`): run, exec, kill, delete. Starts a PRIVATE
# containerd (own root/state/address/config under /tmp/rt-ctrd-*), imports the
# busybox fixture as a one-layer OCI image, and stops its containerd by PID.
#   usage: containerd_smoke.sh [PATH-TO-berth-runtime]
# Prints "containerd smoke: OK" and exits 0 on success; any failed step exits 1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
RT="${1:-${BERTH_RUNTIME:-$src/build/bin/berth-runtime}}"
RT="$(readlink -f "$RT")"
[[ -x $RT ]] || { echo "containerd_smoke: berth-runtime not found at $RT" >&2; exit 1; }
command -v containerd >/dev/null && command -v ctr >/dev/null || { echo "containerd_smoke: containerd/ctr not installed" >&2; exit 2; }

W="$(mktemp -d /tmp/rt-ctrd-XXXXXX)"
NS="berth-smoke-$$"
ADDR="$W/containerd.sock"
CPID=""
cleanup() {
  set +e
  if [[ -n $CPID ]]; then
    ctr -a "$ADDR" -n "$NS" task kill -s KILL smoke >/dev/null 2>&1
    ctr -a "$ADDR" -n "$NS" task delete -f smoke >/dev/null 2>&1
    ctr -a "$ADDR" -n "$NS" container delete smoke >/dev/null 2>&1
    kill "$CPID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$CPID" 2>/dev/null
  fi
  # containerd leaves its overlay snapshots mounted only while running.
  grep -o "$W[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
  # The namespace's cgroup parent (/$NS/smoke: the runtime removes the leaf,
  # the parent is containerd's to remove, and a killed containerd leaves it).
  find /sys/fs/cgroup -maxdepth 2 -type d -name "$NS" 2>/dev/null |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
}
trap cleanup EXIT
fail() { echo "containerd_smoke: FAIL: $*" >&2; [[ -f $W/containerd.log ]] && tail -20 "$W/containerd.log" >&2; exit 1; }

# ---- a one-layer OCI image of the busybox fixture
tarball="$src/fixtures-cache/busybox.tar"
if [[ ! -f $tarball ]]; then
  tarball="$W/busybox.tar"
  "$src/tests/fixtures/make-busybox-tar.sh" "$tarball"
fi
oci="$W/oci"
mkdir -p "$oci/blobs/sha256"
layer_digest="$(sha256sum "$tarball" | cut -d' ' -f1)"
layer_size="$(stat -c %s "$tarball")"
cp "$tarball" "$oci/blobs/sha256/$layer_digest"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$layer_digest" > "$W/config.json"
cfg_digest="$(sha256sum "$W/config.json" | cut -d' ' -f1)"
cp "$W/config.json" "$oci/blobs/sha256/$cfg_digest"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$cfg_digest" "$(stat -c %s "$W/config.json")" "$layer_digest" "$layer_size" > "$W/manifest.json"
man_digest="$(sha256sum "$W/manifest.json" | cut -d' ' -f1)"
cp "$W/manifest.json" "$oci/blobs/sha256/$man_digest"
IMAGE="docker.io/library/berth-smoke:latest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
  "$man_digest" "$(stat -c %s "$W/manifest.json")" "$IMAGE" > "$oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
tar -C "$oci" -cf "$W/image.tar" .

# ---- a private containerd (no CRI)
cat > "$W/config.toml" <<TOML
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$ADDR"
[ttrpc]
  address = "$ADDR.ttrpc"
[debug]
  address = ""
TOML
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CPID=$!
for _ in $(seq 200); do [[ -S $ADDR ]] && ctr -a "$ADDR" version >/dev/null 2>&1 && break; sleep 0.05; done
ctr -a "$ADDR" version >/dev/null 2>&1 || fail "containerd did not come up"
c() { ctr -a "$ADDR" -n "$NS" "$@"; }

c images import "$W/image.tar" >/dev/null || fail "image import"
c images ls -q | grep -qx "$IMAGE" || fail "image not listed after import"

# ---- run (foreground, exit code and output)
out="$(c run --rm --runc-binary "$RT" "$IMAGE" smoke-fg sh -c 'echo hello from pid $$')" || fail "ctr run exited non-zero: $out"
[[ $out == "hello from pid 1"* ]] || fail "unexpected run output: $out"
set +e
c run --rm --runc-binary "$RT" "$IMAGE" smoke-rc sh -c 'exit 3' >/dev/null
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "exit status 3 expected, got $rc"

# ---- run detached, exec, kill, delete
c run -d --runc-binary "$RT" "$IMAGE" smoke sh -c 'trap "exit 0" TERM; echo started > /tmp/marker; while :; do sleep 0.1; done' >/dev/null || fail "ctr run -d"
for _ in $(seq 100); do [[ "$(c task ls | awk '$1=="smoke"{print $3}')" == RUNNING ]] && break; sleep 0.05; done
[[ "$(c task ls | awk '$1=="smoke"{print $3}')" == RUNNING ]] || fail "task not RUNNING: $(c task ls)"
out="$(c task exec --exec-id e1 smoke sh -c 'cat /tmp/marker; echo pid1=$(cat /proc/1/comm)')" || fail "task exec: $out"
[[ $out == *"started"* && $out == *"pid1=sh"* ]] || fail "unexpected exec output: $out"
set +e
c task exec --exec-id e2 smoke sh -c 'exit 5'
rc=$?
set -e
[[ $rc -eq 5 ]] || fail "exec exit status 5 expected, got $rc"
state="$("$RT" --root "/run/containerd/runc/$NS" state smoke)" || fail "berth-runtime state"
[[ "$(echo "$state" | jq -r .status)" == running ]] || fail "berth-runtime does not see the container running: $state"
c task pause smoke || fail "task pause"
[[ "$(c task ls | awk '$1=="smoke"{print $3}')" == PAUSED ]] || fail "task not PAUSED: $(c task ls)"
c task resume smoke || fail "task resume"
c task kill -s TERM smoke || fail "task kill"
for _ in $(seq 100); do [[ "$(c task ls | awk '$1=="smoke"{print $3}')" == STOPPED ]] && break; sleep 0.05; done
[[ "$(c task ls | awk '$1=="smoke"{print $3}')" == STOPPED ]] || fail "task not STOPPED after kill: $(c task ls)"
st="$(c task delete smoke)" || fail "task delete"
[[ $st == *"exit status 0"* || -z $st ]] || fail "task delete: $st"
c container delete smoke || fail "container delete"
[[ -z "$(c task ls -q)" ]] || fail "tasks left: $(c task ls)"
[[ ! -e "/run/containerd/runc/$NS/smoke" ]] || fail "runtime state left behind"
echo "containerd smoke: OK"
