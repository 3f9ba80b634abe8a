#!/usr/bin/env bash
# From a fuzz finding to a corpus regression program, in one command: minimizes the divergent
# program (ctxfuzz-minimize, program-level), writes it to corpus/fuzz/NAME.ctx with a header,
# and records CPython's trace as its expectation (ctxdiff record). The conformance run then
# replays it (it fails until ctxlib is fixed, and guards the fix afterwards).
#   scripts/fuzz-regress.sh NAME FINDING [--match TEXT]
#     FINDING: a finding folder (…/findings/divergence-…/), its program.ctx or input.bin, or any
#              program file.
#     --match: keep only reductions whose divergence report contains TEXT (when a program shows
#              several differences).
# Uses the fuzz-nosan build (configured and built if needed).
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"
if (($# < 2)); then
  echo "usage: $0 NAME FINDING [--match TEXT]" >&2
  exit 2
fi
name=$1 finding=$2
shift 2
[[ $name =~ ^[A-Za-z0-9_]+$ ]] || { echo "NAME: letters, digits and _ only" >&2; exit 2; }
[[ -d $finding ]] && finding="$finding/program.ctx"
out="$fuzz_root/corpus/fuzz/$name.ctx"
[[ -e $out ]] && { echo "$out exists" >&2; exit 2; }

fuzz_build fuzz-nosan >/dev/null
export PYTHONMALLOC=malloc
mkdir -p "$fuzz_root/corpus/fuzz"
minimized=$(mktemp)
trap 'rm -f "$minimized"' EXIT
"$FUZZ_BIN/ctxfuzz-minimize" "$finding" -o "$minimized" "$@"
{
  echo "# fuzz: found by ctxfuzz_diff ($(basename "$(dirname "$finding")")), minimized by ctxfuzz-minimize."
  echo "# TODO: say what it shows (the CPython behaviour ctxlib must follow)."
  cat "$minimized"
} >"$out"
"$FUZZ_DIR/tools/ctxdiff/ctxdiff" record "$out"
echo "wrote $out; describe it in its header, then run: ctxdiff run $out"
