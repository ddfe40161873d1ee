# Shared helpers for berth's end-to-end tests (bats) and scripts.
# Source it; every function works on throwaway directories and ends only
# the processes it started, by PID.

BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
BERTH_FIXTURES=${BERTH_FIXTURES:-$BERTH_SRC/fixtures-cache}

# Wait until a Docker API answers /_ping on unix socket $1 (max ~10 s).
wait_for_ping() {
  local sock=$1 i
  for ((i = 0; i < 200; i++)); do
    curl -sf --max-time 1 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "no API answer on $sock" >&2
  return 1
}

# start_berthd [extra berthd flags...]
# Starts berthd with a throwaway data root, exec root and socket; exports
# BERTHD_DIR, BERTHD_PID, BERTHD_SOCK, DOCKER_HOST and BERTH_HOST.
start_berthd() {
  BERTHD_DIR=$(mktemp -d /tmp/berth-e2e.XXXXXX)
  BERTHD_SOCK=$BERTHD_DIR/berth.sock
  echo '{}' > "$BERTHD_DIR/daemon.json"
  # Each test daemon gets its own default bridge, address pool and nftables
  # table, so concurrent daemons never share or clobber network state.
  local tag=$(printf '%04x%02x' $((RANDOM)) $((RANDOM % 256)))
  BERTHD_BRIDGE=bt$tag BERTHD_NFT_TABLE=berth_$tag
  BERTHD_NET_FLAGS="--bridge $BERTHD_BRIDGE --nft-table $BERTHD_NFT_TABLE --default-address-pool base=10.$((RANDOM % 30 + 220)).0.0/16,size=24"
  "$BERTH_BIN/berthd" -H "unix://$BERTHD_SOCK" --data-root "$BERTHD_DIR/data" \
    --exec-root "$BERTHD_DIR/exec" --pidfile "$BERTHD_DIR/berthd.pid" \
    --config-file "$BERTHD_DIR/daemon.json" $BERTHD_NET_FLAGS "$@" >"$BERTHD_DIR/berthd.log" 2>&1 &
  BERTHD_PID=$!
  export BERTHD_DIR BERTHD_PID BERTHD_SOCK BERTHD_BRIDGE BERTHD_NFT_TABLE BERTHD_NET_FLAGS
  export DOCKER_HOST=unix://$BERTHD_SOCK BERTH_HOST=unix://$BERTHD_SOCK
  # Every daemon a bats file starts (in setup_file or inside a test) is
  # listed, so teardown_file's stop_berthd ends the ones a test left behind.
  [[ -z ${BATS_FILE_TMPDIR:-} ]] ||
    echo "$BERTHD_DIR $BERTHD_BRIDGE $BERTHD_NFT_TABLE" >>"$BATS_FILE_TMPDIR/berthd.list"
  wait_for_ping "$BERTHD_SOCK" || { cat "$BERTHD_DIR/berthd.log" >&2; return 1; }
}

# scratch_net_flags: network flags for a berthd a test starts by hand
# instead of through start_berthd: a throwaway default bridge, nftables table
# and address pool, so no test creates the host's `berth0` or `ip berth`.
# Sets SCRATCH_NET_FLAGS, SCRATCH_BRIDGE, SCRATCH_NFT_TABLE; drop_scratch_net
# removes them (teardown_file's stop_berthd too, if the test failed first).
scratch_net_flags() {
  local tag=$(printf '%04x%02x' $((RANDOM)) $((RANDOM % 256)))
  SCRATCH_BRIDGE=bs$tag SCRATCH_NFT_TABLE=berth_s$tag
  SCRATCH_NET_FLAGS="--bridge $SCRATCH_BRIDGE --nft-table $SCRATCH_NFT_TABLE --default-address-pool base=10.$((RANDOM % 30 + 220)).0.0/16,size=24"
  [[ -z ${BATS_FILE_TMPDIR:-} ]] || echo "$SCRATCH_BRIDGE $SCRATCH_NFT_TABLE" >>"$BATS_FILE_TMPDIR/scratch-net.list"
}

# drop_scratch_net [BRIDGE TABLE]: delete a scratch daemon's bridge and tables.
drop_scratch_net() {
  local bridge=${1:-${SCRATCH_BRIDGE:-}} table=${2:-${SCRATCH_NFT_TABLE:-}}
  [[ -z $bridge ]] || ip link del "$bridge" 2>/dev/null || true
  if [[ -n $table ]]; then
    nft delete table ip "$table" 2>/dev/null || true
    nft delete table ip6 "$table" 2>/dev/null || true
  fi
}

