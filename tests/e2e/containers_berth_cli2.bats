#!/usr/bin/env bats
# End-to-end: the berth CLI's run/create security and resource flags,
# --cidfile, cp, export, diff, container prune, streaming stats, and raw
# terminal mode for run -it / exec -it (through a pty from python3).

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
  export T=$(mktemp -d /tmp/ctr-bcli.XXXXXX)
}

teardown_file() {
  stop_berthd
  rm -rf "$T"
}

berth() { "$BERTH_BIN/berth" "$@"; }
cg() { echo "/sys/fs/cgroup/$1/berth/$(docker inspect -f '{{.Id}}' "$2")/$3"; }

@test "berth run: resource flags reach the cgroup, security flags the process" {
  berth run -d --name rf -m 32m --memory-swap 64m --memory-reservation 16m --cpus 0.5 --cpu-shares 512 \
    --cpuset-cpus 0 --pids-limit 42 --oom-score-adj 300 --shm-size 8m --ulimit nofile=512:1024 \
    --sysctl net.ipv4.ip_forward=1 --cap-drop chown --cap-add sys_time --security-opt no-new-privileges \
    --group-add 123 --stop-timeout 3 --stop-signal USR1 --read-only --init busybox sleep 300
  [ "$(cat "$(cg memory rf memory.limit_in_bytes)")" = 33554432 ]
  [ "$(cat "$(cg memory rf memory.memsw.limit_in_bytes)")" = 67108864 ]
  [ "$(cat "$(cg memory rf memory.soft_limit_in_bytes)")" = 16777216 ]
  [ "$(cat "$(cg cpu rf cpu.cfs_quota_us)")" = 50000 ]
  [ "$(cat "$(cg cpu rf cpu.shares)")" = 512 ]
  [ "$(cat "$(cg pids rf pids.max)")" = 42 ]
  [ "$(docker exec rf cat /proc/1/oom_score_adj)" = 300 ] || [ "$(docker exec rf sh -c 'cat /proc/$(pidof sleep)/oom_score_adj')" = 300 ]
  [ "$(docker exec rf sh -c 'ulimit -n')" = 512 ]
  [ "$(docker exec rf cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
  run docker exec rf df -k /dev/shm
  [[ $output == *" 8192 "* ]]
  run docker exec rf id -G
  [[ $output == *123* ]]
  run docker exec rf touch /x
  [ "$status" -ne 0 ]
  run docker inspect -f '{{.HostConfig.CapDrop}} {{.HostConfig.CapAdd}} {{.HostConfig.SecurityOpt}} {{.Config.StopTimeout}} {{.Config.StopSignal}} {{.HostConfig.Init}}' rf
  [ "$output" = "[chown] [sys_time] [no-new-privileges] 3 USR1 true" ]
  run docker exec rf grep NoNewPrivs /proc/self/status
  [[ $output == *1 ]]
  docker rm -f rf
}

@test "berth run: health, log, pid/ipc/uts, device, throttle flags; bad values fail before create" {
  berth run -d --name hf --health-cmd 'true' --health-interval 1s --health-retries 2 \
    --log-driver json-file --log-opt max-size=1m --pid host --uts host --device /dev/null:/dev/mynull \
    --device-read-bps /dev/loop0:1mb --blkio-weight 0 busybox sleep 300
  run docker inspect -f '{{json .Config.Healthcheck}} {{.HostConfig.LogConfig.Config}} {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}}' hf
  [ "$output" = '{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2} map[max-size:1m] host host' ]
  docker exec hf test -c /dev/mynull
  [ "$(docker exec hf hostname)" = "$(hostname)" ]
  for _ in $(seq 50); do [ "$(docker inspect -f '{{.State.Health.Status}}' hf)" = healthy ] && break; sleep 0.2; done
  [ "$(docker inspect -f '{{.State.Health.Status}}' hf)" = healthy ]
  docker rm -f hf
  before=$(docker ps -aq | wc -l)
  run berth run -m 10x busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"invalid argument \"10x\" for \"-m, --memory\" flag: invalid size: '10x'"* ]]
  run berth run --cpus abc busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"failed to parse abc as a rational number"* ]]
  run berth run --no-healthcheck --health-cmd true busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"--no-healthcheck conflicts with --health-* options"* ]]
  [ "$(docker ps -aq | wc -l)" = "$before" ]
  berth run -d --name nh --no-healthcheck busybox sleep 300
  [ "$(docker inspect -f '{{json .Config.Healthcheck.Test}}' nh)" = '["NONE"]' ]
  docker rm -f nh
}

@test "berth run/create --cidfile writes the ID and refuses an existing file" {
  berth run -d --cidfile "$T/cid1" --name cid1 busybox sleep 300
  [ "$(cat "$T/cid1")" = "$(docker inspect -f '{{.Id}}' cid1)" ]
  run berth run --cidfile "$T/cid1" busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"container ID file found, make sure the other container isn't running or delete $T/cid1"* ]]
  run berth create --cidfile "$T/cid2" --name cid2 busybox true
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$T/cid2")" ]
  [ "$(docker inspect -f '{{.State.Status}}' cid2)" = created ]
  # a failed create leaves no file behind
  run berth create --cidfile "$T/cid3" --name cid2 busybox true
  [ "$status" -eq 125 ]
  [ ! -e "$T/cid3" ]
  docker rm -f cid1 cid2
}

