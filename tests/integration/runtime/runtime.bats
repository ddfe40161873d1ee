#!/usr/bin/env bats
# berth-runtime against the real kernel, checked from inside the container.
# Needs root. BERTH_RUNTIME may point at the binary (default: build/bin).
#   bats tests/integration/runtime/runtime.bats

setup_file() {
  [ "$(id -u)" = 0 ] || skip "needs root"
}

setup() {
  [ "$(id -u)" = 0 ] || skip "needs root"
  R="${BERTH_RUNTIME:-$BATS_TEST_DIRNAME/../../../build/bin/berth-runtime}"
  [ -x "$R" ] || skip "berth-runtime not built at $R"
  T="$(mktemp -d /tmp/rt-bats-XXXXXX)"
  ROOT="$T/state"
  B="$T/bundle"
  mkdir -p "$B/rootfs/bin" "$B/rootfs/etc" "$B/rootfs/work"
  cp /bin/busybox "$B/rootfs/bin/busybox"
  for c in sh echo cat hostname id ls sleep true false mount env pwd stat grep touch ps head wc tty; do
    ln -s busybox "$B/rootfs/bin/$c"
  done
  echo "root:x:0:0:root:/root:/bin/sh" > "$B/rootfs/etc/passwd"
  (cd "$B" && "$R" spec)
  ID="rt$$-$BATS_TEST_NUMBER"
}

teardown() {
  [ -n "${R:-}" ] && [ -n "${ROOT:-}" ] && "$R" --root "$ROOT" delete -f "$ID" 2>/dev/null || true
  [ -n "${T:-}" ] && rm -rf "$T"
}

# cfg JQ-FILTER: edit config.json in place.
cfg() {
  jq "$1" "$B/config.json" > "$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
}

args() {
  local a
  a="$(printf '%s\n' "$@" | jq -R . | jq -s -c .)"
  cfg ".process.args = $a"
}

rt() { "$R" --root "$ROOT" "$@"; }

@test "run: pid 1 in a pid namespace, hostname, /proc, env and cwd" {
  args sh -c 'echo pid=$$; hostname; test -e /proc/self/status && echo proc=ok; echo foo=$FOO; pwd'
  cfg '.hostname = "boxy" | .process.env += ["FOO=bar"] | .process.cwd = "/work"'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "pid=1" ]
  [ "${lines[1]}" = "boxy" ]
  [ "${lines[2]}" = "proc=ok" ]
  [ "${lines[3]}" = "foo=bar" ]
  [ "${lines[4]}" = "/work" ]
}

@test "run: /sys is read-only, /dev/null usable, root read-only, masked paths" {
  args sh -c 'touch /sys/x 2>/dev/null && echo sys=rw || echo sys=ro; echo hi > /dev/null && echo null=ok; touch /x 2>/dev/null && echo root=rw || echo root=ro; cat /proc/keys | wc -c; (echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo procsys=rw || echo procsys=ro'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "sys=ro" ]
  [ "${lines[1]}" = "null=ok" ]
  [ "${lines[2]}" = "root=ro" ]
  [ "$(echo "${lines[3]}" | tr -d ' ')" = "0" ]
  [ "${lines[4]}" = "procsys=ro" ]
}

@test "run: uid, gid and additional groups are applied" {
  args id
  cfg '.process.user = {"uid": 1234, "gid": 567, "additionalGids": [8, 9]}'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *"uid=1234"* ]]
  [[ "$output" == *"gid=567"* ]]
  [[ "$output" == *"groups="*"8"*"9"* ]]
}

@test "run: capabilities are limited to the configured sets" {
  args sh -c 'grep -E "^Cap(Eff|Bnd|Prm)" /proc/self/status; grep NoNewPrivs /proc/self/status'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  # CAP_KILL(5), CAP_NET_BIND_SERVICE(10), CAP_AUDIT_WRITE(29)
  [[ "$output" == *"CapEff:	0000000020000420"* ]]
  [[ "$output" == *"CapBnd:	0000000020000420"* ]]
  [[ "$output" == *"NoNewPrivs:	1"* ]]
}

