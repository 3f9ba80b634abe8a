#!/usr/bin/env bash
# The test command: set up, build, and run every test with ctest — the default (g++) build,
# then the ASan+UBSan (clang) build, which leaves out the `export` tests (they compare Python
# scripts with the oracle: nothing of the C++ build is in them) and the benchmark smoke.
# Usage: scripts/test.sh [--no-asan]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

presets=(default asan)
[[ ${1:-} == --no-asan ]] && presets=(default)

for preset in "${presets[@]}"; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== $preset: ctest"
  ctest --preset "$preset" -j2
done
