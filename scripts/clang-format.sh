#!/usr/bin/env bash
# Formats native/ with clang-format (style in .clang-format); --check only reports.
# The fuzz corpus holds binary inputs, not sources.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h' 'native/**/*.cc' 'native/**/*.h' | sort -u)
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
