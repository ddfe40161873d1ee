#!/usr/bin/env bash
# Benchmark: `ps` latency, A/B between two builds, side by side with Docker.
#   Two berthd (A: BASE_BIN, default /work/main/build/bin; B: this tree's
#   build/bin), each with the same containers: 50 running (`busybox sleep`,
#   --network none), then N (default 1000) in all, the rest *created*
#   (1,000 running would need ~1,000 shims per daemon on this VM).
#   One interleaved run per population (round robin: A, B, ..., A, B, ...;
#   load on this shared VM moves within seconds, so running one command's
#   runs after the other's skews the ratios) measures, side by side:
#     berth CLI A → berthd A, berth CLI B → berthd B, berth CLI B → berthd A
#     (the CLI's own share), docker CLI → berthd A and B, and the docker CLI
#     → a private dockerd with the same population (BENCH_DOCKER=0 skips it);
#   plus the daemons' raw answer (one keep-alive connection, a Python
#   client: no client start-up counted), medians of BENCH_RAW_RUNS.
# `ps` lists the 50 running; `ps -a` all N.
#   usage: bench/ps_list.sh [N]   (BASE_BIN=dir NEW_BIN=dir BENCH_RUNS=30 BENCH_DOCKER=1)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${BENCH_RUNS:-30}
raw_runs=${BENCH_RAW_RUNS:-40}
base_bin=${BASE_BIN:-/work/main/build/bin}
new_bin=${NEW_BIN:-$PWD/build/bin}
source tests/helpers/berth.bash
out=$(mktemp -d /tmp/berth-bench-ps.XXXXXX)
DPID= DDIR= A_ENV= B_ENV=

# The daemons' state, one file each, so finish() can stop both.
save_env() { declare -p BERTHD_DIR BERTHD_PID BERTHD_SOCK BERTHD_BRIDGE BERTHD_NFT_TABLE BERTHD_NET_FLAGS >"$1"; }
finish() {
  set +e
  for f in "$A_ENV" "$B_ENV"; do
    [[ -n $f && -f $f ]] || continue
    (
      source "$f"
      export DOCKER_HOST=unix://$BERTHD_SOCK
      docker ps -aq | xargs -r -n 200 docker rm -f >/dev/null 2>&1
      stop_one_berthd
    )
  done
  if [[ -n $DPID ]]; then
    docker -H "unix://$DDIR/docker.sock" ps -aq 2>/dev/null | xargs -r -n 200 docker -H "unix://$DDIR/docker.sock" rm -f >/dev/null 2>&1
    kill "$DPID" 2>/dev/null
    for ((i = 0; i < 300; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ -n $DDIR ]]; then
    { grep -o " $DDIR[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$DDIR"
  fi
  rm -rf "$out"
}
trap finish EXIT

# populate CLI...: 50 running, then created ones up to N in all.
populate_running() {
  seq 50 | xargs -P 4 -I{} "$@" run -d --network none busybox sleep 3600 >/dev/null
}
populate_created() {
  local have
  have=$("$@" ps -aq | wc -l)
  ((n > have)) || return 0
  seq $((n - have)) | xargs -P 4 -I{} "$@" create --network none -l app=bench -l tier=x busybox sleep 3600 >/dev/null
}

cat >"$out/ab.py" <<'EOF'
# ab.py RUNS WARMUP OUT CMD...: run the commands round robin (output to
# /dev/null), write the median wall time (ms) of each, one per line, to OUT.
import os, shlex, statistics, sys, time
runs, warm, outp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cmds = [shlex.split(c) for c in sys.argv[4:]]
null = os.open("/dev/null", os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, null, 1)]
ts = [[] for _ in cmds]
for i in range(warm + runs):
    for k, c in enumerate(cmds):
        t = time.perf_counter()
        pid = os.posix_spawnp(c[0], c, os.environ, file_actions=fa)
        _, st = os.waitpid(pid, 0)
        if st != 0:
            sys.exit("%s: exit status %d" % (" ".join(c), st))
        if i >= warm:
            ts[k].append((time.perf_counter() - t) * 1000)
with open(outp, "w") as f:
    for t in ts:
        f.write("%.2f\n" % statistics.median(t))
EOF

cat >"$out/raw.py" <<'EOF'
# Median latency of GET PATH on one keep-alive unix-socket connection.
import socket, statistics, sys, time
path, n = sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = ("GET %s HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n" % path).encode()
def one():
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(1 << 20)
    head, body = buf.split(b"\r\n\r\n", 1)
    h = head.decode().lower()
    if "content-length:" in h:
        cl = int(h.split("content-length:")[1].split("\r\n")[0])
        while len(body) < cl:
            body += s.recv(1 << 20)
    else:
        while not body.endswith(b"0\r\n\r\n"):
            body += s.recv(1 << 20)
