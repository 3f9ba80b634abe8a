#!/usr/bin/env bash
# fuzz-power.sh: how much the differential fuzzer and the corpus replay catch, measured on the
# planted bugs of tools/mutants/patches/. For each mutant it builds ctxfuzz_diff, ctxfuzz-seeds
# and ctxdiff against the patched impl/ (build-mutant.sh, the fuzz-nosan configuration, one build
# folder for all mutants: switching mutants recompiles only what includes ctxlib), then
#   (a) replays corpus/ with `ctxdiff check`: caught when a program diverges that agrees with the
#       unpatched impl/ (replayed first, as the baseline);
#   (b) runs ctxfuzz_diff from the seed corpus (corpus/ encoded once, by ctxfuzz-seeds) with the
#       dictionary for at most SECONDS: the seconds until the first divergence. libFuzzer runs the
#       seeds first, so a bug a seed already shows is found during that replay (marked "seed");
#   (c) runs it again from the seed corpus less the seeds of the programs that caught the mutant in
#       (a): would the fuzzer find the bug if the corpus had no program for it? (Skipped, "= (b)",
#       when the replay caught nothing: the seeds are the same.)
#   (d) runs it from an EMPTY corpus with only the dictionary: what generation alone finds,
#       without the seeds' head start.
# Divergences on fuzz/known-divergences.txt are skipped by the target as usual.
#
#   tools/mutants/fuzz-power.sh [-t SECONDS] [-b BUILD_DIR] [-s SEED] [NAME...]
#
#   NAME          default: every patch in tools/mutants/patches/
#   -t SECONDS    bound of each fuzz run (default 60)
#   -b BUILD_DIR  default build/power-fuzz (shared by all mutants)
#   -s SEED       libFuzzer's -seed (default 1; 0: a random one); runs still vary
#
# Prints one row per mutant and a summary; the table also goes to BUILD_DIR/power-logs/table.txt
# and every log (build, corpus replay, each fuzz run with its findings) to
# BUILD_DIR/power-logs/NAME/. A fuzz cell is the seconds from starting ctxfuzz_diff to its abort on
# the first divergence (CPython's start and the target's own reduction of the finding included),
# with the number of inputs run; "crash" or "hang" when ctxlib crashed or hung instead of
# diverging (still a detection); "not found" when nothing diverged within SECONDS. Builds run
# under `nice -n 10`.
#
# Exit status 0 when the issue's thresholds are met — at least 95 % of the mutants found by the
# fuzzer from the seed corpus within SECONDS, and at least 80 % caught by the corpus replay —,
# 1 when not, 2 on a usage or setup error.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/fuzz-common.sh
source "$root/scripts/fuzz-common.sh"

