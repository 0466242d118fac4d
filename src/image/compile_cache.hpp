#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::image {

// The name of the compile cache's directory beside node_modules/, in the image
// (<kOpenClawPrefix>/.compile-cache) as on the host while it is made.
inline constexpr std::string_view kCompileCacheDir = ".compile-cache";

// Fills `cache_dir` (a fresh directory directly inside `home`, beside its node_modules/) with
// Node's compile cache (V8 code cache) of what the OpenClaw gateway loads up to /readyz: runs
// `home`'s node and gateway once on loopback with a throwaway config and HOME, waits for
// /readyz, then stops it with SIGTERM, at which Node writes the cache. Portable mode
// (NODE_COMPILE_CACHE_PORTABLE=1: paths relative to the cache directory), so the cache is valid
// wherever the directory and node_modules/ keep their places side by side, as in the image.
// Blocks up to ~3 minutes. kInternal with the gateway's last lines when it did not come up.
Status WarmCompileCache(const std::string& home, const std::string& cache_dir);

// The Node script that does it (run with `home`'s node; argv: openclaw.mjs, cache dir).
std::string_view CompileCacheScript();

}  // namespace berth::image
