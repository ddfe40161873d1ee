#!/usr/bin/env bats
# berth-runtime safety properties on real bundles: the runtime binary cannot
# be run inside a container (CVE-2019-5736), compiled seccomp programs are
# cached by profile and never confused, bad configs leave nothing behind.

load rt_common

setup() { rt_setup; }
teardown() { rt_teardown; }

@test "CVE-2019-5736: /proc/self/exe as the program is refused, for create and exec" {
  args /proc/self/exe
  run rt run -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'exec: "/proc/self/exe": refusing to run the runtime binary inside the container (CVE-2019-5736)'* ]]
  [ ! -e "$ROOT/$ID" ]
  # through a #! interpreter, two levels deep
  printf '#!/proc/self/exe\n' > "$B/rootfs/bin/evil1"
  printf '#!/bin/evil1 x\n' > "$B/rootfs/bin/evil2"
  chmod +x "$B/rootfs/bin/evil1" "$B/rootfs/bin/evil2"
  args /bin/evil2
  run rt run -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"CVE-2019-5736"* ]]
  # a symlink to it, via exec into a running container
  ln -s /proc/self/exe "$B/rootfs/bin/selfexe"
  start_bg
  run rt exec "$ID" /bin/selfexe
  [ "$status" -eq 1 ]
  [[ "$output" == *"CVE-2019-5736"* ]]
  # ordinary scripts still run
  printf '#!/bin/sh\necho script ok\n' > "$B/rootfs/bin/fine"
  chmod +x "$B/rootfs/bin/fine"
  run rt exec "$ID" /bin/fine
  [ "$status" -eq 0 ]
  [ "$output" = "script ok" ]
}

@test "CVE-2019-5736: an ELF whose PT_INTERP is /proc/self/exe cannot reach a writable runtime binary" {
  EVIL="$(rt_helper rt-evil-interp)"
  PROBE="$(rt_helper rt-exec-probe)"
  # The attacked binary is a private copy (the probe really writes).
  cp "$R" "$T/berth-runtime"
  R="$T/berth-runtime"
  before="$(sha256sum < "$R")"
  cp "$EVIL" "$B/rootfs/evil"
  cp "$PROBE" "$B/rootfs/probe"
  # A privileged container: the attacker may ptrace and read map_files.
  cfg '.root.readonly = false | .process.capabilities.bounding += ["CAP_SYS_ADMIN","CAP_SYS_PTRACE"]
       | .process.capabilities.effective += ["CAP_SYS_ADMIN","CAP_SYS_PTRACE"]
       | .process.capabilities.permitted += ["CAP_SYS_ADMIN","CAP_SYS_PTRACE"]'
  args /evil
  rt create -b "$B" "$ID" </dev/null
  # the probe seizes the init before start and stops it at its execve of
  # /evil, with the interpreter (/proc/self/exe of the runtime) mapped
  rt exec -d "$ID" /probe /probe.out </dev/null >/dev/null 2>&1
  wait_for grep -q seized "$B/rootfs/probe.out"
  rt start "$ID"
  wait_for grep -q done "$B/rootfs/probe.out"
  cat "$B/rootfs/probe.out"
  grep -q '^map /memfd:berth-runtime (deleted) write=Operation not permitted$' "$B/rootfs/probe.out"
  [ "$(grep -c "write=ok" "$B/rootfs/probe.out")" = 0 ]
  [ "$(grep -c "^map $R" "$B/rootfs/probe.out")" = 0 ]
  [ "$(sha256sum < "$R")" = "$before" ]
}

@test "the init is not dumpable before exec: container processes cannot reach the runtime binary" {
  # A created container's init runs runtime code until start. A process in
  # the container (same uid, same caps) must not read its /proc/1/exe.
  args sleep 100
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null >/dev/null 2>&1
  pid="$(cat "$T/pid")"
  # create runs from a sealed memfd copy of the runtime, not the host file
  [ "$(readlink /proc/$pid/exe)" = "/memfd:berth-runtime (deleted)" ]
  run rt exec "$ID" sh -c 'readlink /proc/1/exe || echo denied'
  [ "$status" -eq 0 ]
  [ "$output" = denied ]
  rt start "$ID"
  # after execve the init is an ordinary (dumpable) process again
  run rt exec "$ID" readlink /proc/1/exe
  [ "$output" = /bin/busybox ]
}