seconds=60
build=$root/build/power-fuzz
seed=1
while getopts "t:b:s:" option; do
  case $option in
    t) seconds=$OPTARG ;;
    b) build=$OPTARG; [[ $build = /* ]] || build=$PWD/$build ;;
    s) seed=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "$0: -t wants whole seconds" >&2; exit 2; }
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for p in "$root"/tools/mutants/patches/*.patch; do names+=("$(basename "$p" .patch)"); done
fi
for name in "${names[@]}"; do
  [[ -f $root/tools/mutants/patches/$name.patch ]] || { echo "$0: no mutant '$name'" >&2; exit 2; }
done

targets=(ctxfuzz_diff ctxfuzz-seeds ctxdiff)
logs=$build/power-logs
rm -rf "$logs"
mkdir -p "$logs"
configuration=(--preset fuzz-nosan)
export CTXLIB_MUTANT_CMAKE_ARGS="${configuration[*]}"  # build-mutant.sh configures with it
wall_start=$SECONDS

# --- the baseline: the unpatched impl/, the seeds and dictionary, the corpus replay -------------
fuzz_setup
echo "== baseline: building against impl/ in $build"
if ! { cmake -S "$root" -B "$build" "${configuration[@]}" -DCTXLIB_IMPL_DIR="$root/impl" &&
  nice -n 10 cmake --build "$build" -j "${CTXLIB_MUTANT_JOBS:-2}" --target "${targets[@]}"; } \
  > "$logs/baseline.build.log" 2>&1; then
  echo "$0: the baseline build failed (see $logs/baseline.build.log)" >&2
  exit 2
fi
# shellcheck disable=SC2034 # fuzz_seeds reads them
FUZZ_DIR=$build FUZZ_BIN=$build/fuzz
fuzz_env
fuzz_seeds > "$logs/seeds.log" 2>&1
dict=$build/diff.dict
seed_count=$(find "$build/seeds/diff" -type f | wc -l)

# `ctxdiff check corpus/` into LOG; prints the programs where ctxlib and CPython disagree.
replay_corpus() {
  local log=$1 status=0
  "$build/tools/ctxdiff/ctxdiff" check "$root/corpus" > "$log" 2>&1 || status=$?
  sed -n 's/^\(.*\): DIVERGENCE between ctxlib and .*/\1/p' "$log" | sort -u
  return $((status > 3 ? status : 0))  # a signal (crash) is reported; divergences are not errors
}
replay_corpus "$logs/baseline.corpus.log" > "$logs/baseline.diverging" ||
  { echo "$0: ctxdiff crashed on the unpatched impl/ (see $logs/baseline.corpus.log)" >&2; exit 2; }
echo "== baseline: $(tail -1 "$logs/baseline.corpus.log"); $seed_count seeds;" \
  "$(wc -l < "$logs/baseline.diverging") diverging program(s) already (not counted)"

# --- one fuzz run: MODE is seeds, leaveout or empty; prints the cell of the table ----------------
fuzz_run() {
  local name=$1 mode=$2
  local dir=$logs/$name/fuzz-$mode
  mkdir -p "$dir/corpus" "$dir/artifacts"
  local inputs=("$dir/corpus")
  [[ $mode == seeds ]] && inputs+=("$build/seeds/diff")
  if [[ $mode == leaveout ]]; then
    # corpus/TestExitStack/test_close.ctx has the seed TestExitStack_test_close.bin (fuzz/seeds.cpp).
    cp -r "$build/seeds/diff" "$dir/seeds"
    sed "s|^$root/corpus/||; s|\.ctx\$|.bin|; s|/|_|g" "$logs/$name/corpus.caught" |
      while read -r seed_file; do rm -f "$dir/seeds/$seed_file"; done
    inputs+=("$dir/seeds")
  fi
  local start end status=0
  start=$(date +%s.%N)
  (cd "$dir" && CTXFUZZ_FINDINGS="$dir/findings" timeout -k 10 $((seconds + 120)) \
    "$build/fuzz/ctxfuzz_diff" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -detect_leaks=0 -seed="$seed" -dict="$dict" -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${inputs[@]}") > "$dir/fuzz.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  local elapsed runs what
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  local finding
  finding=$(find "$dir/findings" -mindepth 1 -maxdepth 1 -type d ! -name 'reduces-to-known-*' \
    2>/dev/null | head -1)
  if [[ -n $finding ]]; then
    what=$(basename "$finding")
    what=${what%-*}  # the verdict: divergence, unstable, oracle-error
  elif ls "$dir/artifacts"/timeout-* > /dev/null 2>&1 || [[ $status -eq 124 ]]; then
    what=hang
  elif ls "$dir/artifacts"/crash-* "$dir/artifacts"/oom-* > /dev/null 2>&1; then
    what=crash
  else
    what=none
  fi
  # Found while libFuzzer was still replaying the seeds (before its INITED line)?
  local phase=""
  if [[ $what != none ]] && ! grep -q 'INITED' "$dir/fuzz.log"; then phase=" seed"; fi
  case $what in
    divergence) echo "found ${elapsed}s ${runs:-?} runs$phase" ;;
    unstable | crash | hang) echo "found ${elapsed}s ${runs:-?} runs$phase ($what)" ;;
    oracle-error) echo "oracle-error ${elapsed}s" ;;  # a harness bug, not the mutant: not counted
    *)
      local known
      known=$(find "$dir/findings" -mindepth 1 -maxdepth 1 -name 'reduces-to-known-*' 2>/dev/null |
        wc -l)
      if ((known)); then echo "not found (${known} reduce to known)"; else echo "not found"; fi
      ;;
  esac
}

