#!/usr/bin/env bash
# The README's test command: installs what is missing, configures and builds
# everything with warnings as errors, and runs every test with ctest.
#   tools/run-tests.sh          build/ (RelWithDebInfo)
#   tools/run-tests.sh --asan   build-asan/ under AddressSanitizer + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
sanitize=""
case "${1:-}" in
  "") ;;
  --asan) build=build-asan; sanitize="address,undefined" ;;
  *) echo "usage: tools/run-tests.sh [--asan]" >&2; exit 2 ;;
esac

tools/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DHBMON_WERROR=ON -DHBMON_SANITIZE="$sanitize"
cmake --build "$build" -j "$jobs"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd "$build"
ctest --output-on-failure -j "$jobs"
