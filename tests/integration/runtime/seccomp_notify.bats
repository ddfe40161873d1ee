#!/usr/bin/env bats
# Seccomp user notification: SCMP_ACT_NOTIFY rules, the listener fd sent with
# the container process state to linux.seccomp.listenerPath, answered by an
# agent (rt-seccomp-agent), for the init and for exec'd processes.

load rt_common

setup() {
  rt_setup
  AGENT="$(rt_helper rt-seccomp-agent)"
  mkdir -p "$T/agent" "$B/rootfs/tmp"
}
teardown() {
  [ -n "${APID:-}" ] && kill "$APID" 2>/dev/null
  rt_teardown
}

start_agent() {
  "$AGENT" "$T/agent/sock" "$T/agent" "$@" >"$T/agent/out" 2>&1 &
  APID=$!
  wait_for test -e "$T/agent/ready"
}

notify_profile() {  # notify_profile FLAGS-JSON
  cfg ".root.readonly = false | .linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$T/agent/sock\",\"listenerMetadata\":\"meta-$ID\",\"flags\":$1,\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
}

@test "seccomp notify: the agent gets the fd and state, and its answer is what the container sees" {
  start_agent
  notify_profile '[]'
  args sh -c 'mkdir /tmp/faked && echo mkdir-ok; ls -d /tmp/faked 2>/dev/null || echo absent'
  run rt run -b "$B" "$ID"
  [ "$status" -eq 0 ]
  # the agent answered "success" without doing anything
  [ "${lines[0]}" = mkdir-ok ]
  [ "${lines[1]}" = absent ]
  [ ! -e "$B/rootfs/tmp/faked" ]
  # containerProcessState as the OCI spec shapes it
  s="$T/agent/state-0.json"
  [ "$(jq -r .ociVersion "$s")" = 1.0.2 ]
  [ "$(jq -c .fds "$s")" = '["seccompFd"]' ]
  [ "$(jq -r .metadata "$s")" = "meta-$ID" ]
  [ "$(jq -r .state.id "$s")" = "$ID" ]
  [ "$(jq -r .state.status "$s")" = creating ]
  [ "$(jq -r .state.bundle "$s")" = "$B" ]
  [ "$(jq -r .pid "$s")" = "$(jq -r .state.pid "$s")" ]
  # the notification came from the container's process (mkdir = 83 on x86_64)
  grep -q '^83 ' "$T/agent/log"
}

@test "seccomp notify: exec'd processes send their own listener; an errno answer reaches the caller" {
  start_agent 28  # ENOSPC
  notify_profile '["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]'
  cfg '.process.noNewPrivileges = false'
  start_bg
  run rt exec "$ID" sh -c 'mkdir /tmp/e 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  [[ "$output" == *"No space left on device"* ]]
  [[ "$output" == *"rc=1"* ]]
  [ ! -e "$B/rootfs/tmp/e" ]
  s="$T/agent/state-1.json"
  [ "$(jq -r .state.status "$s")" = running ]
  [ "$(jq -r .state.pid "$s")" = "$PID" ]
  [ "$(jq -r .pid "$s")" != "$PID" ]
}

@test "seccomp notify: configuration errors name the field; an absent agent fails create cleanly" {
  run rt run -b "$B" "$ID"  # sanity: the bundle runs
  cfg ".linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [ "$output" = "berth-runtime: config.json: linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY rules" ]
  cfg ".linux.seccomp = {\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"$T/agent/sock\"}"
  run rt create -b "$B" "$ID"
  [ "$output" = "berth-runtime: config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action" ]
  cfg ".linux.seccomp = {\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"
  run rt create -b "$B" "$ID"
  [[ "$output" == *"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule"* ]]
  # no agent listening: create fails, nothing is left
  notify_profile '[]'
  run rt create -b "$B" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"linux.seccomp.listenerPath: connect $T/agent/sock"* ]]
  [ ! -e "$ROOT/$ID" ]
  [ ! -d /sys/fs/cgroup/memory/berth/$ID ]
}
