#pragma once

#include <string_view>

namespace berth::image {

// Where the openclaw image keeps things (ARCHITECTURE.md, "Agent image").
inline constexpr std::string_view kEntrypointPath = "/usr/local/bin/berth-entrypoint";
inline constexpr std::string_view kFetchScriptPath = "/usr/local/lib/berth/fetch-config.mjs";
inline constexpr std::string_view kOpenClawWrapperPath = "/usr/local/bin/openclaw";
inline constexpr std::string_view kOpenClawPrefix = "/opt/openclaw";  // holds node_modules/

// The image's entrypoint, a busybox sh script: checks MOSAIC_API_URL, AGENT_TOKEN and AGENT_ID
// (exit 78 naming a missing one), runs the fetch script, exports
// OPENCLAW_GATEWAY_TOKEN=${OPENCLAW_GATEWAY_TOKEN:-$AGENT_TOKEN} and execs
// `node /opt/openclaw/node_modules/openclaw/openclaw.mjs gateway run` (extra args appended).
std::string_view EntrypointScript();

// The node script that fetches openclaw.json with the container contract's rules, the same as
// berth-test-agent's: GET ${MOSAIC_API_URL}/internal/agent-config/${AGENT_ID} with the bearer
// token; connection errors, timeouts (10 s per attempt) and 5xx are retried after 0.5 s doubling
// to 5 s, for up to 120 s; any other non-2xx status gives up at once; giving up exits 78. The
// config is written to $HOME/.openclaw/openclaw.json, mode 0600 (temp file + rename). Never
// prints the token.
std::string_view FetchConfigScript();

// /usr/local/bin/openclaw: runs the OpenClaw CLI (for `docker exec ... openclaw ...`).
std::string_view OpenClawWrapperScript();

}  // namespace berth::image
