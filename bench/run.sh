#!/usr/bin/env bash
# Runs ctxlib_bench the way docs/performance.md was made and writes its tables into that file,
# between the `<!-- bench:begin -->` and `<!-- bench:end -->` markers.
#
#   bench/run.sh                      # configure/build build/default (g++ -O2 -g), run, update docs
#   bench/run.sh --build-dir DIR      # an already configured build directory instead
#   bench/run.sh --no-docs            # run and print the tables; leave docs/performance.md alone
#   bench/run.sh -- ARGS...           # extra arguments for ctxlib_bench (e.g. a --benchmark_filter)
#
# Figures are CPU time per operation, the median of 9 repetitions run in random order, so a
# benchmark and its baseline see the same machine conditions; every ratio comes from this one run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build/default"
update_docs=1
extra=()
while (($#)); do
  case "$1" in
    --build-dir) build_dir=$(realpath "$2"); shift 2 ;;
    --no-docs) update_docs=0; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: bench/run.sh [--build-dir DIR] [--no-docs] [-- ctxlib_bench args]" >&2; exit 2 ;;
  esac
done

cd "$root"
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++
fi
cmake --build "$build_dir" -j2 --target ctxlib_bench

tables=$(mktemp)
trap 'rm -f "$tables"' EXIT
"$build_dir/bench/ctxlib_bench" \
  --benchmark_min_time=0.1 \
  --benchmark_repetitions=9 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true \
  --ratios_out="$tables" \
  "${extra[@]}"

if ((update_docs)); then
  doc="$root/docs/performance.md"
  if ! grep -q '^<!-- bench:begin -->$' "$doc" || ! grep -q '^<!-- bench:end -->$' "$doc"; then
    echo "bench/run.sh: $doc has no <!-- bench:begin --> / <!-- bench:end --> markers" >&2
    exit 1
  fi
  # Keep everything outside the markers; replace what is between them with the new tables.
  awk -v tables="$tables" '
    /^<!-- bench:begin -->$/ { print; while ((getline line < tables) > 0) print line; skip = 1; next }
    /^<!-- bench:end -->$/ { skip = 0 }
    !skip { print }
  ' "$doc" > "$doc.new"
  mv "$doc.new" "$doc"
  echo "bench/run.sh: tables written to docs/performance.md"
fi
