# fuzz-common.sh: sourced by the fuzz scripts. Builds the fuzz targets with a CMake preset
# (`fuzz`: ASan+UBSan, `fuzz-nosan`: no sanitizers) and prepares their seeds and dictionaries.
#   fuzz_build PRESET [TARGET...]
#                            configure + build (default: every fuzz target and tool, and ctxdiff)
#                            in build/PRESET, or $CTXFUZZ_BUILD_PREFIX-PRESET; sets FUZZ_DIR (the
#                            build folder) and FUZZ_BIN (its fuzz/ folder)
#   fuzz_seeds               corpus/ -> $FUZZ_DIR/seeds/{diff,parse} and $FUZZ_DIR/diff.dict
#   fuzz_env                 the sanitizer and CPython settings every run uses

fuzz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fuzz_setup() {
  # clang-19 with libFuzzer's runtime (Debian: clang-19, libclang-rt-19-dev, libfuzzer-19-dev).
  if ! command -v clang++-19 >/dev/null ||
     ! ls /usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    local sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    echo "fuzz: installing clang-19 and libFuzzer"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang-19 libclang-rt-19-dev \
      libfuzzer-19-dev >/dev/null
  fi
}

fuzz_build() {
  local preset=$1
  shift
  local targets=("$@")
  ((${#targets[@]})) || targets=(ctxfuzz_diff ctxfuzz_parse ctxfuzz-seeds ctxfuzz-minimize ctxfuzz-pycov ctxdiff)
  fuzz_setup
  if [[ -n ${CTXFUZZ_BUILD_PREFIX:-} ]]; then
    FUZZ_DIR=$(realpath -m "$CTXFUZZ_BUILD_PREFIX-$preset")
  else
    FUZZ_DIR="$fuzz_root/build/$preset"
  fi
  FUZZ_BIN="$FUZZ_DIR/fuzz"
  (cd "$fuzz_root" && cmake --preset "$preset" -B "$FUZZ_DIR" >/dev/null &&
    cmake --build "$FUZZ_DIR" --target "${targets[@]}")
}

fuzz_seeds() {
  rm -rf "$FUZZ_DIR/seeds"
  "$FUZZ_BIN/ctxfuzz-seeds" "$fuzz_root/corpus" --diff "$FUZZ_DIR/seeds/diff" \
    --parse "$FUZZ_DIR/seeds/parse" --dict "$FUZZ_DIR/diff.dict"
}

fuzz_env() {
  # Under ASan, CPython allocates with malloc so LeakSanitizer sees (and does not lose) its
  # memory; without sanitizers pymalloc stays (faster). Leaks are checked when a fuzzer process
  # exits (ASAN_OPTIONS detect_leaks=1); the fuzz scripts pass -detect_leaks=0 to libFuzzer,
  # whose per-input check would scan the whole heap (CPython's too) after most inputs, because
  # CPython keeps caches across runs: 20-40x slower.
  if grep -q '^CTXLIB_SANITIZE:BOOL=ON' "$FUZZ_DIR/CMakeCache.txt" 2>/dev/null; then
    export PYTHONMALLOC=malloc
  fi
  # clang-19's runtime looks for its own llvm-symbolizer, which Debian ships in another package;
  # any version symbolizes the reports.
  if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
    local symbolizer
    symbolizer=$(command -v llvm-symbolizer-19 || command -v llvm-symbolizer || true)
    [[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
  fi
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
}
