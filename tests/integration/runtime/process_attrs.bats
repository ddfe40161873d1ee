#!/usr/bin/env bats
# Time namespaces and linux.timeOffsets, process.scheduler,
# process.execCPUAffinity, linux.memoryPolicy, and the features that stay
# refused with a reason (joining a mount namespace, intelRdt, personality
# flags).

load rt_common

setup() { rt_setup; }
teardown() {
  [ -n "${ID2:-}" ] && rt delete -f "$ID2" 2>/dev/null
  rt_teardown
}

@test "time namespace: boottime and monotonic offsets are in place before the program runs" {
  cfg '.linux.namespaces += [{"type":"time"}] | .linux.timeOffsets = {"boottime":{"secs":864000,"nanosecs":0},"monotonic":{"secs":432000}}'
  # a createRuntime hook is the runtime's child: it stays on host time
  printf '#!/bin/sh\ncut -d. -f1 /proc/uptime > %s/hook.uptime\n' "$T" > "$T/hook.sh"
  chmod +x "$T/hook.sh"
  cfg ".hooks = {\"createRuntime\": [{\"path\": \"$T/hook.sh\"}]}"
  args sh -c 'cat /proc/uptime; cat /proc/self/timens_offsets'
  host_up="$(cut -d. -f1 /proc/uptime)"
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  [ "$(cat "$T/hook.uptime")" -lt $((host_up + 60)) ]
  up="$(echo "${lines[0]}" | cut -d. -f1)"
  [ "$up" -ge $((host_up + 864000)) ]
  [ "$up" -lt $((host_up + 864000 + 60)) ]
  [[ "$output" == *"monotonic      432000         0"* ]]
  [[ "$output" == *"boottime       864000         0"* ]]
}

@test "time namespace: exec joins it, a second container joins it by path" {
  cfg '.linux.namespaces += [{"type":"time"}] | .linux.timeOffsets = {"boottime":{"secs":864000}}'
  start_bg
  [ "$(readlink /proc/$PID/ns/time)" != "$(readlink /proc/self/ns/time)" ]
  host_up="$(cut -d. -f1 /proc/uptime)"
  run rt exec "$ID" cat /proc/uptime
  [ "$(echo "$output" | cut -d. -f1)" -ge $((host_up + 864000)) ]
  ID2="$ID-b"
  mkdir -p "$T/b2" && cp -a "$B/rootfs" "$T/b2/rootfs" && cp "$B/config.json" "$T/b2/"
  jq --arg p "/proc/$PID/ns/time" 'del(.linux.timeOffsets) | .linux.namespaces |= map(if .type == "time" then {"type":"time","path":$p} else . end) | .process.args = ["sh","-c","cat /proc/uptime; readlink /proc/self/ns/time"]' "$B/config.json" > "$T/b2/config.json"
  run rt run -b "$T/b2" "$ID2"
  [ "$status" -eq 0 ]
  [ "$(echo "${lines[0]}" | cut -d. -f1)" -ge $((host_up + 864000)) ]
  [ "${lines[1]}" = "$(readlink /proc/$PID/ns/time)" ]
  # offsets with a joined namespace, or without one, are refused
  jq '.linux.timeOffsets = {"boottime":{"secs":1}}' "$T/b2/config.json" > "$T/b2/c" && mv "$T/b2/c" "$T/b2/config.json"
  run rt run -b "$T/b2" "$ID2"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: config.json: linux.timeOffsets: cannot be set when joining an existing time namespace" ]
  cfg '.linux.namespaces |= map(select(.type != "time"))'
  run rt create -b "$B" "$ID-c"
  [ "$output" = "berth-runtime: config.json: linux.timeOffsets: requires a new time namespace in linux.namespaces" ]
}

# nice is field 19 of /proc/PID/stat, the policy field 41.
@test "process.scheduler: SCHED_BATCH with nice for the init, SCHED_IDLE for an exec; a refused policy is a clear error" {
  cfg '.process.scheduler = {"policy":"SCHED_BATCH","nice":7}'
  start_bg
  [ "$(cut -d' ' -f19,41 /proc/$PID/stat)" = "7 3" ]
  run rt exec "$ID" sh -c 'cut -d" " -f19,41 /proc/self/stat'
  [ "$output" = "7 3" ]
  echo '{"args":["sh","-c","cut -d\" \" -f19,41 /proc/self/stat"],"cwd":"/","scheduler":{"policy":"SCHED_IDLE"}}' > "$T/p.json"
  run rt exec -p "$T/p.json" "$ID"
  [ "$output" = "0 5" ]
  rt delete -f "$ID"
  # the kernel refuses a deadline whose runtime exceeds it
  cfg '.process.scheduler = {"policy":"SCHED_DEADLINE","runtime":20000000,"deadline":10000000,"period":30000000}'
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: process.scheduler: sched_setattr: invalid argument" ]
  [ ! -e "$ROOT/$ID" ]
  cfg '.process.scheduler = {"policy":"SCHED_NOPE"}'
  run rt create -b "$B" "$ID"
  [ "$output" = 'berth-runtime: config.json: process.scheduler.policy: unknown policy "SCHED_NOPE"' ]
}