@test "run: exit code is propagated" {
  args sh -c 'exit 3'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 3 ]
  [ ! -e "$ROOT/$ID" ]
}

@test "run: a SIGKILLed init gives 137" {
  args sleep 100
  rt run -b "$B" "$ID" &
  local bg=$!
  for i in $(seq 100); do [ -e "$ROOT/$ID/state.json" ] && [ ! -e "$ROOT/$ID/exec.fifo" ] && break; sleep 0.05; done
  rt kill "$ID" KILL
  st=0
  wait $bg || st=$?
  [ "$st" -eq 137 ]
}

@test "create/start/state/kill/delete lifecycle with state transitions" {
  args sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  # the init keeps create's stdio, so do not capture it with `run`
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null >"$T/out" 2>&1
  [ -p "$ROOT/$ID/exec.fifo" ]
  run rt state "$ID"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .status)" = "created" ]
  [ "$(echo "$output" | jq -r .pid)" = "$(cat "$T/pid")" ]
  [ "$(echo "$output" | jq -r .id)" = "$ID" ]
  [ "$(echo "$output" | jq -r .bundle)" = "$B" ]
  [ "$(echo "$output" | jq -r .rootfs)" = "$B/rootfs" ]
  [ "$(echo "$output" | jq -r .owner)" = "" ]
  [ "$(echo "$output" | jq -r .ociVersion)" != "null" ]
  [ "$(echo "$output" | jq -r .created)" != "null" ]
  # the init is blocked before exec: still not sleep
  [ "$(cat /proc/$(cat "$T/pid")/comm)" != "sh" ]
  run rt start "$ID"
  [ "$status" -eq 0 ]
  run rt state "$ID"
  [ "$(echo "$output" | jq -r .status)" = "running" ]
  [ "$(cat /proc/$(cat "$T/pid")/comm)" = "sh" ]
  run rt start "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot start an already running container"* ]]
  run rt delete "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not stopped"* ]]
  run rt list
  [[ "$output" == *"$ID"*"running"* ]]
  run rt kill "$ID" TERM
  [ "$status" -eq 0 ]
  # the create process exited, so the init was reparented; wait for it to go
  for i in $(seq 100); do [ "$(rt state "$ID" | jq -r .status)" = "stopped" ] && break; sleep 0.05; done
  run rt state "$ID"
  [ "$(echo "$output" | jq -r .status)" = "stopped" ]
  [ "$(echo "$output" | jq -r .pid)" = "0" ]
  run rt kill "$ID" TERM
  [ "$status" -eq 1 ]
  run rt delete "$ID"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/$ID" ]
  run rt state "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not exist"* ]]
}

