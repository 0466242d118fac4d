#!/usr/bin/env bash
# Configures and builds berth into build/ (binary: build/berth). Extra args go to cmake configure.
set -euo pipefail
cd "$(dirname "$0")/.."
# -O2 without debug info by default: -g costs about a third of the compiler's time on berth's
# Beast-heavy sources (CPU s, -O2 -g vs -O2: src/http/server_session.cpp 30.1 vs 19.7,
# tests/http/server_test.cpp 47.5 vs 30.4), and the build is most of a CI run. For a debugger:
# CMAKE_BUILD_TYPE=RelWithDebInfo scripts/build.sh (a build type of its own: a full rebuild).
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" "$@" >/dev/null
cmake --build build -j"$(nproc)"