@test "berth cp both ways, running and stopped; berth export; berth diff" {
  berth run -d --name bcp busybox sh -c 'mkdir /d; echo one > /d/a; sleep 300'
  sleep 0.5
  berth cp bcp:/d/a "$T/a"
  [ "$(cat "$T/a")" = one ]
  berth cp bcp:/d "$T/dd"
  [ "$(cat "$T/dd/a")" = one ]
  run bash -c "$BERTH_BIN/berth cp bcp:/d/a - | tar tv"
  [[ $output == *" a" ]]
  echo two > "$T/b"
  berth cp "$T/b" bcp:/d/
  [ "$(docker exec bcp cat /d/b)" = two ]
  berth cp "$T/b" bcp:/d/renamed
  [ "$(docker exec bcp cat /d/renamed)" = two ]
  mkdir -p "$T/tree/x"; echo t > "$T/tree/x/y"
  berth cp "$T/tree" bcp:/
  [ "$(docker exec bcp cat /tree/x/y)" = t ]
  run berth cp bcp:/nope "$T/n"
  [ "$status" -eq 1 ]
  [[ $output == *"Could not find the file /nope in container bcp"* ]]
  run berth diff bcp
  [[ $output == *"A /d"* && $output == *"A /tree"* ]]
  docker stop -t 0 bcp
  berth cp "$T/b" bcp:/stopped
  berth cp bcp:/stopped "$T/back"
  [ "$(cat "$T/back")" = two ]
  berth export -o "$T/e.tar" bcp
  run tar tf "$T/e.tar"
  [[ $output == *"stopped"* && $output == *"tree/x/y"* && $output == *"bin/busybox"* ]]
  berth export bcp > "$T/e2.tar"
  cmp "$T/e.tar" "$T/e2.tar"
  docker rm bcp
}

# DESIGN.md §6 (ps <= 5 ms): the CLI is linked statically, so a command's
# start-up is the kernel's exec alone: no dynamic loader, no shared library
# (and `ps` opens no file at all); libarchive and the compression/ACL
# libraries behind it are loaded by cp when it first needs them
# (src/cli/archive_lazy.cc, src/bin/berth/CMakeLists.txt).
@test "berth CLI: static, start-up opens no file; cp loads libarchive on use" {
  if ldd "$BERTH_BIN/berth" 2>/dev/null | grep -q libasan; then skip "sanitizer build"; fi
  run -0 readelf -lW "$BERTH_BIN/berth"
  [[ $output != *INTERP* && $output != *DYNAMIC* ]]
  run -0 --separate-stderr strace -f -e trace=open,openat "$BERTH_BIN/berth" ps -a
  [[ $stderr != *open* ]]
  berth run -d --name blz busybox sh -c 'echo lazy > /l; sleep 300'
  sleep 0.5
  run -0 --separate-stderr strace -f -e trace=open,openat "$BERTH_BIN/berth" cp blz:/l "$T/l"
  [[ $stderr == *"libarchive.so.13"* ]]
  [ "$(cat "$T/l")" = lazy ]
  docker rm -f blz
}

@test "berth container prune removes stopped containers only" {
  berth run --name pr1 busybox true
  berth run -d --name pr2 busybox sleep 300
  run berth container prune -f
  [ "$status" -eq 0 ]
  [[ $output == *"Deleted Containers:"* && $output == *"$(docker inspect -f '{{.Id}}' pr2 | head -c 0)"* ]]
  [[ $output == *"Total reclaimed space:"* ]]
  run docker inspect pr1
  [ "$status" -ne 0 ]
  docker inspect pr2 >/dev/null
  # without -f it asks; "n" keeps everything
  berth run --name pr3 busybox true
  run bash -c "echo n | $BERTH_BIN/berth container prune"
  [[ $output == *"Are you sure you want to continue? [y/N]"* ]]
  docker inspect pr3 >/dev/null
  docker rm -f pr2 pr3
}

@test "berth stats streams: clears and redraws the table every second" {
  berth run -d --name bst busybox sleep 300
  run timeout 3.5 "$BERTH_BIN/berth" stats bst
  [ "$status" -eq 124 ]
  n=$(grep -o $'\033\[2J' <<<"$output" | wc -l)
  [ "$n" -ge 2 ] && [ "$n" -le 5 ]
  [[ $output == *"CONTAINER ID"*"bst"* ]]
  docker rm -f bst
}

@test "berth run -it and exec -it: raw terminal, restored after, window size sent" {
  command -v python3 >/dev/null || skip "python3 missing"
  docker run -d --name bit busybox sleep 300
  cat > "$T/ptyrun.py" <<'PY'
import os, pty, sys, termios, struct, fcntl, time, select
argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    os.execv(argv[0], argv)
out = b""
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: out += os.read(fd, 4096)
            except OSError: return
time.sleep(0.3)
os.write(fd, b"stty -a | head -1; echo L=$(stty -a | grep -c -- '-icanon')\r")
pump(1.5)
os.write(fd, b"exit 3\r")
pump(1.5)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\nRC=%d" % os.waitstatus_to_exitcode(st))
PY
  run python3 "$T/ptyrun.py" "$BERTH_BIN/berth" exec -it bit sh
  [[ $output == *"rows 33; columns 101"* ]]
  [[ $output == *"RC=3"* ]]
  run python3 "$T/ptyrun.py" "$BERTH_BIN/berth" run --rm -it busybox sh
  [[ $output == *"rows 33; columns 101"* ]]
  [[ $output == *"RC=3"* ]]
  # the local terminal is restored: stty after berth shows canonical mode
  run python3 -c '
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", sys.argv[1] + " exec -it bit true; stty -a"])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d: break
    out += d
os.waitpid(pid, 0)
print(out.decode(errors="replace"))' "$BERTH_BIN/berth"
  [[ $output == *" icanon"* && $output == *" echo"* ]]
  docker rm -f bit
}
