#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/gateway_probe.hpp"

namespace berth::lifecycle {

// A running OpenClaw gateway's config, set through its control API instead of its file watcher:
// the bundled admin-http-rpc plugin's `POST /api/v1/admin/rpc` (every config berth emits enables
// it: agentconfig), authenticated with the gateway token that only berth and the agent itself
// hold. `config.apply` answers once the gateway has applied the config: 0.5-1.0 s here, against
// 1.2-1.4 s for a pushed file (the watcher's fixed poll, settle and debounce; bench/README.md).
//
// kNotFound when the gateway has no such route (the test agent; a gateway whose config has the
// plugin off): the caller pushes the file instead. A refusal: kAborted with the HTTP status and
// the gateway's error code, never its message or body (they may quote the config); no answer:
// the probe's error.
class GatewayConfigRpc {
 public:
  static constexpr std::string_view kPath = "/api/v1/admin/rpc";

  GatewayConfigRpc(GatewayProbe& probe, const AgentEndpoint& endpoint)
      : probe_(probe), endpoint_(endpoint) {}

  // Whether the gateway's current config (config.get's "parsed") may be replaced.
  using Guard = std::function<bool(const nlohmann::json& current)>;

  // config.get, then `config.apply` of the whole `config` naming the hash read, each within
  // `timeout`. The first call also loads the plugin's route (1.7 s on a fresh gateway: the
  // warm-up's rehearsal makes it). The gateway refuses an apply whose hash is stale, so with a
  // `guard` this is a compare-and-set: kAborted, and nothing applied, when the guard refuses the
  // current config. A refused apply (the config changed between the two calls: a pooled agent's
  // keep-warm on another replica) is tried once more from config.get.
  Status Apply(const nlohmann::json& config, std::chrono::milliseconds timeout,
               const Guard& guard = nullptr);

 private:
  struct Current {
    std::string hash;  // what config.apply must name
    nlohmann::json parsed;
  };
  // `config.get`: the gateway's current config and its hash.
  Result<Current> Get(std::chrono::milliseconds timeout);
  // One call: its payload on {"ok":true}.
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params,
                              std::chrono::milliseconds timeout);

  GatewayProbe& probe_;
  const AgentEndpoint& endpoint_;
};

}  // namespace berth::lifecycle
