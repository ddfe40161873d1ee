#!/usr/bin/env bats
# End-to-end (docker CLI 28): security defaults and settings of containers.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

status_field() { docker run --rm "$@" busybox grep "$FIELD" /proc/self/status | awk '{print $2}'; }

@test "default: Docker's 14 capabilities, seccomp filter on, no-new-privileges off" {
  run docker run --rm busybox sh -c 'grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status'
  [ "$status" -eq 0 ]
  [[ $output == *"CapEff:"*"00000000a80425fb"* ]]
  [[ $output == *"CapBnd:"*"00000000a80425fb"* ]]
  [[ $output == *"Seccomp:"*"2"* ]]
  [[ $output == *"NoNewPrivs:"*"0"* ]]
}

@test "default seccomp profile refuses what Docker's refuses (unshare, mount) and allows the rest" {
  run docker run --rm busybox unshare -n true
  [ "$status" -ne 0 ]
  [[ $output == *"Operation not permitted"* ]]
  run docker run --rm --cap-add SYS_ADMIN busybox unshare -n true
  [ "$status" -eq 0 ]
  run docker run --rm --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status
  [[ $output == *"0"* ]]
}

@test "--security-opt seccomp=PROFILE.json: the CLI sends the file content and it is applied" {
  prof=$BATS_TEST_TMPDIR/p.json
  cat >"$prof" <<'JSON'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
JSON
  run docker run --rm --security-opt "seccomp=$prof" busybox mkdir /tmp/x
  [ "$status" -ne 0 ]
  [[ $output == *"Operation not permitted"* ]]
  run docker run --rm --security-opt "seccomp=$prof" busybox touch /tmp/x
  [ "$status" -eq 0 ]
}

@test "--security-opt: no-new-privileges, apparmor and label errors, bad keys" {
  run docker run --rm --security-opt no-new-privileges busybox grep NoNewPrivs: /proc/self/status
  [[ $output == *"1"* ]]
  run docker run --rm --security-opt no-new-privileges:false busybox grep NoNewPrivs: /proc/self/status
  [[ $output == *"0"* ]]
  run docker run --rm --security-opt apparmor=docker-default busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"AppArmor is not enabled"* ]]
  run docker run --rm --security-opt label=type:foo busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"SELinux is not enabled"* ]]
  run docker run --rm --security-opt bogus=1 busybox true
  [ "$status" -eq 125 ]
  [[ $output == *'invalid --security-opt 2: "bogus=1"'* ]]
  [ -z "$(docker ps -aq)" ]
}

@test "--privileged: the host's bounding set, host devices, no seccomp, rw /sys, no masked paths" {
  hostbnd=$(awk '/^CapBnd/{print $2}' /proc/self/status)
  run docker run --rm --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls /dev/loop0; mount | grep " /sys "; cat /proc/kcore >/dev/null 2>&1 && echo kcore-readable; true'
  [ "$status" -eq 0 ]
  [[ $output == *"CapEff:"*"$hostbnd"* ]]
  [[ $output == *"Seccomp:"*"0"* ]]
  [[ $output == *"/dev/loop0"* ]]
  [[ $output == *"sysfs on /sys type sysfs (rw"* ]]
  run docker run --rm busybox sh -c 'mount | grep " /sys "; ls /dev/loop0'
  [[ $output == *"(ro"* ]]
  [[ $output == *"No such file"* ]]
}

@test "--cap-add/--cap-drop with and without CAP_ prefix, ALL, unknown capability" {
  run docker run --rm --cap-drop ALL --cap-add chown busybox grep CapEff: /proc/self/status
  [[ $output == *"0000000000000001"* ]]
  run docker run --rm --cap-drop CAP_NET_RAW busybox grep CapEff: /proc/self/status
  [[ $output == *"00000000a80405fb"* ]]
  run docker run --rm --cap-add NOPE busybox true
  [ "$status" -eq 125 ]
  [[ $output == *'unknown capability: "CAP_NOPE"'* ]]
  # A capability the host's bounding set lacks is refused by name, never dropped.
  local bnd
  bnd=$(awk '/^CapBnd/{print $2}' /proc/self/status)
  if (( (0x$bnd >> 24) & 1 )); then  # bit 24: CAP_SYS_RESOURCE
    skip "this host's bounding set has CAP_SYS_RESOURCE"
  fi
  run docker run --rm --cap-add SYS_RESOURCE busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"cannot add capability CAP_SYS_RESOURCE"* ]]
}

