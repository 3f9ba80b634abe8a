#!/usr/bin/env bash
# The CI fuzz smoke run: builds the fuzz targets with ASan+UBSan, replays every saved finding,
# then fuzzes the differential target (and briefly the parser target) from the seed corpus for a
# bounded time, checks the fuzzer's contextlib.py probes against a trace (ctxfuzz-pycov
# --check-probes) and that every planted bug of tools/mutants/ still compiles (fuzz power is
# measured on them). Fails on any divergence, oracle error, crash, leak or sanitizer report
# (divergences on fuzz/known-divergences.txt are skipped: they are written down already).
#   scripts/fuzz-smoke.sh [SECONDS]     (default 45: the differential target's fuzzing time)
# Findings go to build/fuzz/findings/ (program, both traces, the Python export, the input).
# The regression programs made from findings (corpus/fuzz/) are replayed by the conformance run.
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"
seconds=${1:-45}
start=$SECONDS

fuzz_build fuzz ctxfuzz_diff ctxfuzz_parse ctxfuzz-seeds ctxfuzz-pycov
fuzz_env
fuzz_seeds
export CTXFUZZ_FINDINGS="$FUZZ_DIR/findings"
rm -rf "$CTXFUZZ_FINDINGS" "$FUZZ_DIR/smoke"
mkdir -p "$FUZZ_DIR/smoke/diff" "$FUZZ_DIR/smoke/parse"
echo "== fuzz smoke: built and seeded in $((SECONDS - start)) s"

# libFuzzer's output without its per-input progress lines.
quiet() { grep -v -E '^#[0-9]+.*(NEW|REDUCE|pulse|RELOAD)' || true; }

# Every saved finding: its input must agree now, or match its known-divergence entry.
shopt -s nullglob
saved=("$fuzz_root"/fuzz/findings/*/input.bin)
if ((${#saved[@]})); then
  echo "== replaying ${#saved[@]} saved findings"
  "$FUZZ_BIN/ctxfuzz_diff" -runs=0 -detect_leaks=0 "${saved[@]}" 2>&1 | quiet
fi

echo "== ctxfuzz_diff: ${seconds} s from the seed corpus"
(cd "$FUZZ_DIR/smoke" && "$FUZZ_BIN/ctxfuzz_diff" -max_total_time="$seconds" -timeout=10 \
  -detect_leaks=0 -rss_limit_mb=2048 -dict="$FUZZ_DIR/diff.dict" -print_final_stats=1 \
  diff "$FUZZ_DIR/seeds/diff" 2>&1 | quiet)
echo "== ctxfuzz_parse: 10 s"
(cd "$FUZZ_DIR/smoke" && "$FUZZ_BIN/ctxfuzz_parse" -max_total_time=10 -timeout=10 \
  -max_len=16384 -dict="$fuzz_root/fuzz/parse.dict" -print_final_stats=1 \
  parse "$FUZZ_DIR/seeds/parse" 2>&1 | quiet)
echo "== contextlib.py probes against the trace, on corpus/"
"$FUZZ_BIN/ctxfuzz-pycov" --check-probes "$fuzz_root/corpus" | tail -n 1
echo "== planted bugs (tools/mutants/): each patched impl/ still compiles the runner"
"$fuzz_root/tools/mutants/build-mutant.sh" --check-builds
for f in "$CTXFUZZ_FINDINGS"/reduces-to-known-*/; do
  echo "note: $f shows a known divergence in another form (see its triage.txt)"
done
echo "== fuzz smoke passed in $((SECONDS - start)) s"
