#!/usr/bin/env bash
# expect_exit.sh CODE REGEX COMMAND...: passes when COMMAND exits with exactly CODE (so a
# crash, which exits by signal, never passes) and its output matches the extended REGEX.
set -u
code=$1 regex=$2
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [[ $status -ne $code ]]; then
  echo "expect_exit: exit status $status, expected $code" >&2
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$output"; then
  echo "expect_exit: output does not match: $regex" >&2
  exit 1
fi
