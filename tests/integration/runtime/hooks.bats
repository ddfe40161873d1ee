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

@test "prestart and createRuntime run in the runtime's namespaces after the container's mounts, before pivot_root" {
  for h in prestart createRuntime; do
    cat > "$T/$h.sh" <<HOOK
#!/bin/sh
cat > "$T/$h.state"
pid=\$(jq -r .pid "$T/$h.state")
echo $h >> "$T/order"
readlink /proc/self/ns/mnt > "$T/$h.mnt"
grep -c " $B/rootfs/proc " /proc/\$pid/mountinfo > "$T/$h.procmount"
HOOK
    chmod +x "$T/$h.sh"
  done
  printf '#!/bin/sh\necho createContainer >> %s/order\n' "$T" > "$T/cc.sh"
  chmod +x "$T/cc.sh"
  cfg ".hooks = {\"prestart\": [{\"path\": \"$T/prestart.sh\"}], \"createRuntime\": [{\"path\": \"$T/createRuntime.sh\"}], \"createContainer\": [{\"path\": \"$T/cc.sh\"}]}"
  args sleep 100
  rt create -b "$B" --pid-file "$T/pid" "$ID" </dev/null
  pid="$(cat "$T/pid")"
  [ "$(cat "$T/order" | tr '\n' ' ')" = "prestart createRuntime createContainer " ]
  for h in prestart createRuntime; do
    # the runtime's mount namespace, not the container's
    [ "$(cat "$T/$h.mnt")" = "$(readlink /proc/self/ns/mnt)" ]
    [ "$(cat "$T/$h.mnt")" != "$(readlink /proc/$pid/ns/mnt)" ]
    # the container's mounts exist and pivot_root has not happened: the
    # init's mountinfo (paths relative to its root) shows proc on ROOTFS/proc
    [ "$(cat "$T/$h.procmount")" -ge 1 ]
    [ "$(jq -r .status "$T/$h.state")" = creating ]
    [ "$(jq -r .pid "$T/$h.state")" = "$pid" ]
  done
  # after create the init has pivoted: the same mount is at /proc
  grep -q " / /proc rw,[a-z,]* - proc " /proc/$pid/mountinfo
  [ "$(grep -c " $B/rootfs/proc " /proc/$pid/mountinfo)" = 0 ]
  # a failing createRuntime hook fails create and leaves nothing
  rt delete -f "$ID"
  printf '#!/bin/sh\nexit 4\n' > "$T/createRuntime.sh"
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == "berth-runtime: hooks.createRuntime[0]: $T/createRuntime.sh exited with status 4"* ]]
  [ ! -e "$ROOT/$ID" ]
}

@test "berth-runtime allocates from huge-page-advised memory (src/hugeheap)" {
  [[ -r /sys/kernel/mm/transparent_hugepage/enabled ]] || skip "kernel without transparent huge pages"
  # A createRuntime hook is the runtime's child: it reads the runtime's maps.
  printf '#!/bin/sh\ngrep -c "^VmFlags:.* hg" /proc/$PPID/smaps > %s\n' "$T/hg" > "$T/hg.sh"
  chmod +x "$T/hg.sh"
  cfg ".hooks = {\"createRuntime\": [{\"path\": \"$T/hg.sh\"}]}"
  args true
  rt create -b "$B" "$ID" </dev/null >/dev/null 2>&1
  [ "$(cat "$T/hg")" -ge 1 ]
}
