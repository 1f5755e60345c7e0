#!/usr/bin/env bash
# Configures and builds tpserve. Usage: scripts/build.sh [release|asan] [extra cmake args...]
#   release (default): build/       optimized, run-time CPU dispatch
#   asan:              build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (-O1 -g1: line tables for the reports)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-release}"
shift || true
case "$mode" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DTPS_SANITIZE=ON -DTPS_BUILD_BENCHMARKS=OFF) ;;
  *) echo "usage: scripts/build.sh [release|asan]" >&2; exit 2 ;;
esac
jobs="${TPS_JOBS:-$(nproc)}"
cmake -S . -B "$dir" -G Ninja -DTPS_WERROR=ON "${args[@]}" "$@" >/dev/null
cmake --build "$dir" -j "$jobs"
echo "$dir"
