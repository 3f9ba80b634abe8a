#!/usr/bin/env bash
# The main job: set up, build, then replay the conformance corpus on ctxlib and on the
# embedded CPython and print the result. Usage: scripts/conformance.sh [PATH...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
if (($#)); then
  build/default/tools/ctxdiff/ctxdiff check "$@"
else
  build/default/tools/ctxdiff/ctxdiff check corpus
fi
