#!/usr/bin/env bash
# build-mutant.sh: builds the tools and tests against a copy of impl/ with one planted bug, so a
# test campaign can show that it catches the bug. Each mutant is one small patch of impl/ in
# tools/mutants/patches/NAME.patch (a `# NAME: what is wrong` line, then a unified diff with
# a/impl/... b/impl/... paths); impl/ itself is never touched.
#
#   tools/mutants/build-mutant.sh NAME [BUILD_DIR] [TARGET...]
#   tools/mutants/build-mutant.sh --list
#   tools/mutants/build-mutant.sh --check   (every patch still applies to impl/; exit 1 if not)
#   tools/mutants/build-mutant.sh --check-builds
#                                           (every patched copy still compiles the runner, the
#                                           one translation unit that instantiates ctxlib for
#                                           the harness; ~4 s a mutant, two at a time; exit 1
#                                           if one does not)
#
#   NAME       a patch in tools/mutants/patches/ (without .patch)
#   BUILD_DIR  default build/mutant in the repository; one build folder serves every mutant (switching
#              mutants rebuilds only what includes ctxlib)
#   TARGET     default: property_tests ctxdiff
#
# The patched copy goes to BUILD_DIR/mutant-impl/NAME/impl, and CMake is configured with
# -DCTXLIB_IMPL_DIR pointing at it (impl/CMakeLists.txt). Extra configure arguments come from
# $CTXLIB_MUTANT_CMAKE_ARGS (default: Ninja, RelWithDebInfo, g++), parallel jobs from
# $CTXLIB_MUTANT_JOBS (default 2). The last line printed is the build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
patches=$root/tools/mutants/patches

if [[ ${1:-} == --check ]]; then
  # impl/ moves on; a patch that no longer applies is a mutant nobody can build.
  stale=0 count=0
  for p in "$patches"/*.patch; do
    count=$((count + 1))
    if ! patch --dry-run --quiet --forward --directory="$root" -p1 < "$p" > /dev/null; then
      echo "$(basename "$p" .patch): no longer applies to impl/ (update the patch)"
      stale=$((stale + 1))
    fi
  done
  echo "mutant patches: $count, $((count - stale)) apply, $stale stale"
  exit $((stale > 0))
fi

if [[ ${1:-} == --check-builds ]]; then
  # A patch can still apply and no longer compile (it used a member impl/ has since removed):
  # fuzz-power would then report the mutant as a build failure, not as caught or missed.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  check_one() {  # NAME: 0 if the patched runner compiles; its errors go to $work/NAME.log
    local name=$1 copy=$work/$1
    mkdir -p "$copy" && cp -r "$root/impl" "$copy/impl"
    patch --quiet --forward --directory="$copy" -p1 < "$patches/$name.patch" > "$copy.log" 2>&1 &&
      "${CXX:-g++}" -std=c++20 -fsyntax-only -I "$copy/impl/include" -I "$root/runner/include" \
        -I "$root/model/include" "$root/runner/src/runner.cpp" >> "$copy.log" 2>&1
  }
  export -f check_one
  export root patches work
  broken=0 count=0
  for p in "$patches"/*.patch; do basename "$p" .patch; done |
    xargs -P "${CTXLIB_MUTANT_JOBS:-2}" -I{} bash -c 'check_one {} || touch "$work/{}.broken"'
  for p in "$patches"/*.patch; do
    name=$(basename "$p" .patch)
    count=$((count + 1))
    if [[ -f $work/$name.broken ]]; then
      echo "$name: the patched impl/ no longer compiles the runner (update the patch):"
      grep -m 3 'error' "$work/$name.log" | sed 's/^/  /'
      broken=$((broken + 1))
    fi
  done
  echo "mutant builds: $count, $((count - broken)) compile, $broken broken"
  exit $((broken > 0))
fi

if [[ ${1:-} == --list || $# -eq 0 ]]; then
  for p in "$patches"/*.patch; do sed -n '1s/^# //p' "$p"; done
  [[ $# -eq 0 ]] && { echo "usage: $0 NAME [BUILD_DIR] [TARGET...] | --list" >&2; exit 2; }
  exit 0
fi

name=$1
build=${2:-$root/build/mutant}
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(property_tests ctxdiff)

patch_file=$patches/$name.patch
if [[ ! -f $patch_file ]]; then
  echo "$0: no mutant '$name' (have: $(cd "$patches" && ls *.patch | sed 's/\.patch$//' | tr '\n' ' '))" >&2
  exit 2
fi

[[ $build = /* ]] || build=$PWD/$build
copy=$build/mutant-impl/$name
rm -rf "$copy"
mkdir -p "$copy"
cp -r "$root/impl" "$copy/impl"
if ! patch --quiet --forward --directory="$copy" -p1 < "$patch_file"; then
  echo "$0: $name.patch no longer applies to impl/ (update the patch)" >&2
  exit 2
fi

read -r -a cmake_args <<< "${CTXLIB_MUTANT_CMAKE_ARGS:--G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++}"
if [[ -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCTXLIB_IMPL_DIR="$copy/impl" > /dev/null
else
  cmake -S "$root" -B "$build" "${cmake_args[@]}" -DCTXLIB_IMPL_DIR="$copy/impl" > /dev/null
fi
cmake --build "$build" -j "${CTXLIB_MUTANT_JOBS:-2}" --target "${targets[@]}" >&2
echo "$build"
