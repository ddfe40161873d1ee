#!/usr/bin/env bats
# berth CLI parity: every case of tests/integration/cli/compare.sh runs
# through both the real docker CLI and berth against the same berthd, and
# stdout, stderr and exit codes must match after normalisation.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd
}

teardown_file() {
  stop_berthd
}

@test "berth and docker print the same for every compared command" {
  run env SOCK="unix://$BERTHD_SOCK" BERTH="$BERTH_BIN/berth" bash "$BERTH_SRC/tests/integration/cli/compare.sh"
  echo "$output" | grep -vE '^ok ' >&2 || true
  [ "$status" -eq 0 ]
  [[ $output == *" passed, 0 failed"* ]]
}