ts = []
for _ in range(n):
    t = time.perf_counter()
    one()
    ts.append((time.perf_counter() - t) * 1000)
print("%.2f" % statistics.median(ts))
EOF

echo "== ps_list ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)); A=$base_bin B=$new_bin"
BERTH_BIN=$base_bin start_berthd
A_ENV=$out/a.env
save_env "$A_ENV"
A_SOCK=$BERTHD_SOCK
BERTH_BIN=$base_bin import_busybox busybox:latest
BERTH_BIN=$new_bin start_berthd
B_ENV=$out/b.env
save_env "$B_ENV"
B_SOCK=$BERTHD_SOCK
BERTH_BIN=$new_bin import_busybox busybox:latest
unset DOCKER_HOST BERTH_HOST
cliA=("$base_bin/berth" -H "unix://$A_SOCK")
cliB=("$new_bin/berth" -H "unix://$B_SOCK")
cliBA=("$new_bin/berth" -H "unix://$A_SOCK")
dA=(docker -H "unix://$A_SOCK")
dB=(docker -H "unix://$B_SOCK")
populate_running "${cliA[@]}"
populate_running "${cliB[@]}"

dk=()
if command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-1} == 1 ]]; then
  DDIR=$(mktemp -d /tmp/berth-bench-psdk.XXXXXX)
  dockerd -H "unix://$DDIR/docker.sock" --data-root "$DDIR/root" --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/docker.pid" --bridge=none --iptables=false --ip6tables=false >"$DDIR/dockerd.log" 2>&1 &
  DPID=$!
  dk=(docker -H "unix://$DDIR/docker.sock")
  wait_for_ping "$DDIR/docker.sock"
  "${dk[@]}" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
  populate_running "${dk[@]}"
fi

declare -A med
# measure TAG QUERY ARGS...: one interleaved run of `CLI ARGS` over every
# CLI/daemon pair, then the raw answer to GET /containers/json?QUERY of each daemon.
measure() {
  local tag=$1 q=$2 i
  shift 2
  local cmds=("${cliA[*]} $*" "${cliB[*]} $*" "${cliBA[*]} $*" "${dA[*]} $*" "${dB[*]} $*")
  local names=("berth A → berthd A" "berth B → berthd B" "berth B → berthd A" "docker → berthd A" "docker → berthd B")
  if ((${#dk[@]})); then
    cmds+=("${dk[*]} $*")
    names+=("docker → dockerd")
  fi
  python3 "$out/ab.py" "$runs" 3 "$out/med" "${cmds[@]}"
  local meds
  mapfile -t meds <"$out/med"
  for i in "${!names[@]}"; do
    med[$tag,${names[$i]}]=${meds[$i]}
  done
  local cols=("${names[@]}" "raw A" "raw B")
  med[$tag,raw A]=$(python3 "$out/raw.py" "$A_SOCK" "/v1.41/containers/json$q" "$raw_runs")
  med[$tag,raw B]=$(python3 "$out/raw.py" "$B_SOCK" "/v1.41/containers/json$q" "$raw_runs")
  if ((${#dk[@]})); then
    med[$tag,raw dockerd]=$(python3 "$out/raw.py" "$DDIR/docker.sock" "/v1.41/containers/json$q" "$raw_runs")
    cols+=("raw dockerd")
  fi
  echo "-- $tag (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for i in "${cols[@]}"; do printf '  %-22s median %7s ms\n' "$i" "${med[$tag,$i]}"; done
  printf '  berth A/B %.2fx; raw A/B %.2fx' \
    "$(echo "${med[$tag,berth A → berthd A]} / ${med[$tag,berth B → berthd B]}" | bc -l)" \
    "$(echo "${med[$tag,raw A]} / ${med[$tag,raw B]}" | bc -l)"
  if ((${#dk[@]})); then
    printf '; docker→dockerd / berth B %.2fx' "$(echo "${med[$tag,docker → dockerd]} / ${med[$tag,berth B → berthd B]}" | bc -l)"
  fi
  echo
}

measure "ps, 50 running" "" ps
populate_created "${cliA[@]}"
populate_created "${cliB[@]}"
((${#dk[@]} == 0)) || populate_created "${dk[@]}"
measure "ps -a, $n (50 running)" "?all=1" ps -a
measure "ps, 50 running of $n" "" ps
# The two CLIs print the same bytes for the same listing (a CREATED/STATUS
# cell may tick between the two runs: then the line says so).
for args in "ps -a" "ps -a --no-trunc" "ps -a --format {{.Names}}|{{.Labels}}|{{.Command}}|{{.Status}}"; do
  if cmp -s <("${cliA[@]}" $args) <("${cliBA[@]}" $args); then
    echo "same output, berth A and B CLIs: $args"
  else
    echo "DIFFERENT output, berth A and B CLIs: $args"
  fi
done
