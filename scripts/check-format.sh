#!/usr/bin/env bash
# Fails when a C++ source under version control differs from clang-format's output (.clang-format:
# Google style, 100 columns). Part of the README's test command (scripts/test.sh). Fix with:
#   git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/berth-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/berth-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/check-format: not formatted: /' >&2
  rm -f /tmp/berth-format.$$
  echo "check-format: run: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i" >&2
  exit 1
fi
rm -f /tmp/berth-format.$$
echo "check-format: ${#files[@]} files formatted"
