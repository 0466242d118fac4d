#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) long and prints, per target, the executions, exec/s, the new
# corpus size and whether it found anything. Builds build-fuzz/ first (scripts/fuzz-build.sh).
#   bench/fuzz.sh                    # each target until 1,000,000 executions
#   FUZZ_RUNS=0 FUZZ_SECONDS=60 bench/fuzz.sh   # each target for 60 s instead
#   bench/fuzz.sh docker_json        # only the named targets
# New inputs go to build-fuzz/fuzz/corpus/<target>; crashes to build-fuzz/fuzz/artifacts/ (and the
# script exits 1). Add a crash's input to fuzz/corpus/<target>/ with its fix and regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly RUNS="${FUZZ_RUNS:-1000000}"
readonly SECONDS_EACH="${FUZZ_SECONDS:-0}"
scripts/fuzz-build.sh >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for t in fuzz/*_fuzz.cpp; do targets+=("$(basename "${t%_fuzz.cpp}")"); done
fi
args=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048)
((RUNS > 0)) && args+=(-runs="${RUNS}")
((SECONDS_EACH > 0)) && args+=(-max_total_time="${SECONDS_EACH}")

printf '%-16s %12s %10s %8s %s\n' target executions exec/s corpus result
failed=0
for t in "${targets[@]}"; do
  corpus="build-fuzz/fuzz/corpus/${t}"
  mkdir -p "${corpus}" build-fuzz/fuzz/artifacts
  dict=()
  [[ -f "fuzz/${t}.dict" ]] && dict=(-dict="fuzz/${t}.dict")
  log="build-fuzz/fuzz/${t}.log"
  result=ok
  "build-fuzz/fuzz/${t}_fuzz" "${args[@]}" "${dict[@]}" \
    -artifact_prefix="build-fuzz/fuzz/artifacts/${t}-" "${corpus}" "fuzz/corpus/${t}" \
    >"${log}" 2>&1 || { result="FAILED (see ${log})"; failed=1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -1)
  printf '%-16s %12s %10s %8s %s\n' "${t}" "${runs:-?}" "${rate:-?}" \
    "$(find "${corpus}" -type f | wc -l)" "${result}"
done
exit "${failed}"