@test "process.execCPUAffinity: final is the exec'd process's affinity; initial is validated" {
  [ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
  start_bg
  echo '{"args":["grep","Cpus_allowed_list","/proc/self/status"],"cwd":"/","execCPUAffinity":{"initial":"0","final":"1"}}' > "$T/p.json"
  run rt exec -p "$T/p.json" "$ID"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | tr -d '\t ')" = "Cpus_allowed_list:1" ]
  echo '{"args":["true"],"cwd":"/","execCPUAffinity":{"final":"0-x"}}' > "$T/p.json"
  run rt exec -p "$T/p.json" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = 'berth-runtime: process.execCPUAffinity.final: invalid CPU list "0-x"' ]
}

@test "linux.memoryPolicy: the container's processes run under the policy" {
  [ -e /proc/self/numa_maps ] || skip "no NUMA support"
  cfg '.linux.memoryPolicy = {"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}'
  start_bg
  grep -q ' interleave=static:0 \| interleave:0 \|interleave=static' /proc/$PID/numa_maps
  run rt exec "$ID" sh -c 'grep -c -e "bind" -e "interleave" /proc/self/numa_maps'
  [ "$output" -gt 0 ]
  rt delete -f "$ID"
  cfg '.linux.memoryPolicy = {"mode":"MPOL_BIND","nodes":"0"}'
  args sh -c 'head -1 /proc/self/numa_maps'
  run rt run -b "$B" "$ID"
  [[ "$output" == *" bind:0 "* ]]
  cfg '.linux.memoryPolicy = {"mode":"MPOL_BIND"}'
  run rt create -b "$B" "$ID"
  [ "$output" = "berth-runtime: config.json: linux.memoryPolicy.nodes: required for MPOL_BIND" ]
  cfg '.linux.memoryPolicy = {"mode":"MPOL_SOMETIMES","nodes":"0"}'
  run rt create -b "$B" "$ID"
  [ "$output" = 'berth-runtime: config.json: linux.memoryPolicy.mode: unknown mode "MPOL_SOMETIMES"' ]
}

@test "still refused, with the reason: joining a mount namespace, intelRdt without resctrl, personality flags" {
  cp "$B/config.json" "$T/good.json"
  cfg '.linux.namespaces |= map(if .type == "mount" then {"type":"mount","path":"/proc/1/ns/mnt"} else . end)'
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"linux.namespaces[4].path: joining an existing mount namespace is not supported: the rootfs mounts and pivot_root would be applied to a namespace the container does not own"* ]]
  [ ! -e "$ROOT/$ID" ]
  cp "$T/good.json" "$B/config.json"
  if [ ! -e /sys/fs/resctrl/schemata ]; then
    cfg '.linux.intelRdt = {"closID":"x","l3CacheSchema":"L3:0=f"}'
    run rt create -b "$B" "$ID"
    [ "$output" = "berth-runtime: config.json: linux.intelRdt: Intel RDT (resctrl) is not available on this host: /sys/fs/resctrl is not mounted" ]
    cp "$T/good.json" "$B/config.json"
  fi
  cfg '.linux.personality = {"domain":"LINUX","flags":["ADDR_NO_RANDOMIZE"]}'
  run rt create -b "$B" "$ID"
  [ "$output" = 'berth-runtime: config.json: linux.personality.flags: unknown flag "ADDR_NO_RANDOMIZE" (the OCI spec defines no personality flags)' ]
}

@test "the program starts with no signal ignored, whatever the runtime inherited (init and exec)" {
  # The runtime runs with SIGINT, SIGQUIT and SIGRTMIN+0 ignored, as a shell's
  # background job (and glibc's posix_spawn children, for 32 and 33) would.
  args grep SigIgn /proc/self/status
  run bash -c "trap '' INT QUIT RTMIN; exec \"$R\" --root \"$ROOT\" run -b \"$B\" \"$ID\""
  [ "$status" -eq 0 ]
  [ "$output" = "SigIgn:	0000000000000000" ]
  args sleep 100
  rt run -d -b "$B" "$ID" </dev/null >/dev/null 2>&1
  run bash -c "trap '' INT QUIT RTMIN; exec \"$R\" --root \"$ROOT\" exec \"$ID\" grep SigIgn /proc/self/status"
  [ "$status" -eq 0 ]
  [ "$output" = "SigIgn:	0000000000000000" ]
}