# berthd_pid: the running daemon's pid (bats runs each test in its own
# process, so a restart in one test is seen by the next only through the
# pid file).
berthd_pid() { cat "$BERTHD_DIR/berthd.pid" 2>/dev/null || echo "${BERTHD_PID:-}"; }

# kill9_berthd: crash the daemon and wait until it is gone.
kill9_berthd() {
  local pid
  pid=$(berthd_pid)
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
}

# restart_berthd: start berthd again on the same roots (after a crash).
restart_berthd() {
  "$BERTH_BIN/berthd" -H "unix://$BERTHD_SOCK" --data-root "$BERTHD_DIR/data" \
    --exec-root "$BERTHD_DIR/exec" --pidfile "$BERTHD_DIR/berthd.pid" \
    --config-file "$BERTHD_DIR/daemon.json" ${BERTHD_NET_FLAGS:-} "$@" >>"$BERTHD_DIR/berthd.log" 2>&1 &
  BERTHD_PID=$!
  export BERTHD_PID
  wait_for_ping "$BERTHD_SOCK" || { cat "$BERTHD_DIR/berthd.log" >&2; return 1; }
}

# stop_berthd: remove every container, stop the daemon, and delete its roots.
# Called from teardown_file (no BATS_TEST_NAME there), it also stops every
# other daemon this bats file started and a test left running.
stop_berthd() {
  stop_one_berthd
  if [[ -z ${BATS_TEST_NAME:-} && -n ${BATS_FILE_TMPDIR:-} && -f $BATS_FILE_TMPDIR/scratch-net.list ]]; then
    local b t
    while read -r b t; do drop_scratch_net "$b" "$t"; done <"$BATS_FILE_TMPDIR/scratch-net.list"
    rm -f "$BATS_FILE_TMPDIR/scratch-net.list"
  fi
  [[ -z ${BATS_TEST_NAME:-} && -n ${BATS_FILE_TMPDIR:-} && -f $BATS_FILE_TMPDIR/berthd.list ]] || return 0
  local dir bridge table
  while read -r dir bridge table; do
    [[ -d $dir ]] || continue
    (
      BERTHD_DIR=$dir BERTHD_BRIDGE=$bridge BERTHD_NFT_TABLE=$table BERTHD_PID=
      BERTHD_SOCK=$dir/berth.sock
      export DOCKER_HOST=unix://$BERTHD_SOCK BERTH_HOST=unix://$BERTHD_SOCK
      stop_one_berthd
    )
  done <"$BATS_FILE_TMPDIR/berthd.list"
  rm -f "$BATS_FILE_TMPDIR/berthd.list"
}

