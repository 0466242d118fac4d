#include "service/providers.hpp"

#include "agentconfig/llm_routing.hpp"
#include "agentconfig/openclaw_config.hpp"
#include "agentconfig/openclaw_schema.hpp"
#include "agentconfig/text_checks.hpp"
#include "common/ids.hpp"
#include "crypto/tokens.hpp"

namespace berth::service {
namespace {

constexpr std::size_t kMaxDisplayName = 200;
constexpr std::size_t kMaxType = 64;

// Text shown to people and in logs: UTF-8, no control characters (no line breaks to forge log
// lines or headers with).
Status CheckPlainText(std::string_view text, std::string_view field) {
  if (!agentconfig::IsValidUtf8(text))
    return InvalidArgument(std::string(field) + " must be valid UTF-8");
  if (agentconfig::HasControlCharacter(text)) {
    return InvalidArgument(std::string(field) + " must not contain control characters");
  }
  return Status::Ok();
}

// Converts a stored provider into the assembly input; opens its key when `secrets` is given.
Result<agentconfig::ProviderInput> ToInput(const store::LlmProvider& p,
                                           const crypto::SecretBox* secrets) {
  agentconfig::ProviderInput in;
  in.name = p.name;
  in.type = p.type;
  in.base_url = p.base_url;
  in.api_type = p.api_type;
  in.models = agentconfig::ParseModelsLenient(p.models_json);
  if (secrets != nullptr && p.api_key) {
    auto key = secrets->Open(*p.api_key);
    if (!key.ok()) {
      return Status(key.status().code(), "provider '" + p.name + "': " + key.status().message());
    }
    if (!key->empty()) in.api_key = std::move(*key);
  }
  return in;
}

// The providers an agent is given: those berth's LLM gateway can forward to (the others would
// need their real key inside the agent).
Result<std::vector<agentconfig::ProviderInput>> ToInputs(
    const std::vector<store::LlmProvider>& providers, const crypto::SecretBox* secrets) {
  std::vector<agentconfig::ProviderInput> inputs;
  inputs.reserve(providers.size());
  for (const auto& p : providers) {
    auto in = ToInput(p, secrets);
    if (!in.ok()) return in.status();
    if (agentconfig::UpstreamBaseUrl(*in)) inputs.push_back(std::move(*in));
  }
  return inputs;
}

// The user's primary model setting; nullopt when they never set one.
Result<std::optional<std::string>> PrimaryModelSetting(store::Store& store,
                                                       const std::string& user_id) {
  auto config = store.GetAgentConfig(user_id);
  if (config.ok()) return config->primary_model;
  if (config.status().code() == ErrorCode::kNotFound) return std::optional<std::string>();
  return config.status();
}

template <typename T>
bool IsSet(const Patch<T>& p) {
  return p.has_value() && p->has_value();
}

}  // namespace

ProviderService::ProviderService(store::StorePtr store,
                                 std::shared_ptr<const crypto::SecretBox> secrets, ClockPtr clock,
                                 ProviderLimits limits)
    : store_(std::move(store)),
      secrets_(std::move(secrets)),
      clock_(std::move(clock)),
      limits_(limits) {}

Status ProviderService::ApplyAndValidate(const ProviderChange& change,
                                         store::LlmProvider* p) const {
  if (change.name) {
    if (!IsSet(change.name)) return InvalidArgument("name is required");
    BERTH_RETURN_IF_ERROR(agentconfig::ValidateProviderName(**change.name));
    p->name = **change.name;
  }
  if (change.display_name) {
    if (IsSet(change.display_name)) {
      const std::string& name = **change.display_name;
      if (name.size() > kMaxDisplayName) {
        return InvalidArgument("displayName must be at most 200 characters");
      }
      BERTH_RETURN_IF_ERROR(CheckPlainText(name, "displayName"));
    }
    p->display_name = *change.display_name;
  }
  if (change.type) {
    if (!IsSet(change.type) || (*change.type)->empty() || (*change.type)->size() > kMaxType) {
      return InvalidArgument("type must be 1 to 64 characters");
    }
    BERTH_RETURN_IF_ERROR(CheckPlainText(**change.type, "type"));
    p->type = **change.type;
  }
  if (change.base_url) {
    p->base_url = *change.base_url;
    if (p->base_url && p->base_url->empty()) p->base_url.reset();
  }
  if (change.api_type) {
    p->api_type = *change.api_type;
    if (p->api_type) BERTH_RETURN_IF_ERROR(agentconfig::ValidateApiType(*p->api_type));
  }
  if (change.models) {
    nlohmann::json models = IsSet(change.models) ? **change.models : nlohmann::json::array();
    auto parsed = agentconfig::ParseModelsStrict(models);
    if (!parsed.ok()) return parsed.status();
    if (parsed->size() > limits_.max_models_per_provider) {
      return InvalidArgument("models: at most " + std::to_string(limits_.max_models_per_provider) +
                             " models per provider");
    }
    nlohmann::json stored = nlohmann::json::array();
    for (const auto& m : *parsed) {
      nlohmann::json entry = {{"id", m.id}};
      if (m.name) entry["name"] = *m.name;
      if (m.cost) {
        entry["cost"] = {{"input", m.cost->input},
                         {"output", m.cost->output},
                         {"cacheRead", m.cost->cache_read},
                         {"cacheWrite", m.cost->cache_write}};
      }
      stored.push_back(std::move(entry));
    }
    p->models_json = stored.dump();
  }
  if (change.is_active) {
    if (!IsSet(change.is_active)) return InvalidArgument("isActive must be true or false");
    p->is_active = **change.is_active;
  }

  // Validate the provider as the gateway will see it, with the key it will get.
  auto input = ToInput(*p, nullptr);
  if (!input.ok()) return input.status();
  // ValidateProvider checks a new key's form and length; an unchanged stored key was checked
  // when it was written.
  if (IsSet(change.api_key) && !(*change.api_key)->empty()) input->api_key = **change.api_key;
  BERTH_RETURN_IF_ERROR(agentconfig::ValidateProvider(*input));

  if (change.api_key) {
    if (IsSet(change.api_key) && !(*change.api_key)->empty()) {
      p->api_key = secrets_->Seal(**change.api_key);
    } else {
      p->api_key.reset();
    }
  }
  return Status::Ok();
}

Result<store::LlmProvider> ProviderService::Create(const std::string& user_id,
                                                   const ProviderChange& change) {
  if (!IsSet(change.name)) return InvalidArgument("name is required");
  if (!IsSet(change.type)) return InvalidArgument("type is required");
  store::LlmProvider p;
  p.id = NewId();
  p.user_id = user_id;
  ProviderChange full = change;
  if (!full.models) full.models = std::optional<nlohmann::json>(nlohmann::json::array());
  BERTH_RETURN_IF_ERROR(ApplyAndValidate(full, &p));
  p.created_at = p.updated_at = ToUnixMillis(clock_->Now());
  Status created = store_->CreateProviderCapped(p, limits_.max_providers_per_user);
  if (created.code() == ErrorCode::kResourceExhausted) {
    return InvalidArgument("at most " + std::to_string(limits_.max_providers_per_user) +
                           " providers per user; delete one first");
  }
  BERTH_RETURN_IF_ERROR(created);
  ConfigChanged(user_id);
  return p;
}

Result<store::LlmProvider> ProviderService::Get(const std::string& user_id,
                                                const std::string& id) const {
  return store_->GetProvider(user_id, id);
}

Result<std::vector<store::LlmProvider>> ProviderService::List(const std::string& user_id) const {
  return store_->ListProviders(user_id, /*active_only=*/false);
}

Result<store::LlmProvider> ProviderService::Update(const std::string& user_id,
                                                   const std::string& id,
                                                   const ProviderChange& change) {
  auto existing = store_->GetProvider(user_id, id);
  if (!existing.ok()) return existing.status();
  store::LlmProvider p = std::move(*existing);
  BERTH_RETURN_IF_ERROR(ApplyAndValidate(change, &p));
  p.updated_at = ToUnixMillis(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->UpdateProvider(p));
  ConfigChanged(user_id);
  return p;
}

Status ProviderService::Delete(const std::string& user_id, const std::string& id) {
  BERTH_RETURN_IF_ERROR(store_->DeleteProvider(user_id, id));
  ConfigChanged(user_id);
  return Status::Ok();
}

void ProviderService::ConfigChanged(const std::string& user_id) const {
  if (auto hooks = hooks_.lock()) hooks->ConfigChanged(user_id);
}

Result<AgentSettings> ProviderService::GetAgentSettings(const std::string& user_id) const {
  AgentSettings settings;
  auto primary = PrimaryModelSetting(*store_, user_id);
  if (!primary.ok()) return primary.status();
  settings.primary_model = std::move(*primary);
  auto providers = store_->ListProviders(user_id, /*active_only=*/true);
  if (!providers.ok()) return providers.status();
  auto inputs = ToInputs(*providers, nullptr);  // the primary model chain needs no keys
  if (!inputs.ok()) return inputs.status();
  // What the agent's config names (AssembleUserConfig): when that would name no provider of the
  // config, the placeholder that says what to do.
  const auto routed = agentconfig::RouteThroughGateway(*inputs, "", "");
  std::string effective = agentconfig::ResolvePrimaryModel(settings.primary_model, routed);
  settings.effective_primary_model = agentconfig::DefinesProviderOf(effective, routed)
                                         ? std::move(effective)
                                         : std::string(agentconfig::kNoProviderModel);
  return settings;
}

Result<std::vector<std::string>> ProviderService::UsableModels(const std::string& user_id) const {
  auto providers = store_->ListProviders(user_id, /*active_only=*/true);
  if (!providers.ok()) return providers.status();
  auto inputs = ToInputs(*providers, nullptr);
  if (!inputs.ok()) return inputs.status();
  return agentconfig::UsableModels(*inputs);
}

Result<AgentSettings> ProviderService::SetPrimaryModel(
    const std::string& user_id, const std::optional<std::string>& primary_model) {
  if (primary_model) BERTH_RETURN_IF_ERROR(agentconfig::ValidateModelRef(*primary_model));
  store::UserAgentConfig config;
  config.user_id = user_id;
  config.primary_model = primary_model;
  // The upsert keeps the row's first created_at; this one only counts for a first insert.
  config.created_at = config.updated_at = ToUnixMillis(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->UpsertAgentConfig(config));
  ConfigChanged(user_id);
  return GetAgentSettings(user_id);
}

void ProviderService::SetLlmGatewayUrl(std::string url) {
  std::lock_guard lock(gateway_mu_);
  gateway_url_ = std::move(url);
}

Result<nlohmann::json> ProviderService::BuildUserConfig(const std::string& user_id) const {
  auto primary = PrimaryModelSetting(*store_, user_id);
  if (!primary.ok()) return primary.status();
  auto providers = store_->ListProviders(user_id, /*active_only=*/true);
  if (!providers.ok()) return providers.status();
  auto record = store_->GetUserContainerByUser(user_id);
  if (!record.ok()) return record.status();
  auto token = secrets_->Open(record->gateway_token);
  if (!token.ok()) return token.status();
  return AssembleUserConfig(*primary, *providers, *token);
}

Result<nlohmann::json> ProviderService::AssembleUserConfig(
    const std::optional<std::string>& primary_model,
    const std::vector<store::LlmProvider>& active_providers,
    std::string_view container_token) const {
  std::string gateway;
  {
    std::lock_guard lock(gateway_mu_);
    gateway = gateway_url_;
  }
  if (gateway.empty()) return Unavailable("the LLM gateway's address is not known yet");
  const std::string agent_key = crypto::AgentLlmKey(container_token);
  if (agent_key.empty()) return Internal("the agent's container token has an unexpected form");
  auto inputs = ToInputs(active_providers, nullptr);  // no key is opened for an agent's config
  if (!inputs.ok()) return inputs.status();
  std::vector<agentconfig::ProviderInput> routed =
      agentconfig::RouteThroughGateway(*inputs, gateway, agent_key);
  const std::string primary = agentconfig::ResolvePrimaryModel(primary_model, routed);
  if (!agentconfig::DefinesProviderOf(primary, routed)) {
    return agentconfig::BuildNoProviderConfig(gateway + "/" + agentconfig::kNoProviderName,
                                              agent_key, routed);
  }
  return agentconfig::BuildUserConfig(primary_model, routed);
}

Result<ProviderService::LlmRoute> ProviderService::RouteFor(const store::AgentConfigSource& source,
                                                            std::string_view provider) const {
  for (const store::LlmProvider& p : source.active_providers) {
    if (p.name != provider) continue;
    auto input = ToInput(p, secrets_.get());
    if (!input.ok()) return input.status();
    auto upstream = agentconfig::UpstreamBaseUrl(*input);
    if (!upstream) break;
    LlmRoute route;
    route.user_id = source.user_id;
    route.provider = p.name;
    route.upstream_base = std::move(*upstream);
    route.api_type = input->api_type.value_or(std::string(agentconfig::kDefaultModelApi));
    route.api_key = std::move(input->api_key);
    route.models = std::move(input->models);
    return route;
  }
  if (provider == agentconfig::kNoProviderName) {
    // The placeholder of a config with no usable provider (BuildNoProviderConfig).
    return NotFound(
        "this agent's model names no registered LLM provider: add a provider (POST "
        "/api/providers) or choose one of GET /v1/models as the primary model (PUT "
        "/api/agent-config); the agent takes either without a restart");
  }
  return NotFound("no provider named '" + std::string(provider) + "' for this agent");
}

}  // namespace berth::service
