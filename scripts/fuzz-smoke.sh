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

# A program on which CPython loops forever (X16) costs the oracle's time limit per run: the
# target returns -1 for it, so libFuzzer keeps it out of the corpus (of these two inputs only
# the other one stays), and ctxfuzz-pycov counts it as stopped, not as a failure.
hang="$fuzz_root/fuzz/findings/cpython_hangs_context_cycle/input.bin"
echo "== a program on which CPython hangs: kept out of the corpus, reported as stopped"
mkdir -p "$FUZZ_DIR/smoke/hang"
cp "$hang" "$FUZZ_DIR/smoke/hang/hangs.bin"
cp "$fuzz_root/fuzz/findings/coroutine_raised_stop_iteration/input.bin" "$FUZZ_DIR/smoke/hang/agrees.bin"
inited=$("$FUZZ_BIN/ctxfuzz_diff" -runs=0 -detect_leaks=0 "$FUZZ_DIR/smoke/hang" 2>&1 | grep INITED)
if ! grep -q 'corp: 1/' <<<"$inited"; then
  echo "fuzz smoke: the hanging program was not kept out of the corpus: $inited" >&2
  exit 1
fi
pycov=$("$FUZZ_BIN/ctxfuzz-pycov" "$hang" 2>&1)
if ! grep -q '1 programs stopped after' <<<"$pycov"; then
  echo "fuzz smoke: ctxfuzz-pycov did not report the hanging program as stopped" >&2
  exit 1
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
