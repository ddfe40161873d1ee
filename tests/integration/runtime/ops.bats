#!/usr/bin/env bats
# berth-runtime exec/pause/resume/ps/update/events/features/spec against the
# real kernel (cgroup v1 on this host), checked from inside the container.

load rt_common

setup() { rt_setup; }
teardown() { rt_teardown; }

@test "exec: joins every namespace and the cgroup of the container" {
  cfg '.hostname = "boxy"'
  start_bg
  run rt exec "$ID" sh -c 'echo pid=$$; hostname; cat /proc/1/cmdline | tr "\0" " "; echo; for n in mnt net ipc uts pid; do readlink /proc/self/ns/$n; done'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" != "pid=1" ]
  [ "${lines[1]}" = "boxy" ]
  [ "${lines[2]}" = "sleep 1000 " ]
  for k in 0 1 2 3 4; do
    n=(mnt net ipc uts pid)
    [ "${lines[$((3 + k))]}" = "$(readlink /proc/$PID/ns/${n[$k]})" ]
  done
  # the process is in the container's cgroups while it runs
  rt exec -d --pid-file "$T/epid" "$ID" sleep 30
  epid="$(cat "$T/epid")"
  grep -qx "$epid" /sys/fs/cgroup/memory/berth/$ID/cgroup.procs
  grep -qx "$epid" /sys/fs/cgroup/pids/berth/$ID/cgroup.procs
  grep -qx "$epid" /sys/fs/cgroup/freezer/berth/$ID/cgroup.procs
  [ "$(readlink /proc/$epid/ns/pid)" = "$(readlink /proc/$PID/ns/pid)" ]
}

@test "exec: exit status, --env, --cwd, --user, --additional-gids, --cap, --no-new-privs" {
  start_bg
  run rt exec "$ID" sh -c 'exit 42'
  [ "$status" -eq 42 ]
  run rt exec --env FOO=bar -e BAZ=qux --cwd /work -u 1000:1001 -g 7 -g 8 "$ID" sh -c 'echo $FOO $BAZ; pwd; id'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "bar qux" ]
  [ "${lines[1]}" = "/work" ]
  [[ "${lines[2]}" == "uid=1000 gid=1001 groups="*"7"*"8"* ]]
  cfg '.process.noNewPrivileges = false'
  rt delete -f "$ID"
  start_bg
  run rt exec "$ID" grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status
  [[ "$output" == *"CapBnd:	0000000020000420"* ]]
  [[ "$output" == *"NoNewPrivs:	0"* ]]
  # CAP_SYS_ADMIN is bit 21
  run rt exec --cap CAP_SYS_ADMIN --no-new-privs "$ID" grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status
  [[ "$output" == *"CapBnd:	0000000020200420"* ]]
  [[ "$output" == *"CapEff:	0000000020200420"* ]]
  [[ "$output" == *"NoNewPrivs:	1"* ]]
}

@test "exec: --process JSON and a missing executable" {
  start_bg
  cat > "$T/proc.json" <<'JSON'
{"terminal": false, "user": {"uid": 5, "gid": 6}, "args": ["sh", "-c", "echo $X; id -u; pwd; ulimit -n"],
 "env": ["X=from-json", "PATH=/bin"], "cwd": "/etc",
 "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 77, "soft": 77}]}
JSON
  run rt exec --process "$T/proc.json" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "from-json" ]
  [ "${lines[1]}" = "5" ]
  [ "${lines[2]}" = "/etc" ]
  [ "${lines[3]}" = "77" ]
  echo '{"args": "sh"}' > "$T/bad.json"
  run rt exec -p "$T/bad.json" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"process.args: expected array"* ]]
  run rt exec "$ID" nosuchcmd
  [ "$status" -eq 1 ]
  [[ "$output" == *'exec: "nosuchcmd": executable file not found in $PATH'* ]]
}

@test "exec: no host fd leaks into the exec'd process" {
  start_bg
  run rt exec "$ID" ls /proc/self/fd 3</etc/hostname 7</etc/passwd
  [ "$status" -eq 0 ]
  [ "$(echo $output)" = "0 1 2 3" ]  # 3 is ls's own directory fd
  run rt exec --preserve-fds 1 "$ID" cat /proc/self/fd/3 3<"$B/config.json"
  [ "$status" -eq 0 ]
  [[ "$output" == *ociVersion* ]]
}

