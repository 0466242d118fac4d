#!/usr/bin/env bash
# Configures and builds the libFuzzer targets (fuzz/) into build-fuzz/ with clang++, ASan and UBSan.
# Only berth_common and the sources the targets need are compiled. Extra args go to cmake configure.
# Run the smoke runs with `ctest --test-dir build-fuzz -L fuzz`, the long runs with bench/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# -O1 with line tables only, as OSS-Fuzz builds: 4-26 % less compile time than -O2 -g on three of
# the heavier files here (it counts in CI), and stack traces still name file and line. NDEBUG as in
# berth's own builds: Boost 1.74's Beast asserts wrongly on a chunk header cut short ("0;\r\n",
# boostorg/beast#2861, fixed upstream in 2024), where its release code rightly asks for more bytes.
cmake -S . -B build-fuzz -DBERTH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-None}" \
  -DCMAKE_CXX_FLAGS="${CXXFLAGS:--O1 -gline-tables-only -DNDEBUG}" \
  "$@" >/dev/null
cmake --build build-fuzz -j"${BERTH_BUILD_JOBS:-$(nproc)}"
