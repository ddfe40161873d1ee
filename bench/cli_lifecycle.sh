#!/usr/bin/env bash
# Benchmark: the lifecycle commands through the berth CLI and the docker CLI
# against the same berthd (the client's share of each command):
#   start -a of a container that prints a line and exits (attach + wait + start)
#   restart -t 0 of a running container (stop + start)
#   kill -s USR1 of a running container (one request)
# Prints hyperfine's table and the berth/docker ratio of medians. Then, A/B
# against BASE_BIN's CLI (default /work/base-bin), runs interleaved:
#   run --rm and run -d through berth B (this tree), berth A and docker,
#   all to the same berthd;
#   the CLI's share of run: exec → the create request's head at a fake
#   daemon (answers the ping as berthd does, refuses create), for berth B,
#   berth A and docker.
#   usage: bench/cli_lifecycle.sh [RUNS]   (default 20; BASE_BIN=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
source tests/helpers/berth.bash
command -v hyperfine >/dev/null || { echo "needs hyperfine (scripts/install-deps.sh)" >&2; exit 1; }
out=$(mktemp -d /tmp/berth-bench.XXXXXX)
start_berthd
finish() {
  set +e
  stop_berthd
  rm -rf "$out"
}
trap finish EXIT
import_busybox busybox:latest >/dev/null
H=unix://$BERTHD_SOCK
docker -H "$H" create --network none --name bench-sa busybox echo hi >/dev/null
docker -H "$H" run -d --network none --name bench-up busybox sh -c 'trap "" USR1; trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null
B="$BERTH_BIN/berth -H $H"
D="docker -H $H"
hyperfine -N -w 2 -r "$runs" --export-json "$out/h.json" \
  -n "berth start -a" "$B start -a bench-sa" -n "docker start -a" "$D start -a bench-sa" \
  -n "berth restart -t 0" "$B restart -t 0 bench-up" -n "docker restart -t 0" "$D restart -t 0 bench-up" \
  -n "berth kill -s USR1" "$B kill -s USR1 bench-up" -n "docker kill -s USR1" "$D kill -s USR1 bench-up"
python3 - "$out/h.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
for op in ("start -a", "restart -t 0", "kill -s USR1"):
    b, d = r["berth " + op], r["docker " + op]
    print(f"{op:14s} berth {b*1000:8.1f} ms  docker {d*1000:8.1f} ms  ratio {b/d:.2f}")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

base_bin=${BASE_BIN:-/work/base-bin}
cat >"$out/ab.py" <<'EOF'
# ab.py RUNS CMD...: round robin, median wall time of each command (ms).
import os, shlex, statistics, sys, time
runs = int(sys.argv[1]); cmds = sys.argv[2:]
null = os.open("/dev/null", os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, null, 1)]
ts = [[] for _ in cmds]
for i in range(runs + 2):
    for k, c in enumerate(cmds):
        a = shlex.split(c)
        t = time.perf_counter()
        pid = os.posix_spawnp(a[0], a, os.environ, file_actions=fa)
        _, st = os.waitpid(pid, 0)
        if st != 0: sys.exit("%s: exit status %d" % (c, st))
        if i >= 2: ts[k].append((time.perf_counter() - t) * 1000)
b = statistics.median(ts[0])
for k, c in enumerate(cmds):
    m = statistics.median(ts[k])
    print("  %8.2f ms  x%.2f  %s" % (m, m / b, c))
EOF
cat >"$out/first.py" <<'EOF'
# first.py RUNS CLI...: exec → the create request's head at a fake daemon.
import os, socket, statistics, sys, threading, time
runs, clis = int(sys.argv[1]), sys.argv[2:]
path = os.path.join(os.environ["OUT"], "fake.sock")
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(16)
arrived = []
def conn(c):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            x = c.recv(65536)
            if not x: c.close(); return
            buf += x
        head, buf = buf.split(b"\r\n\r\n", 1)
        line, h = head.split(b"\r\n")[0].decode(), head.decode().lower()
        if "/containers/create" in line: arrived.append(time.perf_counter())
        if "content-length:" in h:
            n = int(h.split("content-length:")[1].split("\r\n")[0])
            while len(buf) < n: buf += c.recv(65536)
            buf = buf[n:]
        if "/_ping" in line:
            c.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\nContent-Length: 0\r\n\r\n")
        else:
            b = b'{"message":"refused by the benchmark"}'
            c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b))
def serve():
    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
null = os.open("/dev/null", os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
ts = [[] for _ in clis]
for i in range(runs + 2):
    for k, cli in enumerate(clis):
        a = cli.split() + ["-H", "unix://" + path, "run", "--rm", "--network", "none", "busybox", "true"]
        n = len(arrived)
        t = time.perf_counter()
        pid = os.posix_spawnp(a[0], a, os.environ, file_actions=fa)
        os.waitpid(pid, 0)
        if len(arrived) != n + 1: sys.exit("%s: no create request" % cli)
        if i >= 2: ts[k].append((arrived[n] - t) * 1000)
b = statistics.median(ts[0])
for k, cli in enumerate(clis):
    m = statistics.median(ts[k])
    print("  %8.2f ms  x%.2f  %s" % (m, m / b, cli))
EOF
A="$base_bin/berth -H $H"
echo "-- run --rm / run -d, interleaved, to one berthd (load $(cut -d' ' -f1-3 /proc/loadavg)); B=$BERTH_BIN A=$base_bin"
python3 "$out/ab.py" "$runs" "$B run --rm --network none busybox true" "$A run --rm --network none busybox true" \
  "$D run --rm --network none busybox true"
python3 "$out/ab.py" "$runs" "$B run -d --network none busybox true" "$A run -d --network none busybox true" \
  "$D run -d --network none busybox true"
docker -H "$H" ps -aq --filter status=exited | xargs -r docker -H "$H" rm -f >/dev/null
echo "-- exec → create request at a fake daemon (load $(cut -d' ' -f1-3 /proc/loadavg))"
OUT=$out python3 "$out/first.py" "$((runs * 3))" "$BERTH_BIN/berth" "$base_bin/berth" docker
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
