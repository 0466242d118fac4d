#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "testagent/backoff.hpp"

namespace berth::testagent {

struct FetchOptions {
  std::string url;    // http:// URL of the agent's config (AgentOptions::ConfigUrl)
  std::string token;  // sent as a bearer token; never logged
  std::chrono::milliseconds attempt_timeout{10000};  // connect + request + answer, per attempt
  std::size_t body_limit = 4 << 20;
  Backoff backoff;
};

// Fetches the agent's openclaw.json the way the real image's entrypoint does: retries connection
// errors, timeouts and 5xx answers on the backoff schedule, gives up at once on any other
// non-2xx status. Logs one line per failed attempt (status or error, never the token).
// Returns the config (a JSON object), or:
//   kPermissionDenied  berth refused (message has the status and berth's error text)
//   kUnavailable       the retry budget ran out (message has the last error)
//   kInvalidArgument   the URL is not plain http, or berth answered 2xx with something that is
//                      not a JSON object
net::awaitable<Result<nlohmann::json>> FetchConfig(FetchOptions options);

}  // namespace berth::testagent
