#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "service/agent_hooks.hpp"
#include "service/config_batcher.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"

namespace berth::service {

// Names from the seed, kept so existing agent images and operators' tooling keep working.
inline constexpr std::string_view kUserContainerPrefix = "mosaic-user-";
inline constexpr std::string_view kSystemContainerPrefix = "mosaic-system-";
// The warm pool's agents (lifecycle/warm_pool.hpp) are system containers named so; admins
// cannot take such a name, and the admin list leaves them out.
inline constexpr std::string_view kPoolNamePrefix = "berth-pool-";
inline bool IsPoolName(std::string_view name) { return name.starts_with(kPoolNamePrefix); }

// A user's idle timeout, in minutes: 0 means never reaped; at most one week.
inline constexpr int kMaxIdleTimeoutMin = 7 * 24 * 60;

struct ProvisionedUserContainer {
  store::UserContainer record;
  std::string token;  // shown once
};

struct ProvisionedSystemContainer {
  store::SystemContainer record;
  std::string token;  // shown once
};

// Container records and their tokens, and the internal agent-config endpoint's logic.
// Starting containers is the lifecycle module's job; this only provisions records. Thread-safe.
class ContainerService {
 public:
  ContainerService(store::StorePtr store, std::shared_ptr<const crypto::SecretBox> secrets,
                   std::shared_ptr<const ProviderService> providers, ClockPtr clock);

  // Whom to tell about a rotated token or idle timeout (AgentHooks::TokenRotated,
  // IdleTimeoutChanged). REQUIRES: before the service is used concurrently.
  void SetAgentHooks(AgentHooksPtr hooks) { hooks_ = std::move(hooks); }
  // Token lookups of the internal endpoint then go through `batcher` (AuthenticateContainerAsync;
  // berth on PostgreSQL). REQUIRES: before the service is used concurrently.
  void SetConfigBatcher(std::shared_ptr<ConfigBatcher> batcher) { batcher_ = std::move(batcher); }
  bool batched() const { return batcher_ != nullptr; }
  // Where warm-pool agents' placeholder provider points (berth's stand-in LLM under the API URL
  // agents use); set when the lifecycle knows that URL. Thread-safe.
  void SetPoolLlmUrl(std::string url);
  // A pooled agent's config on that URL, or its warm-up's rehearsal config
  // (agentconfig::BuildPoolConfig, BuildPoolRehearsalConfig). Thread-safe.
  nlohmann::json PoolConfig(bool rehearsal = false) const;

  // Creates the user's container record with a fresh token. kAlreadyExists when one exists,
  // unless rotate is set: then the record keeps its id and gets a new token, which invalidates
  // the old one at once (and the running agent, through the hooks).
  Result<ProvisionedUserContainer> ProvisionUserContainer(const std::string& user_id, bool rotate);

  // Sets the minutes of inactivity after which the user's agent is stopped (0: never), on their
  // container record; a user without one gets it now, as their first start would make it, so
  // that start already uses the value. Then tells the hooks (IdleTimeoutChanged), so a running
  // agent is judged by the new value at the reaper's next pass. Returns the record as stored.
  // kInvalidArgument outside [0, kMaxIdleTimeoutMin]; kNotFound for an unknown user.
  Result<store::UserContainer> SetIdleTimeout(const std::string& user_id, int64_t minutes);

  // An admin's system container. kInvalidArgument for a bad name or one of the pool's.
  Result<ProvisionedSystemContainer> CreateSystemContainer(
      const std::string& name, const std::optional<std::string>& primary_model);
  // A warm-pool agent's record: a system container named kPoolNamePrefix + a random part, with
  // model agentconfig::kPoolModel (a placeholder provider, no key, until a user takes it).
  Result<ProvisionedSystemContainer> CreatePoolContainer();
  // The admins' system containers (not the pool's).
  Result<std::vector<store::SystemContainer>> ListSystemContainers() const;
  Status DeleteSystemContainer(const std::string& id);

  // Resolves a container bearer token through the hash index and reads, in the same snapshot,
  // the inputs of its openclaw.json. kUnauthenticated "Invalid container token" when it is empty
  // or matches no container.
  Result<store::AgentConfigSource> AuthenticateContainer(std::string_view token) const;
  // The same through the batcher (inline, as AuthenticateContainer, without one); `done` runs
  // once, on a batcher thread or the caller's.
  void AuthenticateContainerAsync(std::string_view token,
                                  std::function<void(Result<store::AgentConfigSource>)> done) const;
  // The same for an agent's LLM key (crypto::AgentLlmKey), for berth's LLM gateway: found by the
  // token hash it names, proven with the record's token. kUnauthenticated "Invalid API key" when
  // it is malformed, names no container or is not that container's.
  Result<store::AgentConfigSource> AuthenticateLlmKey(std::string_view key) const;

  // The internal endpoint: openclaw.json for container `id`, for the holder of `token`.
  // kUnauthenticated "Invalid container token" when the token matches no container;
  // kPermissionDenied when it is another container's. Token, settings and providers are read in
  // one snapshot, so a record deleted meanwhile shows as an invalid token, never half a config.
  Result<nlohmann::json> ConfigForToken(std::string_view token, const std::string& id) const;
  // The second half of ConfigForToken: openclaw.json for container `id` from the authentication
  // of `token` (its errors passed on).
  Result<nlohmann::json> ConfigFor(const Result<store::AgentConfigSource>& source,
                                   const std::string& id, std::string_view token) const;

  static Status ValidateSystemName(const std::string& name);

 private:
  // A new record of the user's container (name, fresh sealed token), not yet stored.
  store::UserContainer NewUserContainer(const std::string& user_id, const std::string& token,
                                        int64_t now) const;

  Result<ProvisionedSystemContainer> NewSystemContainer(
      const std::string& name, const std::optional<std::string>& primary_model);

  store::StorePtr store_;
  std::shared_ptr<const crypto::SecretBox> secrets_;
  std::shared_ptr<const ProviderService> providers_;
  ClockPtr clock_;
  AgentHooksPtr hooks_;
  std::shared_ptr<ConfigBatcher> batcher_;
  mutable std::mutex pool_llm_mu_;
  std::string pool_llm_url_ = "http://127.0.0.1:9/v1";  // guarded; until set: nothing answers
};

}  // namespace berth::service
