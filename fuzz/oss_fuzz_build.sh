#!/bin/bash -eu
# OSS-Fuzz-style build of ctxlib's fuzz targets (used by .clusterfuzzlite/build.sh): compiler,
# flags and fuzzing engine come from the environment ($CXX, $CXXFLAGS, $LIB_FUZZING_ENGINE,
# $SANITIZER), everything lands in $OUT:
#   ctxfuzz_diff, ctxfuzz_parse                     the targets
#   ctxfuzz_diff_seed_corpus.zip, ctxfuzz_parse_seed_corpus.zip   seeds from corpus/
#   ctxfuzz_diff.dict, ctxfuzz_parse.dict           dictionaries
#   ctxfuzz_diff.options                            libFuzzer options (under ASan the
#                                                   target sets PYTHONMALLOC=malloc itself)
#   python/                                         the embedded CPython (from /opt/python)
# CPython must be at /out/python at run time: the oracle records its home and standard library
# paths at build time.
src=$(cd "$(dirname "$0")/.." && pwd)
python_home=${CTXFUZZ_PYTHON:-/opt/python}

rm -rf "$OUT/python"
cp -a "$python_home" "$OUT/python"
build="$WORK/ctxlib-build"
# The sanitizer flags are OSS-Fuzz's ($CXXFLAGS), so the project's own (CTXLIB_SANITIZE) stay off.
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath,/out/python/lib" \
  -DCTXLIB_FUZZ=ON -DCTXLIB_SANITIZE=OFF -DCTXFUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DPython3_EXECUTABLE="$OUT/python/bin/python3"
cmake --build "$build" --target ctxfuzz_diff ctxfuzz_parse ctxfuzz-seeds

cp "$build/fuzz/ctxfuzz_diff" "$build/fuzz/ctxfuzz_parse" "$OUT/"
seeds="$WORK/ctxfuzz-seeds"
rm -rf "$seeds"
"$build/fuzz/ctxfuzz-seeds" "$src/corpus" --diff "$seeds/diff" --parse "$seeds/parse" \
  --dict "$OUT/ctxfuzz_diff.dict"
(cd "$seeds/diff" && zip -q -r "$OUT/ctxfuzz_diff_seed_corpus.zip" .)
(cd "$seeds/parse" && zip -q -r "$OUT/ctxfuzz_parse_seed_corpus.zip" .)
cp "$src/fuzz/parse.dict" "$OUT/ctxfuzz_parse.dict"
cat >"$OUT/ctxfuzz_diff.options" <<'OPTIONS'
[libfuzzer]
dict = ctxfuzz_diff.dict
timeout = 10
rss_limit_mb = 2560
OPTIONS
cat >"$OUT/ctxfuzz_parse.options" <<'OPTIONS'
[libfuzzer]
dict = ctxfuzz_parse.dict
OPTIONS
