#!/usr/bin/env bash
# Runs berth's whole test suite on this machine, as root:
#   1. installs dependencies and builds (scripts/install-deps.sh, build.sh)
#   2. unit and kernel-level integration tests (GoogleTest via ctest)
#   3. integration and end-to-end tests (bats: the real docker CLI and the
#      berth CLI against a throwaway berthd per file)
# and ends with one line "N passed, N failed".
# BERTH_TEST_FILTER=regex limits bats tests by name; BERTH_SKIP_BUILD=1 skips 1.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[[ $(id -u) == 0 ]] || { echo "test.sh: run as root (containers need it)" >&2; exit 2; }

if [[ ${BERTH_SKIP_BUILD:-0} != 1 ]]; then
  scripts/install-deps.sh || exit 2
  scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
fi

logdir=$root/build/test-logs
mkdir -p "$logdir"
passed=0 failed=0 skipped=0

# --- GoogleTest (unit + integration registered with ctest) -----------------
ctest --test-dir build --output-on-failure -j2 --timeout 300 >"$logdir/ctest.log" 2>&1
ct=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$logdir/ctest.log" | tail -n1)
if [[ -n $ct ]]; then
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$ct")
  nfail=$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$ct")
  nskip=$(grep -cE '\*\*\*Skipped|Not Run' "$logdir/ctest.log" || true)
  passed=$((passed + total - nfail - nskip)); failed=$((failed + nfail)); skipped=$((skipped + nskip))
  echo "gtest: $((total - nfail - nskip)) passed, $nfail failed, $nskip skipped (log: $logdir/ctest.log)"
  grep -E '^\s*[0-9]+ - .*\(Failed|Timeout|SEGFAULT|Exception' "$logdir/ctest.log" | sed 's/^/  FAILED /' || true
else
  echo "gtest: ctest produced no summary (see $logdir/ctest.log)"; failed=$((failed + 1))
fi

# --- bats (integration + end-to-end) ------------------------------------------
mapfile -t batsfiles < <(find tests/integration tests/e2e -name '*.bats' 2>/dev/null | sort)
if ((${#batsfiles[@]})); then
  filter=()
  [[ -n ${BERTH_TEST_FILTER:-} ]] && filter=(--filter "$BERTH_TEST_FILTER")
  bats --tap "${filter[@]}" "${batsfiles[@]}" >"$logdir/bats.tap" 2>&1
  bp=$(grep -cE '^ok [0-9]+' "$logdir/bats.tap" | tr -d ' ' || true)
  bs=$(grep -cE '^ok [0-9]+ .*# skip' "$logdir/bats.tap" || true)
  bf=$(grep -cE '^not ok [0-9]+' "$logdir/bats.tap" || true)
  passed=$((passed + bp - bs)); failed=$((failed + bf)); skipped=$((skipped + bs))
  echo "bats: $((bp - bs)) passed, $bf failed, $bs skipped (log: $logdir/bats.tap)"
  grep -E '^not ok' "$logdir/bats.tap" | sed 's/^/  /' || true
  if ((bf == 0 && bp == 0)); then echo "bats: no tests ran"; failed=$((failed + 1)); fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
