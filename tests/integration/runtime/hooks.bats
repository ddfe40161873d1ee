#!/usr/bin/env bats
# OCI hooks that run inside the container: createContainer (container
# namespaces, host path, before pivot_root) and startContainer (container
# namespaces and root, after start, before the program), with the state on
# stdin and timeouts.

load rt_common

setup() { rt_setup; }
teardown() { rt_teardown; }

@test "createContainer runs in the container's namespaces with the state on stdin" {
  cat > "$T/cc.sh" <<HOOK
#!/bin/sh
cat > "$T/cc.state"
readlink /proc/self/ns/mnt > "$T/cc.mnt"
readlink /proc/self/ns/uts > "$T/cc.uts"
hostname > "$T/cc.hostname"
HOOK
  chmod +x "$T/cc.sh"
  cfg ".hostname = \"hooked\" | .hooks = {\"createContainer\": [{\"path\": \"$T/cc.sh\"}]}"
  args sleep 100
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null >/dev/null 2>&1
  pid="$(cat "$T/pid")"
  [ "$(cat "$T/cc.mnt")" = "$(readlink /proc/$pid/ns/mnt)" ]
  [ "$(cat "$T/cc.mnt")" != "$(readlink /proc/self/ns/mnt)" ]
  [ "$(cat "$T/cc.uts")" = "$(readlink /proc/$pid/ns/uts)" ]
  [ "$(cat "$T/cc.hostname")" = hooked ]
  [ "$(jq -r .id "$T/cc.state")" = "$ID" ]
  [ "$(jq -r .pid "$T/cc.state")" = "$pid" ]
  [ "$(jq -r .bundle "$T/cc.state")" = "$B" ]
}

@test "startContainer runs in the container after start, before the program" {
  cfg '.root.readonly = false'
  mkdir -p "$B/rootfs/tmp"
  printf '#!/bin/sh\ncat > /tmp/start.state\necho "hook saw $(hostname)" > /tmp/started\n' > "$B/rootfs/bin/starthook"
  chmod +x "$B/rootfs/bin/starthook"
  cfg '.hooks = {"startContainer": [{"path": "/bin/starthook"}]}'
  args cat /tmp/started
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = "hook saw berth" ]
  [ "$(jq -r .id "$B/rootfs/tmp/start.state")" = "$ID" ]
  # a failing startContainer hook keeps the program from running
  printf '#!/bin/sh\nexit 3\n' > "$B/rootfs/bin/starthook"
  args sh -c 'echo ran > /tmp/ran'
  run rt run -b "$B" "$ID"
  [ "$status" -ne 0 ]
  [ ! -e "$B/rootfs/tmp/ran" ]
}

@test "hook timeouts kill the hook and fail the operation, leaving nothing behind" {
  cfg '.hooks = {"createContainer": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}'
  start=$(date +%s)
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: hooks.createContainer[0]: /bin/sleep timed out" ]
  [ $(( $(date +%s) - start )) -lt 10 ]
  [ ! -e "$ROOT/$ID" ]
  [ ! -d /sys/fs/cgroup/memory/berth/$ID ]
  cfg '.hooks = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}'
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: hooks.createRuntime[0]: /bin/sleep timed out" ]
  [ ! -e "$ROOT/$ID" ]
  cfg '.hooks = {"createContainer": [{"path": "/bin/false"}]}'
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: hooks.createContainer[0]: /bin/false exited with status 1" ]
}
