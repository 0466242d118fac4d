#!/usr/bin/env bash
# Prints, for each test of the last ctest run that failed, its assertion failures with a few lines
# around them, read from build/Testing/Temporary/LastTest.log. ctest's --output-on-failure prints a
# failed test's output where it ended, in the middle of a long log; CI keeps only a log's tail, so
# scripts/test.sh calls this after a failed run to put the reason next to the summary.
# Usage: scripts/failure-digest.sh [build dir]
set -uo pipefail
build="${1:-build}"
log="${build}/Testing/Temporary/LastTest.log"
failed="${build}/Testing/Temporary/LastTestsFailed.log"
[[ -f "${log}" && -f "${failed}" ]] || exit 0
echo "==== failure digest (from ${log}) ===="
while IFS= read -r line; do
  name="${line#*:}"
  echo "---- ${name}"
  # The test's section of the log, then its failures (gtest's "Failure" lines and what follows),
  # at most 80 lines per test; a secret never reaches a test's output, so none reaches this.
  awk -v name="${name}" '
    index($0, "Testing: " name) && $0 ~ ("Testing: " name "$") { inside = 1; next }
    inside && /^<end of output>/ { inside = 0 }
    inside { print }
  ' "${log}" | grep -E -A8 'Failure|FAILED|Timeout|Segmentation|terminate called' | head -80
done < "${failed}"
