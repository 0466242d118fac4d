#include "agentconfig/openclaw_config.hpp"

#include <set>
#include <utility>

#include "agentconfig/text_checks.hpp"

namespace berth::agentconfig {
namespace {

// A provider as it will appear in openclaw.json, after the builder's robustness filtering.
struct EmittedProvider {
  const ProviderInput* input;
  std::vector<ModelEntry> models;
};

bool IsSet(const std::optional<std::string>& value) { return value && !value->empty(); }

// See "Robustness" in the header: the providers and models the gateway accepts and can use.
std::vector<EmittedProvider> EmittedProviders(const std::vector<ProviderInput>& providers) {
  std::vector<EmittedProvider> emitted;
  std::set<std::string_view> names;
  for (const ProviderInput& provider : providers) {
    if (!ValidateProviderName(provider.name).ok() || !ValidateApiType(provider.api_type).ok()) {
      continue;
    }
    if (!IsSet(provider.base_url) && !IsBuiltInProviderId(provider.name)) continue;
    if ((provider.base_url && !IsValidUtf8(*provider.base_url)) ||
        (provider.api_key && !IsValidUtf8(*provider.api_key))) {
      continue;
    }
    if (!names.insert(provider.name).second) continue;
    EmittedProvider out{&provider, {}};
    std::set<std::string_view> ids;
    for (const ModelEntry& model : provider.models) {
      if (!ValidateModelId(model.id).ok() || !ids.insert(model.id).second) continue;
      ModelEntry kept{model.id, std::nullopt, std::nullopt};
      if (model.name && ValidateModelName(*model.name).ok()) kept.name = model.name;
      out.models.push_back(std::move(kept));
    }
    emitted.push_back(std::move(out));
  }
  return emitted;
}

std::string PrimaryModel(const std::optional<std::string>& configured,
                         const std::vector<EmittedProvider>& providers) {
  if (IsSet(configured) && IsValidUtf8(*configured)) return *configured;
  for (const EmittedProvider& provider : providers) {
    if (!provider.models.empty()) return provider.input->name + "/" + provider.models.front().id;
  }
  return std::string(kDefaultPrimaryModel);
}

nlohmann::json ProviderJson(const EmittedProvider& provider) {
  const ProviderInput& input = *provider.input;
  nlohmann::json out = nlohmann::json::object();
  if (IsSet(input.api_key)) out["apiKey"] = *input.api_key;
  if (IsSet(input.base_url)) out["baseUrl"] = *input.base_url;
  if (input.api_type) {
    out["api"] = *input.api_type;
  } else if (!IsBuiltInProviderId(input.name)) {
    out["api"] = kDefaultModelApi;
  }
  // else: a bundled provider keeps its own api; OpenClaw lets an explicit one override it
  // (models-config.merge: explicit.api ?? implicit.api), and "openai-completions" would break
  // e.g. "anthropic", whose bundled api is "anthropic-messages".
  nlohmann::json models = nlohmann::json::array();
  for (const ModelEntry& model : provider.models) {
    nlohmann::json entry = nlohmann::json::object();
    entry["id"] = model.id;
    entry["name"] = model.name.value_or(model.id);
    // Without it OpenClaw does not ask OpenAI-compatible upstreams for usage in streamed answers
    // and reports 0 tokens (measured).
    entry["compat"] = {{"supportsUsageInStreaming", true}};
    models.push_back(std::move(entry));
  }
  out["models"] = std::move(models);
  return out;
}

void EscapeStrings(nlohmann::json& value) {
  if (value.is_string()) {
    // Only "${" can start a reference; most strings have none and are left untouched (this runs
    // on every config fetch).
    std::string& text = value.get_ref<std::string&>();
    if (text.find("${") != std::string::npos) text = EscapeEnvReferences(text);
  } else if (value.is_structured()) {
    for (nlohmann::json& child : value) EscapeStrings(child);
  }
}

nlohmann::json Assemble(const std::string& primary_model,
                        const std::vector<EmittedProvider>& providers) {
  nlohmann::json providers_json = nlohmann::json::object();
  for (const EmittedProvider& provider : providers) {
    providers_json[provider.input->name] = ProviderJson(provider);
  }

  nlohmann::json gateway = nlohmann::json::object();
  gateway["mode"] = "local";  // `openclaw gateway run` refuses anything else
  gateway["port"] = kGatewayPort;
  gateway["bind"] = "lan";                // reachable on the agent network, not only on loopback
  gateway["auth"] = {{"mode", "token"}};  // token from env OPENCLAW_GATEWAY_TOKEN
  gateway["http"]["endpoints"]["chatCompletions"]["enabled"] = true;
  gateway["controlUi"]["enabled"] = false;

  nlohmann::json config = nlohmann::json::object();
  // What the gateway stamps on its own writes; a config without it, after one with it, is taken
  // for a clobbered file and replaced by the backup (lifecycle/config_pusher.hpp).
  config["meta"]["lastTouchedVersion"] = kOpenClawVersion;
  config["gateway"] = std::move(gateway);
  config["agents"]["defaults"]["model"]["primary"] = primary_model;
  config["agents"]["defaults"]["heartbeat"]["every"] = "0m";  // an interval of 0 disables it
  config["models"]["providers"] = std::move(providers_json);
  config["models"]["catalogRefresh"]["enabled"] = false;
  config["cron"]["enabled"] = false;
  config["update"]["checkOnStart"] = false;
  // The gateway's config API on its own listener, behind the gateway token (which only berth and
  // the agent hold; the agent can rewrite its config file anyway): berth applies a config through
  // it in 0.6 s instead of the file watcher's 1.2 s (lifecycle/gateway_config_rpc.hpp).
  config["plugins"]["entries"]["admin-http-rpc"]["enabled"] = true;
  EscapeStrings(config);
  return config;
}

}  // namespace

std::string ResolvePrimaryModel(const std::optional<std::string>& configured,
                                const std::vector<ProviderInput>& active_providers_oldest_first) {
  return PrimaryModel(configured, EmittedProviders(active_providers_oldest_first));
}

std::vector<std::string> UsableModels(
    const std::vector<ProviderInput>& active_providers_oldest_first) {
  std::vector<std::string> out;
  for (const EmittedProvider& provider : EmittedProviders(active_providers_oldest_first)) {
    for (const ModelEntry& model : provider.models) {
      out.push_back(provider.input->name + "/" + model.id);
    }
  }
  return out;
}

nlohmann::json BuildUserConfig(const std::optional<std::string>& primary_model,
                               const std::vector<ProviderInput>& active_providers_oldest_first) {
  const std::vector<EmittedProvider> providers = EmittedProviders(active_providers_oldest_first);
  return Assemble(PrimaryModel(primary_model, providers), providers);
}

nlohmann::json BuildSystemConfig(const std::optional<std::string>& primary_model) {
  return Assemble(PrimaryModel(primary_model, {}), {});
}

namespace {

// The config naming `provider`/`model` at `llm_base_url`, after `others`.
nlohmann::json PlaceholderConfig(const std::string& provider, const std::string& model,
                                 const std::string& llm_base_url,
                                 const std::string& api_key = "none",
                                 const std::vector<ProviderInput>& others = {}) {
  ProviderInput placeholder;
  placeholder.name = provider;
  placeholder.type = "custom";
  placeholder.base_url = llm_base_url;
  placeholder.api_key = api_key;
  placeholder.models = {ModelEntry{model, std::nullopt, std::nullopt}};
  std::vector<ProviderInput> inputs = others;
  inputs.push_back(std::move(placeholder));
  return Assemble(provider + "/" + model, EmittedProviders(inputs));
}

}  // namespace

nlohmann::json BuildPoolConfig(const std::string& llm_base_url) {
  return PlaceholderConfig("berth-pool", "idle", llm_base_url);  // primary: kPoolModel
}

nlohmann::json BuildPoolRehearsalConfig(const std::string& llm_base_url) {
  return PlaceholderConfig("berth-pool-rehearsal", "idle", llm_base_url);
}

bool DefinesProviderOf(const std::string& model_ref, const std::vector<ProviderInput>& providers) {
  const std::string provider = model_ref.substr(0, model_ref.find('/'));
  for (const EmittedProvider& emitted : EmittedProviders(providers)) {
    if (emitted.input->name == provider) return true;
  }
  return false;
}

nlohmann::json BuildNoProviderConfig(const std::string& llm_base_url, const std::string& api_key,
                                     const std::vector<ProviderInput>& providers) {
  const std::string model = std::string(kNoProviderModel).substr(sizeof(kNoProviderName));
  return PlaceholderConfig(kNoProviderName, model, llm_base_url, api_key, providers);
}

}  // namespace berth::agentconfig
