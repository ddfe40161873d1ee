#!/usr/bin/env bats
# containerd 1.6 drives berth-runtime through containerd-shim-runc-v2:
# run, exec, pause/resume, kill, delete (see containerd_smoke.sh).

@test "containerd smoke: ctr run/exec/kill/delete with --runc-binary berth-runtime" {
  [ "$(id -u)" = 0 ] || skip "needs root"
  command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd not installed"
  R="${BERTH_RUNTIME:-$BATS_TEST_DIRNAME/../../../build/bin/berth-runtime}"
  [ -x "$R" ] || skip "berth-runtime not built at $R"
  run "$BATS_TEST_DIRNAME/containerd_smoke.sh" "$R"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"containerd smoke: OK"* ]]
}
