#!/usr/bin/env bash
# property-kills.sh: which properties catch which planted bug. Builds each mutant
# (build-mutant.sh), runs the property tests against it and prints one line per mutant: the
# properties that failed (killed it) or "survived". The failure reports, with the shrunk
# counterexamples, are kept in BUILD_DIR/mutant-logs/NAME.log.
#
#   tools/mutants/property-kills.sh [-b BUILD_DIR] [-f GTEST_FILTER] [NAME...]
#
#   NAME          default: every patch in tools/mutants/patches/
#   -b BUILD_DIR  default build/mutant (shared by all mutants)
#   -f FILTER     default: every property (Differential.*:Laws.*:ChainLoops.OnlyWhere*)
#
# The properties run with their default counts; CTXLIB_PROPERTY_LONG / RC_PARAMS apply as usual.
# Exit status 0 when every mutant was killed, 1 when one survived.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/mutant
filter='Differential.*:Laws.*:ChainLoops.OnlyWhere*'
while getopts "b:f:" option; do
  case $option in
    b) build=$OPTARG; [[ $build = /* ]] || build=$PWD/$build ;;
    f) filter=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for p in "$root"/tools/mutants/patches/*.patch; do names+=("$(basename "$p" .patch)"); done
fi

mkdir -p "$build/mutant-logs"
survivors=0
for name in "${names[@]}"; do
  "$root/tools/mutants/build-mutant.sh" "$name" "$build" property_tests > /dev/null 2> "$build/mutant-logs/$name.build.log"
  log=$build/mutant-logs/$name.log
  start=$SECONDS
  (cd "$build/tests/property" &&
     CTXLIB_PROPERTY_FINDINGS="$build/mutant-findings/$name" ./property_tests --gtest_filter="$filter") > "$log" 2>&1 || true
  killed=$(sed -n 's/^\[  FAILED  \] \([A-Za-z]*\.[A-Za-z]*\) (.*/\1/p' "$log" | tr '\n' ' ')
  if [[ -z $killed ]]; then
    survivors=$((survivors + 1))
    printf '%-32s survived (%ds)\n' "$name" $((SECONDS - start))
  else
    printf '%-32s killed by %s(%ds)\n' "$name" "$killed" $((SECONDS - start))
  fi
done
[[ $survivors -eq 0 ]]
