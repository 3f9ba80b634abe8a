#!/usr/bin/env bash
# A long fuzz campaign on all cores: libFuzzer's fork mode runs one ctxfuzz_diff worker per core
# over a persistent corpus (build/fuzz-campaign/corpus/diff), keeps going after a finding
# (-ignore_crashes=1: every finding is written to build/fuzz-campaign/findings/ by the target),
# then merges the corpus (-merge=1) so it keeps only inputs that add coverage (ctxlib's, the
# harness's, and CPython's contextlib.py lines and line pairs, fuzz/pycoverage.hpp). RSS is sampled
# every 10 s into build/fuzz-campaign/rss.log; the contextlib.py coverage of corpus/ plus the
# campaign's corpus is written to build/fuzz-campaign/contextlib-coverage.txt. Exits 1 if libFuzzer
# saved an input of its own (a crash or sanitizer report, a timeout, an OOM: build/fuzz-campaign/work/).
#   scripts/fuzz-campaign.sh [--minutes N] [--jobs N] [--nosan] [--parse]
#     --minutes  how long to fuzz (default 30)
#     --jobs     workers (default: all cores)
#     --nosan    the fuzz-nosan build (faster; no sanitizer reports)
#     --parse    fuzz the parser target instead of the differential one
# Afterwards: scripts/fuzz-regress.sh NAME build/fuzz-campaign/findings/<finding> turns a finding
# into a minimized corpus regression program (docs/fuzzing.md).
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"
minutes=30 jobs=$(nproc) preset=fuzz target=diff
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --nosan) preset=fuzz-nosan; shift ;;
    --parse) target=parse; shift ;;
    *) echo "usage: $0 [--minutes N] [--jobs N] [--nosan] [--parse]" >&2; exit 2 ;;
  esac
done

fuzz_build "$preset"
fuzz_env
fuzz_seeds
campaign="$fuzz_root/build/fuzz-campaign"
corpus="$campaign/corpus/$target"
export CTXFUZZ_FINDINGS="$campaign/findings"
mkdir -p "$corpus" "$CTXFUZZ_FINDINGS" "$campaign/work"
dict="$FUZZ_DIR/diff.dict"
[[ $target == parse ]] && dict="$fuzz_root/fuzz/parse.dict"

rss_log="$campaign/rss.log"
: >"$rss_log"
(
  # Every worker's resident memory (KiB), to check it stays flat after warm-up.
  while sleep 10; do
    ps -C "ctxfuzz_$target" -o rss=,etimes=,pid= | awk -v t="$(date +%s)" '{print t, $3, $2, $1}' >>"$rss_log"
  done
) &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT

# What libFuzzer itself saves (a crash, a sanitizer report, a timeout) lands in work/, not in
# findings/: this campaign's are the ones newer than this stamp.
stamp="$campaign/work/.campaign-start"
: >"$stamp"

echo "== fuzzing ctxfuzz_$target for $minutes min on $jobs workers ($preset)"
(cd "$campaign/work" && "$FUZZ_BIN/ctxfuzz_$target" -fork="$jobs" -ignore_crashes=1 \
  -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
  -max_total_time=$((minutes * 60)) -dict="$dict" -print_final_stats=1 \
  "$corpus" "$FUZZ_DIR/seeds/$target") || true

echo "== merging the corpus"
merged="$campaign/corpus/$target.merged"
rm -rf "$merged" && mkdir -p "$merged"
"$FUZZ_BIN/ctxfuzz_$target" -merge=1 "$merged" "$corpus" >/dev/null 2>&1
rm -rf "$corpus" && mv "$merged" "$corpus"
echo "corpus: $(ls "$corpus" | wc -l) inputs"

if [[ $target == diff ]]; then
  "$FUZZ_BIN/ctxfuzz-pycov" "$fuzz_root/corpus" "$corpus" >"$campaign/contextlib-coverage.txt"
  sed -n '/^all /p' "$campaign/contextlib-coverage.txt" | sed 's/^/contextlib.py lines reached: /'
fi

shopt -s nullglob
findings=("$CTXFUZZ_FINDINGS"/*/)
echo "findings: ${#findings[@]} (in $CTXFUZZ_FINDINGS)"
# Triage: a known bug can show in a form the known list does not match (caught by a handler,
# say); reducing the finding while allowing known divergences shows whether it comes down to one.
# The reduction is kept next to the finding as triage.txt.
for f in "${findings[@]}"; do
  if [[ ! -e $f/triage.txt && -e $f/program.ctx ]]; then
    "$FUZZ_BIN/ctxfuzz-minimize" --allow-known "$f/program.ctx" >"$f/triage.txt" 2>&1 || true
  fi
  verdict=$(grep -m1 '^--- ' "$f/triage.txt" 2>/dev/null | sed 's/^--- //')
  echo "  $f: ${verdict:-not reproduced in a fresh process}"
done
# Crashes and sanitizer reports (-ignore_crashes=1 keeps fork mode going after them), timeouts
# and OOMs: each input is kept by libFuzzer in work/. A divergence shows here too (the target
# aborts after writing its finding).
mapfile -t artifacts < <(find "$campaign/work" -maxdepth 1 -newer "$stamp" \( -name 'crash-*' \
  -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
echo "inputs libFuzzer saved (crash, timeout, OOM, leak): ${#artifacts[@]} (in $campaign/work)"
for a in "${artifacts[@]}"; do
  echo "  $a (replay: $FUZZ_BIN/ctxfuzz_$target -runs=1 $a)"
done
# Per fuzzer process (fork mode: the controller and its workers), the longest sampled one.
awk '{n[$2]++; if (!($2 in first)) first[$2] = $4; last[$2] = $4; if ($4 > max[$2]) max[$2] = $4}
     END {for (p in n) if (n[p] > best) {best = n[p]; pid = p}
          if (best) printf "RSS of process %s over %d samples: first %d KiB, last %d KiB, max %d KiB\n",
                           pid, best, first[pid], last[pid], max[pid]}' "$rss_log"
(( ${#artifacts[@]} == 0 ))
