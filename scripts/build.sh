#!/usr/bin/env bash
# Configure and build berth into build/ (binaries in build/bin).
# BERTH_SANITIZE=1 builds with ASan/UBSan into build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
extra=()
if [[ "${BERTH_SANITIZE:-0}" == 1 ]]; then dir=build-asan; extra+=(-DBERTH_SANITIZE=ON); fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="${BERTH_BUILD_TYPE:-RelWithDebInfo}" "${extra[@]}" >/dev/null
ninja -C "$dir" -j"$(nproc)"
