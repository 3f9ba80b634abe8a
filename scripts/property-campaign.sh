#!/usr/bin/env bash
# property-campaign.sh: a long run of the property tests (docs/properties.md) — every property
# with ten times its default count (at least 10,000 cases), or N cases each — in one process,
# printing each property's count and time. Counterexamples go to FINDINGS_DIR
# (default BUILD_DIR/property-findings); save one with scripts/save-counterexample.sh.
#
#   scripts/property-campaign.sh [-b BUILD_DIR] [-n CASES] [-s SEED] [GTEST_FILTER]
#
# BUILD_DIR defaults to build/default (built here if property_tests is missing or stale).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/default
cases=1
seed=
while getopts "b:n:s:" option; do
  case $option in
    b) build=$OPTARG; [[ $build = /* ]] || build=$PWD/$build ;;
    n) cases=$OPTARG ;;
    s) seed=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
filter=${1:-'Differential.*:Laws.*:ChainLoops.OnlyWhere*'}

cmake --build "$build" --target property_tests >&2
export CTXLIB_PROPERTY_LONG=$cases
export CTXLIB_PROPERTY_FINDINGS=${CTXLIB_PROPERTY_FINDINGS:-$build/property-findings}
[[ -n $seed ]] && export RC_PARAMS="seed=$seed${RC_PARAMS:+ $RC_PARAMS}"
start=$SECONDS
status=0
"$build/tests/property/property_tests" --gtest_filter="$filter" || status=$?
echo "property campaign: $((SECONDS - start)) s; findings (if any) in $CTXLIB_PROPERTY_FINDINGS"
exit $status
