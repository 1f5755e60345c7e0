#!/usr/bin/env bash
# The test command (README, .ci/run): install dependencies, build, run every test not labelled
# slow. With --asan, also builds the sanitizer configuration and runs the unit and golden tests
# under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
asan=0
for a in "$@"; do
  case "$a" in
    --asan) asan=1 ;;
    *) echo "usage: scripts/test.sh [--asan]" >&2; exit 2 ;;
  esac
done
scripts/install_deps.sh
jobs="${TPS_JOBS:-$(nproc)}"
scripts/build.sh release >/dev/null
ctest --test-dir build -LE slow -j "$jobs" --output-on-failure --timeout 600
# A client nobody here wrote: the Python example (grpcio stubs generated from the proto) streams a
# chat from a real local cluster.
scripts/client_smoke.sh
if [ "$asan" = 1 ]; then
  scripts/build.sh asan >/dev/null
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L 'unit|golden' -LE slow -j "$jobs" --output-on-failure --timeout 900
fi