@test "exec -t: the pty master goes over the console socket" {
  command -v python3 >/dev/null || skip "python3 needed"
  start_bg
  run python3 - "$R" "$ROOT" "$ID" "$T/console.sock" <<'PY'
import os, socket, subprocess, sys, time
r, root, cid, sp = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sp); s.listen(1)
p = subprocess.Popen([r, "--root", root, "exec", "-t", "--console-socket", sp, cid, "sh", "-c", "tty; echo done"])
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1024, 1)
out = b""
end = time.time() + 5
while time.time() < end and b"done" not in out:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
print(out.decode().replace("\r", ""))
print("rc=%d" % p.wait())
PY
  [ "$status" -eq 0 ]
  [[ "$output" == *"/dev/pts/"* ]]
  [[ "$output" == *"rc=0"* ]]
}

@test "exec: refused in a stopped or paused container" {
  start_bg
  rt pause "$ID"
  run rt exec "$ID" true
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot exec in a paused container"* ]]
  rt resume "$ID"
  rt kill "$ID" KILL
  wait_for sh -c "[ \"\$($R --root $ROOT state $ID | jq -r .status)\" = stopped ]"
  run rt exec "$ID" true
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot exec in a stopped container"* ]]
  run rt pause "$ID"
  [ "$status" -eq 1 ]
}

@test "pause/resume: state, freezer and the processes really stop" {
  cfg '.root.readonly = false'
  mkdir -p "$B/rootfs/tmp"
  # rename, not truncate-and-write: a freeze between the two would leave the
  # file empty and the comparisons below would read "" (a flake under load).
  start_bg sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.02; done'
  wait_for test -s "$B/rootfs/tmp/count"
  rt pause "$ID"
  [ "$(rt state "$ID" | jq -r .status)" = paused ]
  [ "$(cat /sys/fs/cgroup/freezer/berth/$ID/freezer.state)" = FROZEN ]
  [ "$(awk '{print $3}' /proc/$PID/stat)" = "D" ] || [ "$(awk '{print $3}' /proc/$PID/stat)" = "S" ]
  a="$(cat "$B/rootfs/tmp/count")"; sleep 0.3; b="$(cat "$B/rootfs/tmp/count")"
  [ "$a" = "$b" ]
  run rt list
  [[ "$output" == *"$ID"*"paused"* ]]
  run rt pause "$ID"
  [ "$status" -eq 1 ]
  run rt delete "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"that is not stopped: paused"* ]]
  rt resume "$ID"
  [ "$(rt state "$ID" | jq -r .status)" = running ]
  [ "$(cat /sys/fs/cgroup/freezer/berth/$ID/freezer.state)" = THAWED ]
  sleep 0.3
  [ "$(cat "$B/rootfs/tmp/count")" -gt "$b" ]
  run rt resume "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not paused"* ]]
  # a paused container can be force-deleted
  rt pause "$ID"
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  [ ! -e /sys/fs/cgroup/freezer/berth/$ID ]
  gone "$PID"
}

@test "ps: json and table list the container's processes" {
  start_bg sh -c 'sleep 1000 & sleep 1001 & wait'
  wait_for sh -c "[ \$(wc -l < /sys/fs/cgroup/pids/berth/$ID/cgroup.procs) -eq 3 ]"
  run rt ps --format json "$ID"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq length)" -eq 3 ]
  [ "$(echo "$output" | jq -c sort)" = "$(sort -n /sys/fs/cgroup/pids/berth/$ID/cgroup.procs | jq -s -c .)" ]
  run rt ps "$ID"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *PID* ]]
  [ "${#lines[@]}" -eq 4 ]
  [[ "$output" == *"sleep 1001"* ]]
  run rt ps "$ID" -o pid,comm
  [ "$status" -eq 0 ]
  [ "$(echo "${lines[0]}" | awk '{print $1, $2}')" = "PID COMMAND" ]
  [ "${#lines[@]}" -eq 4 ]
}

