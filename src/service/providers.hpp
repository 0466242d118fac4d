#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentconfig/provider_input.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "service/agent_hooks.hpp"
#include "store/store.hpp"

namespace berth::service {

// A field of a partial update: absent (nullopt), explicitly null (holds nullopt), or a value.
template <typename T>
using Patch = std::optional<std::optional<T>>;

// Fields of POST /api/providers (absent = default) and PATCH /api/providers/:id (absent = keep,
// null = clear where the field is optional).
struct ProviderChange {
  Patch<std::string> name;
  Patch<std::string> display_name;
  Patch<std::string> type;
  Patch<std::string> base_url;
  Patch<std::string> api_key;  // plaintext from the request; sealed before it is stored
  Patch<std::string> api_type;
  Patch<nlohmann::json> models;  // array of "id" strings or {"id","name"?} objects
  Patch<bool> is_active;
};

struct AgentSettings {
  std::optional<std::string> primary_model;  // what the user set
  std::string effective_primary_model;       // what their agent runs with
};

// What one user may register, so that no user can make their config, GET /v1/models or the
// store's work for everyone else heavy (settings BERTH_MAX_PROVIDERS_PER_USER and
// BERTH_MAX_MODELS_PER_PROVIDER).
struct ProviderLimits {
  std::size_t max_providers_per_user = 20;
  std::size_t max_models_per_provider = 256;
};

// A user's LLM providers and agent settings, and the openclaw.json they add up to. Validates
// input so that nothing it accepts can yield a config the gateway rejects, and holds every user
// to the ProviderLimits (kInvalidArgument beyond them). Thread-safe.
class ProviderService {
 public:
  ProviderService(store::StorePtr store, std::shared_ptr<const crypto::SecretBox> secrets,
                  ClockPtr clock, ProviderLimits limits = {});

  // Whom to tell about changes (AgentHooks::ConfigChanged after every successful Create, Update,
  // Delete and SetPrimaryModel). REQUIRES: before the service is used concurrently.
  void SetAgentHooks(AgentHooksPtr hooks) { hooks_ = std::move(hooks); }

  Result<store::LlmProvider> Create(const std::string& user_id, const ProviderChange& change);
  Result<store::LlmProvider> Get(const std::string& user_id, const std::string& id) const;
  Result<std::vector<store::LlmProvider>> List(const std::string& user_id) const;
  Result<store::LlmProvider> Update(const std::string& user_id, const std::string& id,
                                    const ProviderChange& change);
  Status Delete(const std::string& user_id, const std::string& id);

  Result<AgentSettings> GetAgentSettings(const std::string& user_id) const;
  // primary_model: "provider/model", or nullopt to fall back to the default chain.
  Result<AgentSettings> SetPrimaryModel(const std::string& user_id,
                                        const std::optional<std::string>& primary_model);

  // Every "<provider>/<model>" the user's agent can serve (agentconfig::UsableModels); no key
  // is opened.
  Result<std::vector<std::string>> UsableModels(const std::string& user_id) const;

  // Where agents reach berth's LLM gateway ("<api url>/internal/llm"), once the lifecycle knows
  // its API URL. Until then no user config can be built (kUnavailable).
  void SetLlmGatewayUrl(std::string url);

  // The user's openclaw.json: active providers oldest first, each routed through berth's LLM
  // gateway with the agent's key (agentconfig/llm_routing.hpp): no provider key is opened.
  // Needs the user's container record (its token makes the agent's key).
  Result<nlohmann::json> BuildUserConfig(const std::string& user_id) const;
  // The same from inputs already read (primary model setting, active providers oldest first)
  // and the agent's container token.
  Result<nlohmann::json> AssembleUserConfig(const std::optional<std::string>& primary_model,
                                            const std::vector<store::LlmProvider>& active_providers,
                                            std::string_view container_token) const;

  // Where an agent's call to its provider `provider` goes, for the gateway: from the agent's
  // config source (authenticated by the caller). The key is opened here. kNotFound when the
  // owner has no such active provider, or none the gateway can forward to.
  struct LlmRoute {
    std::string user_id;
    std::string provider;
    std::string upstream_base;                    // agentconfig::UpstreamBaseUrl
    std::string api_type;                         // explicit, or the default for custom providers
    std::optional<std::string> api_key;           // opened
    std::vector<agentconfig::ModelEntry> models;  // with their costs, for charging usage
  };
  Result<LlmRoute> RouteFor(const store::AgentConfigSource& source,
                            std::string_view provider) const;

 private:
  Status ApplyAndValidate(const ProviderChange& change, store::LlmProvider* provider) const;
  void ConfigChanged(const std::string& user_id) const;

  store::StorePtr store_;
  std::shared_ptr<const crypto::SecretBox> secrets_;
  ClockPtr clock_;
  const ProviderLimits limits_;
  AgentHooksPtr hooks_;
  mutable std::mutex gateway_mu_;
  std::string gateway_url_;  // guarded by gateway_mu_
};

}  // namespace berth::service