@test "seccomp: compiled programs are cached by profile; a mismatched cache file is a miss" {
  deny='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
  cfg ".linux.seccomp = $deny | .root.readonly = false"
  args sh -c 'mkdir /tmp/x 2>/dev/null && echo made || echo denied'
  mkdir -p "$B/rootfs/tmp"
  run rt run -b "$B" "$ID"
  [ "$output" = denied ]
  files=("$ROOT"/.seccomp/*)
  [ "${#files[@]}" -eq 1 ]
  grep -q '"mkdirat"' "${files[0]}"
  before="$(stat -c %Y.%i "${files[0]}")"
  sleep 1.1
  run rt run -b "$B" "$ID"
  [ "$output" = denied ]
  # a hit reads the file, it does not rewrite it
  [ "$(stat -c %Y.%i "${files[0]}")" = "$before" ]
  # Another profile whose cache slot holds the first profile's program (a
  # forged collision) must not get that program.
  allow='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
  cfg ".linux.seccomp = $allow"
  run rt run -b "$B" "$ID"
  [ "$output" = made ]
  files2=("$ROOT"/.seccomp/*)
  [ "${#files2[@]}" -eq 2 ]
  for f in "${files2[@]}"; do [ "$f" = "${files[0]}" ] || other="$f"; done
  cp "${files[0]}" "$other"
  rm -rf "$B/rootfs/tmp/x"
  run rt run -b "$B" "$ID"
  [ "$output" = made ]
}

@test "bad input: each invalid config fails with the field named, exit 1, nothing left behind" {
  cp "$B/config.json" "$T/good.json"
  check() {
    cp "$T/good.json" "$B/config.json"
    cfg "$1"
    run rt create -b "$B" "$ID"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "berth-runtime: config.json: $2"* ]]
    [ ! -e "$ROOT/$ID" ]
    for c in memory pids cpu freezer devices; do [ ! -d /sys/fs/cgroup/$c/berth/$ID ]; done
    [ ! -d /sys/fs/cgroup/unified/berth/$ID ]
    ! grep -q "$B/rootfs" /proc/self/mountinfo
  }
  check '.process.args = "sh"' 'process.args: expected array of strings'
  check '.process.terminal = "yes"' 'process.terminal: expected boolean'
  check '.linux.namespaces += [{"type":"foo"}]' 'linux.namespaces[6].type: unknown namespace "foo"'
  check '.linux.gidMappings = [{"containerID":0,"hostID":1000,"size":1}]' 'linux.gidMappings: requires a new user namespace'
  check '.root.path = "nowhere"' "root.path: stat $B/nowhere: No such file or directory"
  check '.mounts[0].destination = "/../../proc"' 'mounts[0].destination: must not contain ".."'
  check '.process.cwd = "relative"' 'process.cwd'
  check '.linux.resources.memory.limit = "1g"' 'linux.resources.memory.limit: expected integer'
  check '.linux.seccomp = {"defaultAction":"SCMP_ACT_NOPE"}' 'linux.seccomp.defaultAction: unsupported seccomp action "SCMP_ACT_NOPE"'
  check '.process.rlimits = [{"type":"RLIMIT_BOGUS","hard":1,"soft":1}]' 'process.rlimits[0].type: unknown rlimit type "RLIMIT_BOGUS"'
  check '.process.capabilities.bounding += ["CAP_NOPE"]' 'process.capabilities.bounding[3]: unknown capability "CAP_NOPE"'
  check '.linux.sysctl = {"kernel.panic": "1"}' 'linux.sysctl: "kernel.panic": is not namespaced'
  if [ -e /sys/kernel/security/apparmor ]; then want='not supported by berth-runtime'; else want='AppArmor is not enabled on this host'; fi
  check '.process.apparmorProfile = "docker-default"' "process.apparmorProfile: $want"
  echo '{"ociVersion": ' > "$B/config.json"
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == "berth-runtime: config.json: invalid JSON"* ]]
  [ ! -e "$ROOT/$ID" ]
}