@test "update: flags and -r JSON reach the cgroup files and the container sees them" {
  start_bg
  rt update --memory 64m --memory-swap 128m --memory-reservation 32m --cpu-share 512 --cpu-quota 25000 --cpu-period 50000 --pids-limit 42 --cpuset-cpus 0 "$ID"
  [ "$(cat /sys/fs/cgroup/memory/berth/$ID/memory.limit_in_bytes)" = 67108864 ]
  [ "$(cat /sys/fs/cgroup/memory/berth/$ID/memory.soft_limit_in_bytes)" = 33554432 ]
  if [ -e /sys/fs/cgroup/memory/berth/$ID/memory.memsw.limit_in_bytes ]; then
    [ "$(cat /sys/fs/cgroup/memory/berth/$ID/memory.memsw.limit_in_bytes)" = 134217728 ]
  fi
  [ "$(cat /sys/fs/cgroup/cpu/berth/$ID/cpu.shares)" = 512 ]
  [ "$(cat /sys/fs/cgroup/cpu/berth/$ID/cpu.cfs_quota_us)" = 25000 ]
  [ "$(cat /sys/fs/cgroup/cpu/berth/$ID/cpu.cfs_period_us)" = 50000 ]
  [ "$(cat /sys/fs/cgroup/pids/berth/$ID/pids.max)" = 42 ]
  [ "$(cat /sys/fs/cgroup/cpuset/berth/$ID/cpuset.cpus)" = 0 ]
  # from inside: the cgroup namespace shows the container's own cgroup at /
  run rt exec "$ID" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
  [ "${lines[0]}" = 67108864 ]
  [ "${lines[1]}" = 42 ]
  echo '{"memory": {"limit": 268435456, "swap": 536870912}, "pids": {"limit": 7}, "cpu": {"shares": 256}}' > "$T/res.json"
  rt update -r "$T/res.json" "$ID"
  [ "$(cat /sys/fs/cgroup/memory/berth/$ID/memory.limit_in_bytes)" = 268435456 ]
  [ "$(cat /sys/fs/cgroup/pids/berth/$ID/pids.max)" = 7 ]
  [ "$(cat /sys/fs/cgroup/cpu/berth/$ID/cpu.shares)" = 256 ]
  echo '{"pids": {"limit": 9}}' | rt update -r - "$ID"
  [ "$(cat /sys/fs/cgroup/pids/berth/$ID/pids.max)" = 9 ]
  run rt update --memory lots "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'invalid value "lots" for flag --memory'* ]]
  echo '{"pids": {"limit": "x"}}' > "$T/bad.json"
  run rt update -r "$T/bad.json" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"resources.pids.limit: expected integer"* ]]
}

@test "events --stats: one JSON stats object; events streams at --interval" {
  cfg '.linux.resources.memory = {"limit": 100000000} | .linux.resources.pids = {"limit": 50}'
  start_bg sh -c 'sleep 1000 & sleep 1000 & wait'
  wait_for sh -c "[ \$(wc -l < /sys/fs/cgroup/pids/berth/$ID/cgroup.procs) -eq 3 ]"
  run rt events --stats "$ID"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$(echo "$output" | jq -r .type)" = stats ]
  [ "$(echo "$output" | jq -r .id)" = "$ID" ]
  [ "$(echo "$output" | jq -r .data.pids.current)" = 3 ]
  [ "$(echo "$output" | jq -r .data.pids.limit)" = 50 ]
  [ "$(echo "$output" | jq -r .data.memory.usage.limit)" = 99999744 ]
  [ "$(echo "$output" | jq -r .data.memory.usage.usage)" -gt 0 ]
  [ "$(echo "$output" | jq -r .data.cpu.usage.total)" -gt 0 ]
  [ "$(echo "$output" | jq -r '.data.cpu.usage.percpu | length')" -eq "$(nproc)" ]
  [ "$(echo "$output" | jq -r '.data.memory.raw | has("total_rss")')" = true ]
  [ "$(echo "$output" | jq -r '.data | has("blkio") and has("hugetlb")')" = true ]
  run timeout 1.7 "$R" --root "$ROOT" events --interval 500ms "$ID"
  [ "${#lines[@]}" -ge 3 ]
  [ "$(echo "${lines[2]}" | jq -r .type)" = stats ]
  # the stream ends by itself when the container stops
  (sleep 0.3; "$R" --root "$ROOT" kill "$ID" KILL) &
  run timeout 5 "$R" --root "$ROOT" events --interval 100ms "$ID"
  [ "$status" -eq 0 ]
}