# kill_container_proxies ID: end this build's berth-proxy processes serving
# container ID (by PID, matched on their -container-id argument).
kill_container_proxies() {
  local id=$1 pid
  [[ -n $id ]] || return 0
  for pid in $(pgrep -f -- "^$BERTH_BIN/berth-proxy .*-container-id $id " || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
}

# kill_root_processes DIR: end, by PID, every process a daemon rooted at DIR
# left behind, even one killed before it wrote a pid file: its shims
# (matched on their --runtime-root), whatever runs in the sessions they lead
# (the runtime's create, hooks), and each container or exec init recorded in
# the runtime's state.json (checked against its start time, so a reused pid
# is never hit). A test that failed half-way leaves no hung process.
kill_root_processes() {
  local root=$1/exec/runtime pid p f st i
  [[ -n $1 ]] || return 0
  for pid in $(pgrep -f -- "--runtime-root $root( |$)" || true); do
    for p in $(pgrep -s "$pid" || true); do kill -9 "$p" 2>/dev/null || true; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for f in "$root"/*/state.json "$root"/*/*/state.json; do
    [[ -f $f ]] || continue
    pid=$(grep -o '"pid":[0-9]*' "$f" | head -1 | cut -d: -f2)
    st=$(grep -o '"start_time":[0-9]*' "$f" | head -1 | cut -d: -f2)
    [[ -n $pid && $pid != 0 && -r /proc/$pid/stat ]] || continue
    [[ $(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20) == "$st" ]] || continue
    kill -9 "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  done
  # Their now-empty cgroups (/berth/<id> in every hierarchy).
  for f in "$root"/*/; do
    f=$(basename "$f")
    [[ $f =~ ^[0-9a-f]{64}$ ]] || continue
    rmdir /sys/fs/cgroup/*/berth/"$f" /sys/fs/cgroup/berth/"$f" 2>/dev/null || true
  done
}

stop_one_berthd() {
  [[ -n ${BERTHD_DIR:-} ]] || return 0
  BERTHD_PID=$(berthd_pid)
  if [[ -n ${BERTHD_PID:-} ]] && kill -0 "$BERTHD_PID" 2>/dev/null; then
    local ids
    ids=$(docker ps -aq 2>/dev/null || true)
    [[ -z $ids ]] || docker rm -f $ids >/dev/null 2>&1 || true
    docker network prune -f >/dev/null 2>&1 || true
    kill "$BERTHD_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$BERTHD_PID" 2>/dev/null || true
  fi
  # Shims started by this daemon (their pid files live under our exec root),
  # and the berth-proxy processes of its containers (they outlive a daemon
  # that was killed, as docker-proxy does; each names its container).
  local pf
  for pf in "$BERTHD_DIR"/exec/shims/*/shim.pid; do
    [[ -f $pf ]] || continue
    kill_container_proxies "$(basename "$(dirname "$pf")")"
    kill -9 "$(cat "$pf")" 2>/dev/null || true
  done
  kill_root_processes "$BERTHD_DIR"
  { grep -o " $BERTHD_DIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  # The daemon's network state: its default bridge (user networks were
  # pruned above) and its nftables table.
  [[ -z ${BERTHD_BRIDGE:-} ]] || ip link del "$BERTHD_BRIDGE" 2>/dev/null || true
  if [[ -n ${BERTHD_NFT_TABLE:-} ]]; then
    nft delete table ip "$BERTHD_NFT_TABLE" 2>/dev/null || true
    nft delete table ip6 "$BERTHD_NFT_TABLE" 2>/dev/null || true  # IPv6 rules (same name)
  fi
  rm -rf "$BERTHD_DIR"
  unset BERTHD_DIR BERTHD_PID
}

# busybox_tar: path of a cached busybox rootfs tarball.
busybox_tar() {
  mkdir -p "$BERTH_FIXTURES"
  local t=$BERTH_FIXTURES/busybox.tar
  [[ -s $t ]] || "$BERTH_SRC/tests/fixtures/make-busybox-tar.sh" "$t" >&2
  echo "$t"
}

# import_busybox [REF]: import the busybox fixture into the running daemon.
import_busybox() {
  local ref=${1:-busybox:latest}
  "$BERTH_BIN/berth" import -c 'CMD ["sh"]' "$(busybox_tar)" "$ref" >/dev/null
}

# start_registry: Debian's docker-registry (the reference distribution
# server) on 127.0.0.1 with a throwaway storage dir; exports REGISTRY_ADDR,
# REGISTRY_PID and REGISTRY_DIR.
start_registry() {
  REGISTRY_DIR=$(mktemp -d /tmp/berth-registry.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
         || echo $((20000 + RANDOM % 20000)))
  cat > "$REGISTRY_DIR/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CFG
  docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_ADDR=127.0.0.1:$port
  export REGISTRY_DIR REGISTRY_PID REGISTRY_ADDR
  local i
  for ((i = 0; i < 200; i++)); do
    curl -sf --max-time 1 "http://$REGISTRY_ADDR/v2/" >/dev/null && return 0
    sleep 0.05
  done
  cat "$REGISTRY_DIR/registry.log" >&2
  return 1
}

stop_registry() {
  if [[ -n ${REGISTRY_PID:-} ]]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
  fi
  if [[ -n ${REGISTRY_DIR:-} ]]; then rm -rf "$REGISTRY_DIR"; fi
  unset REGISTRY_PID REGISTRY_DIR REGISTRY_ADDR
  return 0
}

# make_stall_runtime: sets and exports STALL_DIR (remove it in teardown) with
# STALL_DIR/stall-runtime, an OCI runtime that creates through berth-runtime
# (berth-shim creates with `run --detach`, or `create` without --run), then
# touches STALL_DIR/stalled and never returns: a daemon killed while it
# waits is killed mid-create.
make_stall_runtime() {
  STALL_DIR=$(mktemp -d /tmp/berth-stall.XXXXXX)
  cat >"$STALL_DIR/stall-runtime" <<SH
#!/bin/sh
is_create=
for a in "\$@"; do { [ "\$a" = create ] || [ "\$a" = run ]; } && is_create=1; done
"$BERTH_BIN/berth-runtime" "\$@"
rc=\$?
if [ -n "\$is_create" ]; then
  touch "$STALL_DIR/stalled"
  sleep 600
fi
exit \$rc
SH
  chmod +x "$STALL_DIR/stall-runtime"
  export STALL_DIR
}

# proc_gone PID: the process has exited. A zombie counts as gone: a
# daemonized shim's parent is this machine's PID 1, which may reap it
# late, and `kill -0` succeeds on a zombie.
proc_gone() {
  local st
  st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
  [[ -z $st || $st == Z ]]
}
