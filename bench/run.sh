#!/usr/bin/env bash
# Runs ctxlib_bench the way docs/performance.md was made and writes its tables into that file,
# between the `<!-- bench:begin -->` and `<!-- bench:end -->` markers. Then runs the harness
# benchmarks again from an ASan+UBSan build (build/bench-asan: clang, -O2 -g, CTXLIB_SANITIZE, with
# PYTHONMALLOC=malloc and leak detection, as the asan test preset runs), whose tables go between
# the `<!-- bench-asan:begin -->` and `<!-- bench-asan:end -->` markers.
#
#   bench/run.sh                      # configure/build build/default (g++ -O2 -g), run, update docs
#   bench/run.sh --build-dir DIR      # an already configured build directory instead
#   bench/run.sh --no-asan            # leave out the ASan+UBSan run
#   bench/run.sh --no-docs            # run and print the tables; leave docs/performance.md alone
#   bench/run.sh -- ARGS...           # extra arguments for ctxlib_bench (e.g. a --benchmark_filter)
#
# Figures are CPU time per operation, the median of 9 repetitions run in random order, so a
# benchmark and its baseline see the same machine conditions; every ratio comes from this one run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build/default"
update_docs=1
asan=1
extra=()
while (($#)); do
  case "$1" in
    --build-dir) build_dir=$(realpath "$2"); shift 2 ;;
    --no-docs) update_docs=0; shift ;;
    --no-asan) asan=0; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: bench/run.sh [--build-dir DIR] [--no-asan] [--no-docs] [-- ctxlib_bench args]" >&2; exit 2 ;;
  esac
done

cd "$root"
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++
fi
cmake --build "$build_dir" -j2 --target ctxlib_bench

tables=$(mktemp)
asan_tables=$(mktemp)
trap 'rm -f "$tables" "$asan_tables"' EXIT
"$build_dir/bench/ctxlib_bench" \
  --benchmark_min_time=0.1 \
  --benchmark_repetitions=9 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true \
  --ratios_out="$tables" \
  "${extra[@]}"

if ((asan)); then
  asan_dir="$root/build/bench-asan"
  if [[ ! -f "$asan_dir/CMakeCache.txt" ]]; then
    cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++ -DCTXLIB_SANITIZE=ON
  fi
  cmake --build "$asan_dir" -j2 --target ctxlib_bench
  PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=1 "$asan_dir/bench/ctxlib_bench" \
    --benchmark_filter='^harness/(runner|oracle|differential_exec)$' \
    --benchmark_min_time=0.1 \
    --benchmark_repetitions=9 \
    --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true \
    --ratios_out="$asan_tables"
fi

# Replaces what is between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in the doc with a file.
fill() {
  local doc=$1 name=$2 file=$3
  if ! grep -q "^<!-- $name:begin -->\$" "$doc" || ! grep -q "^<!-- $name:end -->\$" "$doc"; then
    echo "bench/run.sh: $doc has no <!-- $name:begin --> / <!-- $name:end --> markers" >&2
    exit 1
  fi
  awk -v tables="$file" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
    $0 == begin { print; while ((getline line < tables) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
  ' "$doc" > "$doc.new"
  mv "$doc.new" "$doc"
}

if ((update_docs)); then
  doc="$root/docs/performance.md"
  fill "$doc" bench "$tables"
  if ((asan)); then fill "$doc" bench-asan "$asan_tables"; fi
  echo "bench/run.sh: tables written to docs/performance.md"
fi