# --- every mutant ---------------------------------------------------------------------------------
rows=()
corpus_caught=0
seeds_found=0
leaveout_found=0
empty_found=0
seed_phase=0
for name in "${names[@]}"; do
  mkdir -p "$logs/$name"
  mutant_start=$SECONDS
  if ! nice -n 10 "$root/tools/mutants/build-mutant.sh" "$name" "$build" "${targets[@]}" \
    > "$logs/$name/build.log" 2>&1; then
    rows+=("$name|build failed|-|-|-")
    printf '%-36s build failed (see %s)\n' "$name" "$logs/$name/build.log"
    continue
  fi
  corpus_cell=no
  : > "$logs/$name/corpus.caught"
  if replay_corpus "$logs/$name/corpus.log" > "$logs/$name/corpus.diverging"; then
    comm -23 "$logs/$name/corpus.diverging" "$logs/baseline.diverging" > "$logs/$name/corpus.caught"
    caught=$(wc -l < "$logs/$name/corpus.caught")
    if ((caught)); then
      corpus_cell="yes ($caught)"
      corpus_caught=$((corpus_caught + 1))
    fi
  else
    corpus_cell="yes (ctxdiff crashed)"
    corpus_caught=$((corpus_caught + 1))
  fi
  seeds_cell=$(fuzz_run "$name" seeds)
  if [[ -s $logs/$name/corpus.caught ]]; then
    leaveout_cell=$(fuzz_run "$name" leaveout)
  else
    leaveout_cell="= (b)"
    [[ $seeds_cell == found* ]] && leaveout_cell="= (b): $seeds_cell"
  fi
  empty_cell=$(fuzz_run "$name" empty)
  [[ $seeds_cell == found* ]] && seeds_found=$((seeds_found + 1))
  [[ $seeds_cell == found*" seed"* ]] && seed_phase=$((seed_phase + 1))
  [[ $leaveout_cell == found* || $leaveout_cell == "= (b): found"* ]] &&
    leaveout_found=$((leaveout_found + 1))
  [[ $empty_cell == found* ]] && empty_found=$((empty_found + 1))
  rows+=("$name|$corpus_cell|$seeds_cell|$leaveout_cell|$empty_cell")
  printf '%-36s (a) %s; (b) %s; (c) %s; (d) %s [%ds]\n' "$name" "$corpus_cell" "$seeds_cell" \
    "$leaveout_cell" "$empty_cell" $((SECONDS - mutant_start))
done

# --- the table --------------------------------------------------------------------------------------
total=${#names[@]}
percent() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }'; }
{
  echo
  echo "| mutant | (a) corpus replay caught (programs) | (b) fuzz from the seeds |" \
    "(c) from the seeds less the catching ones | (d) from an empty corpus |"
  echo "|---|---|---|---|---|"
  for row in "${rows[@]}"; do
    IFS='|' read -r n c s l e <<< "$row"
    echo "| $n | $c | $s | $l | $e |"
  done
  echo
  echo "$total mutants, ${seconds} s per fuzz run, libFuzzer -seed=$seed, $seed_count seeds:" \
    "corpus replay caught $corpus_caught ($(percent "$corpus_caught" "$total") %);" \
    "fuzzer from seeds found $seeds_found ($(percent "$seeds_found" "$total") %," \
    "$seed_phase of them during the seed replay);" \
    "from the seeds less the catching ones $leaveout_found ($(percent "$leaveout_found" "$total") %);" \
    "from an empty corpus $empty_found ($(percent "$empty_found" "$total") %);" \
    "wall time $((SECONDS - wall_start)) s"
} | tee "$logs/table.txt"

# The issue's thresholds: >= 95 % found by the fuzzer within the bound, >= 80 % caught by replay.
if ((seeds_found * 100 >= 95 * total && corpus_caught * 100 >= 80 * total)); then
  echo "thresholds met (fuzzer >= 95 %, corpus replay >= 80 %)"
  exit 0
fi
echo "thresholds NOT met (fuzzer >= 95 %, corpus replay >= 80 %)"
exit 1
