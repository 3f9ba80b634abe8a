#!/usr/bin/env bash
# save-counterexample.sh: puts a property's shrunk counterexample in the corpus. A failing
# property writes its program to a file and prints its path (docs/properties.md); this moves the
# file to corpus/property/NAME.ctx and records CPython's trace as its expectation with
# `ctxdiff record`, so the conformance run replays it from then on (it fails there until ctxlib
# is fixed: a regression test).
#
#   scripts/save-counterexample.sh FILE NAME
#
# NAME: letters, digits and underscores. ctxdiff is $CTXDIFF, else the newest
# build/*/tools/ctxdiff/ctxdiff. The conformance test of corpus/property/ replays it from then on
# (re-run cmake only if that folder is new).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ $# -ne 2 ]]; then
  echo "usage: $0 FILE NAME" >&2
  exit 2
fi
file=$1
name=$2
if [[ ! -f $file ]]; then
  echo "$0: $file: no such file" >&2
  exit 2
fi
if [[ ! $name =~ ^[A-Za-z0-9_]+$ ]]; then
  echo "$0: NAME must be letters, digits and underscores: $name" >&2
  exit 2
fi
target=$root/corpus/property/$name.ctx
if [[ -e $target ]]; then
  echo "$0: $target exists already; choose another NAME" >&2
  exit 2
fi

ctxdiff=${CTXDIFF:-}
if [[ -z $ctxdiff ]]; then
  ctxdiff=$(ls -t "$root"/build/*/tools/ctxdiff/ctxdiff 2> /dev/null | head -n 1 || true)
fi
if [[ -z $ctxdiff || ! -x $ctxdiff ]]; then
  echo "$0: no ctxdiff found; build one (cmake --build build/default --target ctxdiff) or set CTXDIFF" >&2
  exit 2
fi

mkdir -p "$root/corpus/property"
mv "$file" "$target"
if ! "$ctxdiff" record "$target"; then
  echo "$0: ctxdiff could not record $target (the file stays there; see the error above)" >&2
  exit 1
fi
echo "saved: corpus/property/$name.ctx (replayed by ctest -R conformance/property; alone: ctxdiff run corpus/property/$name.ctx)"