@test "features, spec --rootless, --version" {
  run "$R" features
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
  [ "$(echo "$output" | jq -r '.linux.namespaces | index("user") != null')" = true ]
  [ "$(echo "$output" | jq -r '.linux.capabilities | index("CAP_SYS_ADMIN") != null')" = true ]
  [ "$(echo "$output" | jq -r '.linux.cgroup.v1')" = true ]
  [ "$(echo "$output" | jq -r '.linux.cgroup.systemd')" = false ]
  [ "$(echo "$output" | jq -r '.hooks | length')" -eq 6 ]
  [ "$(echo "$output" | jq -r '.linux.apparmor.enabled')" = "$([ -e /sys/kernel/security/apparmor ] && echo true || echo false)" ]
  mkdir "$T/rl"
  "$R" spec --rootless --bundle "$T/rl"
  [ "$(jq -r '[.linux.namespaces[].type] | index("user") != null' "$T/rl/config.json")" = true ]
  [ "$(jq -r '[.linux.namespaces[].type] | index("network")' "$T/rl/config.json")" = null ]
  [ "$(jq -r '.linux.uidMappings[0].hostID' "$T/rl/config.json")" = "$(id -u)" ]
  [ "$(jq -r '.linux.resources' "$T/rl/config.json")" = null ]
  run "$R" spec --bundle "$T/rl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"exists"* ]]
}

@test "kill: a stopped container refuses a plain kill, kill --all succeeds as runc" {
  start_bg
  rt kill "$ID" KILL
  wait_for sh -c "[ \"\$($R --root $ROOT state $ID | jq -r .status)\" = stopped ]"
  run rt kill "$ID" TERM
  [ "$status" -eq 1 ]
  [[ "$output" == *"container not running"* ]]
  run rt kill --all "$ID" KILL
  [ "$status" -eq 0 ]
  run rt delete "$ID"
  [ "$status" -eq 0 ]
}

@test "process.ioPriority and linux.personality reach the init and exec'd processes" {
  cfg '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0} | .linux.personality = {"domain": "LINUX32"}'
  args sh -c 'uname -m; sleep 1000'
  rt run -d -b "$B" --pid-file "$T/pid" "$ID" </dev/null >"$T/out" 2>&1
  pid="$(cat "$T/pid")"
  wait_for test -s "$T/out"
  [ "$(head -1 "$T/out")" = i686 ]
  if command -v ionice >/dev/null; then
    [ "$(ionice -p "$pid")" = idle ]
  fi
  run rt exec "$ID" uname -m
  [ "$output" = i686 ]
  cfg '.process.ioPriority = {"class": "IOPRIO_CLASS_NOPE", "priority": 0}'
  run rt create -b "$B" other
  [ "$status" -eq 1 ]
  [ "$output" = 'berth-runtime: config.json: process.ioPriority.class: unknown class "IOPRIO_CLASS_NOPE"' ]
}

@test "events: an OOM kill in the container's cgroup prints an oom event" {
  cfg '.linux.resources.memory = {"limit": 16777216, "swap": 16777216}'
  # the child that fills memory is OOM-killed; the init survives it
  start_bg sh -c 'sleep 0.5; tail /dev/zero; sleep 1000'
  out="$T/events.out"
  timeout 20 "$R" --root "$ROOT" events --interval 30s "$ID" > "$out" &
  ev=$!
  wait_for grep -q '"type":"oom"' "$out" || { sleep 5; grep -q '"type":"oom"' "$out"; }
  kill "$ev"
  [ "$(grep -c '"type":"oom"' "$out")" -ge 1 ]
  [ "$(grep '"type":"oom"' "$out" | head -1 | jq -r .id)" = "$ID" ]
  # the first line is the stats event; no oom event before the kill
  [ "$(head -1 "$out" | jq -r .type)" = stats ]
  [ "$(awk '{print $NF}' /sys/fs/cgroup/memory/berth/$ID/memory.oom_control | tail -1)" -ge 1 ]
}