@test "cgroup: created with the memory limit, removed by delete" {
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\" | .linux.resources.memory = {\"limit\": 67108864} | .linux.resources.pids = {\"limit\": 50}"
  rt create -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  d=/sys/fs/cgroup/memory/berth-rt-test/$ID
  [ -d "$d" ]
  [ "$(cat $d/memory.limit_in_bytes)" = "67108864" ]
  [ "$(cat /sys/fs/cgroup/pids/berth-rt-test/$ID/pids.max)" = "50" ]
  grep -qx "$(rt state "$ID" | jq -r .pid)" $d/cgroup.procs
  rt start "$ID"
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  [ ! -d "$d" ]
  [ ! -d /sys/fs/cgroup/pids/berth-rt-test/$ID ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "cgroup: delete removes the directory of every hierarchy recorded at create" {
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\""
  rt create -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  mapfile -t dirs < <(jq -r '.cgroup_dirs[]' "$ROOT/$ID/state.json")
  # One per mounted hierarchy (v1 controllers, the unified one).
  [ "${#dirs[@]}" -eq "$(grep -E ' - cgroup2? ' /proc/self/mountinfo | awk '{print $5}' | grep -c '^/sys/fs/cgroup/')" ]
  for d in "${dirs[@]}"; do [ -d "$d" ]; done
  rt start "$ID"
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  for d in "${dirs[@]}"; do [ ! -d "$d" ]; done
  [ ! -e "$ROOT/$ID" ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "cgroup: create finds the hierarchies by statmount, without reading /proc/self/mountinfo" {
  command -v strace >/dev/null || skip "needs strace"
  # statmount's MNT_OPTS: Linux 6.11
  IFS=. read -r maj min _ <<<"$(uname -r)"
  [ "$maj" -gt 6 ] || { [ "$maj" -eq 6 ] && [ "$min" -ge 11 ]; } || skip "kernel before 6.11"
  [ -d /sys/fs/cgroup ] && mountpoint -q /sys/fs/cgroup || skip "/sys/fs/cgroup is not a mount"
  args true
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\""
  strace -f -e trace=openat,open -o "$T/strace" "$R" --root "$ROOT" run -b "$B" "$ID" </dev/null
  grep -q 'cgroup.procs' "$T/strace"
  [ "$(grep -c mountinfo "$T/strace")" = 0 ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "cgroup: a state without recorded directories (older runtime) still has its cgroup removed" {
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\""
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null >"$T/out" 2>&1
  mapfile -t dirs < <(jq -r '.cgroup_dirs[]' "$ROOT/$ID/state.json")
  [ "${#dirs[@]}" -gt 0 ]
  jq 'del(.cgroup_dirs)' "$ROOT/$ID/state.json" > "$T/s.json" && mv "$T/s.json" "$ROOT/$ID/state.json"
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  for d in "${dirs[@]}"; do [ ! -d "$d" ]; done
  pid=$(cat "$T/pid")
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "cgroup: v1 device rules are applied in order (deny all, then the allows)" {
  [ -d /sys/fs/cgroup/devices ] || skip "no v1 devices hierarchy"
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\" | .linux.resources.devices = [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"rwm\"}, {\"allow\": false, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"w\"}]"
  rt create -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  list=/sys/fs/cgroup/devices/berth-rt-test/$ID/devices.list
  [ "$(grep -cx 'a \*:\* rwm' "$list")" = 0 ]
  # The later deny of "w" took effect after the allow: 10:200 keeps "rm".
  grep -qx 'c 10:200 rm' "$list"
  # runc's defaults follow the spec's rules.
  grep -qx 'c 1:3 rwm' "$list"
  grep -qx 'c 136:\* rwm' "$list"
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "cgroup: the init makes device nodes from inside the container's device cgroup" {
  [ -d /sys/fs/cgroup/devices ] || skip "no v1 devices hierarchy"
  # The init mounts while the runtime attaches it to the cgroups, but waits
  # for the attach before its first mknod: a node the device cgroup does not
  # allow to be made (no "m" for 10:229) fails create.
  args true
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\" | .linux.devices = [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229, \"fileMode\": 438, \"uid\": 0, \"gid\": 0}] | .linux.resources.devices = [{\"allow\": false, \"access\": \"rwm\"}]"
  run rt create -b "$B" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"/dev/fuse"* ]]
  [ ! -e "$ROOT/$ID" ]
  [ ! -d /sys/fs/cgroup/devices/berth-rt-test/$ID ]
  # Allowed to be made ("m"), the same node is created.
  cfg '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "m"}] | .process.args = ["stat", "-c", "%t:%T", "/dev/fuse"]'
  run rt run -b "$B" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "a:e5" ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "a mount that fails while the init is being attached to its cgroups names the mount" {
  args true
  cfg '.mounts += [{"destination": "/mnt", "type": "nosuchfs", "source": "none"}]'
  run rt create -b "$B" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"/mnt"* ]]
  [ ! -e "$ROOT/$ID" ]
}

@test "cgroup: the container sees its own limit in /sys/fs/cgroup" {
  args cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  cfg '.linux.resources.memory = {"limit": 33554432}'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = "33554432" ]
}

@test "missing executable fails create with the docker-mapped message" {
  args nope
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = 'berth-runtime: exec: "nope": executable file not found in $PATH' ]
  [ ! -e "$ROOT/$ID" ]
  args /nope
  run rt create -b "$B" "$ID"
  [ "$output" = 'berth-runtime: exec: "/nope": stat /nope: no such file or directory' ]
  args /etc/passwd
  run rt create -b "$B" "$ID"
  [ "$output" = 'berth-runtime: exec: "/etc/passwd": permission denied' ]
  [ ! -e "$ROOT/$ID" ]
  [ ! -d /sys/fs/cgroup/memory/berth/$ID ]
}

@test "invalid configs fail with the field named and leave nothing behind" {
  cp "$B/config.json" "$T/good.json"
  check() {
    cp "$T/good.json" "$B/config.json"
    cfg "$1"
    run rt create -b "$B" "$ID"
    [ "$status" -eq 1 ]
    [ "$output" = "berth-runtime: config.json: $2" ]
    [ ! -e "$ROOT/$ID" ]
    [ ! -d /sys/fs/cgroup/memory/berth/$ID ]
    [ ! -d /sys/fs/cgroup/pids/berth/$ID ]
    ! grep -q "$B/rootfs/" /proc/self/mountinfo
  }
  check '.process.args = "sh"' 'process.args: expected array of strings'
  check '.linux.namespaces[2].type = "foo"' 'linux.namespaces[2].type: unknown namespace "foo"'
  check '.linux.uidMappings = [{"containerID":0,"hostID":1000,"size":1}]' 'linux.uidMappings: requires a new user namespace in linux.namespaces'
  check '.root.path = "missing"' "root.path: stat $B/missing: No such file or directory"
  check '.mounts[0].destination = "proc"' 'mounts[0].destination: must be an absolute path, got "proc"'
  check '.linux.resources.network = {"classID":1}' 'linux.resources.network: not supported by berth-runtime'
  check '.linux.resources.hugepageLimits = [{"pageSize":"3MB","limit":1}]' 'linux.resources.hugepageLimits[0].pageSize: page size "3MB" is not supported by this host'
  check '.process.user.uid = "root"' 'process.user.uid: expected integer'
}

@test "network namespace has loopback up; sysctl applied" {
  HOST_FWD="$(cat /proc/sys/net/ipv4/ip_forward)"
  args sh -c 'cat /sys/class/net/lo/operstate; cat /proc/sys/net/ipv4/ip_forward'
  cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .mounts |= map(if .destination == "/sys" then .options = ["nosuid","noexec","nodev"] else . end)'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "unknown" ] || [ "${lines[0]}" = "up" ]
  [ "${lines[1]}" = "1" ]
  # the host's value is untouched
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$HOST_FWD" ] || [ -z "${HOST_FWD:-}" ]
}

@test "no host fd leaks into the container" {
  args sh -c 'ls /proc/self/fd | wc -l'
  exec 7</etc/hostname
  run rt run -b "$B" "$ID"
  exec 7<&-
  [ "$status" -eq 0 ]
  # 0, 1, 2 and the fd ls uses to read the directory
  [ "$(echo "$output" | tr -d ' ')" = "4" ]
}

@test "seccomp: an ERRNO rule denies the syscall" {
  args sh -c 'mkdir /tmp/x 2>&1; echo rc=$?'
  mkdir -p "$B/rootfs/tmp"
  cfg '.root.readonly = false | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
  [[ "$output" == *"rc=1"* ]]
}

@test "rlimits and umask are applied" {
  args sh -c 'ulimit -n; umask'
  cfg '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 100}] | .process.user.umask = 63'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "100" ]
  [ "${lines[1]}" = "0077" ]
}

@test "run -d detaches and list shows the container" {
  args sleep 100
  rt run -d -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  run rt list -q
  [ "$output" = "$ID" ]
  run rt list --format json
  [ "$(echo "$output" | jq -r '.[0].status')" = "running" ]
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/$ID" ]
}

@test "state: state.json holds no copy of the config; config.json keeps the bundle's bytes for exec and update" {
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\""
  rt run -d -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  # start, state, kill and delete parse only the small state.json
  [ "$(jq 'has("config")' "$ROOT/$ID/state.json")" = false ]
  [ "$(stat -c %s "$ROOT/$ID/state.json")" -lt 2048 ]
  cmp "$B/config.json" "$ROOT/$ID/config.json"
  # exec takes its defaults from the stored config, not the bundle's now
  cfg '.process.env = ["PATH=/bin", "FROM=edited-bundle"]'
  run rt exec "$ID" sh -c 'echo from=${FROM:-stored}'
  [ "$status" -eq 0 ]
  [ "$output" = "from=stored" ]
  echo '{"memory":{"limit":67108864}}' > "$T/res.json"
  run rt update -r "$T/res.json" "$ID"
  [ "$status" -eq 0 ]
  [ "$(jq .linux.resources.memory.limit "$ROOT/$ID/config.json")" = 67108864 ]
  [ "$(jq 'has("config")' "$ROOT/$ID/state.json")" = false ]
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/$ID" ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "state: a state.json with the config inline (older runtime) still serves state, exec, update and delete" {
  args sleep 100
  cfg ".linux.cgroupsPath = \"/berth-rt-test/$ID\""
  rt run -d -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  jq --slurpfile c "$ROOT/$ID/config.json" '. + {config: $c[0]}' "$ROOT/$ID/state.json" > "$T/s.json"
  mv "$T/s.json" "$ROOT/$ID/state.json"
  rm "$ROOT/$ID/config.json"
  [ "$(rt state "$ID" | jq -r .status)" = running ]
  run rt exec "$ID" echo inline
  [ "$status" -eq 0 ]
  [ "$output" = inline ]
  echo '{"pids":{"limit":77}}' > "$T/res.json"
  run rt update -r "$T/res.json" "$ID"
  [ "$status" -eq 0 ]
  # the update moves the config out of state.json
  [ "$(jq .linux.resources.pids.limit "$ROOT/$ID/config.json")" = 77 ]
  [ "$(jq 'has("config")' "$ROOT/$ID/state.json")" = false ]
  mapfile -t dirs < <(jq -r '.cgroup_dirs[]' "$ROOT/$ID/state.json")
  run rt delete -f "$ID"
  [ "$status" -eq 0 ]
  for d in "${dirs[@]}"; do [ ! -d "$d" ]; done
  [ ! -e "$ROOT/$ID" ]
  rmdir /sys/fs/cgroup/*/berth-rt-test 2>/dev/null || true
}

@test "kill --all signals every process of the container" {
  args sh -c 'sleep 100 & sleep 100'
  rt run -d -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  for i in $(seq 50); do [ "$(grep -c . /sys/fs/cgroup/pids/berth/$ID/cgroup.procs)" = 3 ] && break; sleep 0.05; done
  run rt kill --all "$ID" KILL
  [ "$status" -eq 0 ]
  for i in $(seq 100); do [ "$(rt state "$ID" | jq -r .status)" = "stopped" ] && break; sleep 0.05; done
  [ "$(rt state "$ID" | jq -r .status)" = "stopped" ]
}

@test "terminal: pty sent over the console socket" {
  command -v python3 >/dev/null || skip "python3 needed"
  args sh -c 'tty; stty size'
  cfg '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
  run python3 - "$R" "$ROOT" "$B" "$ID" "$T/console.sock" <<'EOF'
import os, socket, subprocess, sys, time
r, root, b, cid, sp = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sp); s.listen(1)
subprocess.run([r, "--root", root, "create", "-b", b, "--console-socket", sp, cid], check=True)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1024, 1)
subprocess.run([r, "--root", root, "start", cid], check=True)
out = b""
end = time.time() + 5
while time.time() < end:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
print(out.decode().replace("\r", ""))
EOF
  [ "$status" -eq 0 ]
  [[ "$output" == *"/dev/pts/0"* ]]
  [[ "$output" == *"30 100"* ]]
}

@test "bind mounts: ro bind from the bundle, symlink escape stays inside" {
  mkdir -p "$T/data" && echo hello > "$T/data/f"
  ln -s /../../../../etc "$B/rootfs/escape"
  args sh -c 'cat /data/f; touch /data/g 2>/dev/null && echo rw || echo ro; ls /escape/marker'
  cfg ".mounts += [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$T/data\", \"options\": [\"rbind\", \"ro\"]}, {\"destination\": \"/escape/marker\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}]"
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello" ]
  [ "${lines[1]}" = "ro" ]
  # the symlink resolved inside the rootfs: /etc/marker was created there, not on the host
  [ -d "$B/rootfs/etc/marker" ]
  [ ! -e /etc/marker ]
}

@test "global flags: --log json, --version, --systemd-cgroup" {
  run "$R" --version
  [ "$status" -eq 0 ]
  [[ "$output" == *"berth-runtime version"* ]]
  run "$R" --root "$ROOT" --log "$T/log.json" --log-format json state nosuch
  [ "$status" -eq 1 ]
  [ "$(jq -r .level "$T/log.json")" = "error" ]
  [[ "$(jq -r .msg "$T/log.json")" == *"does not exist"* ]]
  run "$R" --systemd-cgroup state x
  [ "$status" -eq 1 ]
  [[ "$output" == *"not supported"* ]]
}

@test "user namespace: uid/gid mappings, devices bound from the host" {
  args sh -c 'id; cat /proc/self/uid_map; echo x > /dev/null && echo null=ok'
  chmod 755 "$T"  # the mapped root (host uid 100000) must reach the rootfs
  cfg '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "uid=0(root) gid=0"* ]]
  [ "$(echo ${lines[1]})" = "0 100000 65536" ]
  [ "${lines[2]}" = "null=ok" ]
}

@test "hooks: prestart gets the state on stdin, poststop runs at delete, a failing hook fails create" {
  cat > "$T/hook.sh" <<HOOK
#!/bin/sh
cat > "$T/hook-\$1.json"
HOOK
  chmod +x "$T/hook.sh"
  args true
  cfg ".hooks = {\"prestart\": [{\"path\": \"$T/hook.sh\", \"args\": [\"hook\", \"prestart\"]}], \"poststop\": [{\"path\": \"$T/hook.sh\", \"args\": [\"hook\", \"poststop\"]}]}"
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "$(jq -r .id "$T/hook-prestart.json")" = "$ID" ]
  [ "$(jq -r .pid "$T/hook-prestart.json")" -gt 0 ]
  [ "$(jq -r .status "$T/hook-poststop.json")" = "stopped" ]
  cfg ".hooks = {\"createRuntime\": [{\"path\": \"/bin/false\"}]}"
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: hooks.createRuntime[0]: /bin/false exited with status 1" ]
  [ ! -e "$ROOT/$ID" ]
}

@test "delete of a created container kills it; delete -f of a missing one succeeds" {
  args sleep 100
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null >"$T/out" 2>&1
  pid=$(cat "$T/pid")
  run rt delete "$ID"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/$ID" ]
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
  run rt delete -f nosuch
  [ "$status" -eq 0 ]
  run rt delete nosuch
  [ "$status" -eq 1 ]
}

@test "oracle: state JSON has the same keys and status as runc's" {
  command -v runc >/dev/null || skip "runc not installed"
  args sleep 100
  rt create -b "$B" "$ID" </dev/null >"$T/out" 2>&1
  runc --root "$T/runc" create -b "$B" "$ID" </dev/null >"$T/runc.out" 2>&1
  ours="$(rt state "$ID")"
  theirs="$(runc --root "$T/runc" state "$ID")"
  runc --root "$T/runc" delete -f "$ID" || true
  [ "$(echo "$ours" | jq -c 'keys')" = "$(echo "$theirs" | jq -c 'keys')" ]
  [ "$(echo "$ours" | jq -r .status)" = "$(echo "$theirs" | jq -r .status)" ]
  [ "$(echo "$ours" | jq -r .bundle)" = "$(echo "$theirs" | jq -r .bundle)" ]
  [ "$(echo "$ours" | jq -r .rootfs)" = "$(echo "$theirs" | jq -r .rootfs)" ]
  # both fail the same way on a missing container
  run rt state nosuch
  [ "$status" -eq 1 ]
  run runc --root "$T/runc" state nosuch
  [ "$status" -eq 1 ]
}