@test "--device maps a host device, with permissions; a missing device fails before create" {
  run docker run --rm --device /dev/loop0:/dev/xloop:r busybox sh -c 'ls -l /dev/xloop; head -c1 /dev/xloop >/dev/null && echo readable'
  [ "$status" -eq 0 ]
  [[ $output == *"7,   0"*"/dev/xloop"* ]]
  [[ $output == *readable* ]]
  # ":r" is read-only in the device cgroup too: opening for write is refused
  # (the kernel's EPERM), and the rule says "r", as runc applies it.
  run docker run --rm --device /dev/fuse:/dev/fuse:r busybox sh -c 'exec 3</dev/fuse && echo read-ok; exec 4>/dev/fuse && echo write-ok'
  [[ $output == *read-ok* ]]
  [[ $output != *write-ok* ]]
  [[ $output == *"Operation not permitted"* ]]
  id=$(docker run -d --device /dev/fuse:/dev/fuse:r busybox sleep 30)
  if [[ -f /sys/fs/cgroup/devices/berth/$id/devices.list ]]; then
    run -0 grep '^c 10:229 ' "/sys/fs/cgroup/devices/berth/$id/devices.list"
    [ "$output" = "c 10:229 r" ]
  fi
  docker rm -f "$id" >/dev/null
  # "no such file or directory" in the daemon's message: the CLI exits 127, as with dockerd
  run -127 docker run --rm --device /dev/nonexistent busybox true
  [[ $output == *'error gathering device information while adding custom device "/dev/nonexistent": no such file or directory'* ]]
  [ -z "$(docker ps -aq)" ]
}

@test "--sysctl: namespaced ones applied, others refused" {
  run docker run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=123456 busybox sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = 123456 ]
  # API directly (the CLI validates too): not namespaced
  run curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Sysctls":{"kernel.panic":"1"}}}' http://d/v1.41/containers/create
  [[ $output == *"sysctl 'kernel.panic' is not whitelisted"* ]]
  run curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}}}' http://d/v1.41/containers/create
  [[ $output == *"not allowed in host network namespace"* ]]
}

@test "--ulimit, --shm-size, --read-only, --domainname, --group-add, --oom-score-adj" {
  run docker run --rm --ulimit nofile=1234:2345 --shm-size 16m --read-only --domainname example.org \
    --group-add 123 --oom-score-adj 321 busybox sh -c 'ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1; touch /x 2>&1; cat /proc/sys/kernel/domainname; id -G; cat /proc/self/oom_score_adj'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1234 ]
  [ "${lines[1]}" = 2345 ]
  [[ ${lines[2]} == *"16384"* ]]
  [[ ${lines[3]} == *"Read-only file system"* ]]
  [ "${lines[4]}" = example.org ]
  [[ ${lines[5]} == *123* ]]
  [ "${lines[6]}" = 321 ]
  run docker run --rm --oom-score-adj 5000 busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"range for oom score adj is [-1000, 1000]"* ]]
}

@test "--pid host / container:X, --ipc host / container:X, --uts host" {
  docker run -d --name nsowner --ipc shareable busybox sleep 60  # dockerd joins only a shareable IPC
  run docker run --rm --pid container:nsowner busybox ps
  [[ $output == *"sleep 60"* ]]
  owner_pid=$(docker inspect -f '{{.State.Pid}}' nsowner)
  run docker run --rm --ipc container:nsowner busybox readlink /proc/self/ns/ipc
  [ "$output" = "$(readlink /proc/$owner_pid/ns/ipc)" ]
  run docker run --rm --pid host busybox readlink /proc/self/ns/pid
  [ "$output" = "$(readlink /proc/self/ns/pid)" ]
  run docker run --rm --ipc host busybox readlink /proc/self/ns/ipc
  [ "$output" = "$(readlink /proc/self/ns/ipc)" ]
  run docker run --rm --uts host busybox hostname
  [ "$output" = "$(hostname)" ]
  run docker run --rm --pid container:nonexistent busybox true
  [ "$status" -eq 125 ]
  docker rm -f nsowner
}

@test "--init: PID 1 is docker-init, which reaps and forwards SIGTERM (exit 143)" {
  run docker run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; ls -l /sbin/docker-init'
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "/sbin/docker-init -- sh -c"* ]]
  docker run -d --init --name inited busybox sleep 60
  run docker stop -t 5 inited
  run docker inspect -f '{{.State.ExitCode}}' inited
  [ "$output" = 143 ]
  docker rm inited
}

@test "default environment: PATH, HOSTNAME, HOME from /etc/passwd, TERM with -t" {
  run docker run --rm -u nobody --hostname envhost busybox env
  [[ $output == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
  [[ $output == *"HOSTNAME=envhost"* ]]
  [[ $output == *"HOME=/home"* ]]
  [[ $output != *"TERM="* ]]
  run docker run --rm -t busybox env
  [[ $output == *"TERM=xterm"* ]]
}

@test "--runtime selects another OCI runtime; unknown runtime is refused" {
  run docker run --rm --runtime runc busybox grep Seccomp: /proc/self/status
  [ "$status" -eq 0 ]
  [[ $output == *2* ]]
  run docker run --rm --runtime nope busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"Unknown runtime specified nope"* ]]
}

@test "a container's processes start with no signal ignored or blocked (init and exec), as under dockerd" {
  # berthd's threads and glibc's posix_spawn would otherwise hand down 32/33.
  run -0 docker run --rm --network none busybox grep -E '^Sig(Ign|Blk)' /proc/self/status
  [ "$output" = $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' ]
  id=$(docker run -d --network none busybox sleep 100)
  run -0 docker exec "$id" grep -E '^Sig(Ign|Blk)' /proc/self/status
  docker rm -f "$id" >/dev/null
  [ "$output" = $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' ]
}
