#pragma once

// Assembly of the openclaw.json that berth serves to agent containers (GET
// /api/internal/agent-config/:id) and pushes into running ones. This header is agentconfig's whole
// API: it also brings in the input types (provider_input.hpp), the input rules
// (provider_validation.hpp) and the gateway facts they rest on (openclaw_schema.hpp).
//
// Assembly rules (the seed's AgentConfigService, fixed for the real gateway):
// - primary model: the configured one, else the first model of the first usable provider (oldest
//   first), else kDefaultPrimaryModel (ResolvePrimaryModel).
// - models.providers: the user's active providers, oldest first, keyed by name; apiKey only when
//   non-empty, baseUrl when set, api = api_type, else "openai-completions" (but no api for one of
//   OpenClaw's bundled provider ids, which keeps its own), models as an array of
//   {"id", "name" (defaults to id), "compat": {"supportsUsageInStreaming": true}}.
// - gateway: mode "local", port kGatewayPort (always: the gateway listens there inside the
//   container; the seed's per-container host port was a defect), bind "lan", auth mode "token"
//   (the token reaches the gateway through env OPENCLAW_GATEWAY_TOKEN and is never in the file),
//   the OpenAI-compatible chat endpoint enabled.
// - managed-container extras: Control UI, cron, heartbeat, update checks and the hosted model
//   catalog refresh are off (no one administers these gateways interactively and they have no
//   internet).
// - every string value is passed through EscapeEnvReferences, so user text reaches the gateway
//   literally instead of being substituted from the container's environment.
//
// Robustness: input that passed ValidateProvider/ValidateModelRef is emitted as is. Rows stored
// before those rules existed may break them; the builder then drops what the gateway would reject
// or could never use, because one bad entry makes the gateway refuse the whole file and the
// container would not start: providers whose name or api type is invalid, custom providers
// without baseUrl, providers with a key or URL that is not UTF-8, and a provider name repeated
// (the first wins), and a configured primary model that is not UTF-8; within a provider, models
// with an invalid id, repeated ids (the first wins) and invalid names (the id is used instead).
//
// All functions are pure and thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentconfig/openclaw_schema.hpp"
#include "agentconfig/provider_input.hpp"
#include "agentconfig/provider_validation.hpp"

namespace berth::agentconfig {

// Port the gateway listens on inside every agent container.
inline constexpr int kGatewayPort = 18789;

// Primary model when neither the user nor any provider names one (a bundled OpenClaw provider).
inline constexpr std::string_view kDefaultPrimaryModel = "openai/gpt-4o-mini";

// The primary model for a user: `configured` when set and non-empty (the seed used "" as is; the
// gateway would ignore it), else "<provider>/<first model id>" of the first provider in
// `active_providers_oldest_first` that BuildUserConfig would emit with at least one model, else
// kDefaultPrimaryModel.
std::string ResolvePrimaryModel(const std::optional<std::string>& configured,
                                const std::vector<ProviderInput>& active_providers_oldest_first);

// Every "<provider>/<model id>" the user's gateway can serve: the models BuildUserConfig emits
// for `active_providers_oldest_first`, in that order. Keys play no part unless set: a provider
// whose key is not UTF-8 is not emitted, so it is not listed either.
std::vector<std::string> UsableModels(
    const std::vector<ProviderInput>& active_providers_oldest_first);

// openclaw.json for a user's container. `active_providers_oldest_first` holds only active
// providers, ordered by creation, with keys already decrypted.
nlohmann::json BuildUserConfig(const std::optional<std::string>& primary_model,
                               const std::vector<ProviderInput>& active_providers_oldest_first);

// openclaw.json for a system container: no providers; the primary model is `primary_model` when
// set and non-empty, else kDefaultPrimaryModel.
nlohmann::json BuildSystemConfig(const std::optional<std::string>& primary_model);

// A system container whose primary model is kPoolModel is a warm-pool agent (no user yet): its
// config names that model on a placeholder custom provider at `llm_base_url` (berth's stand-in
// LLM, http/warmup_llm.hpp), with no key. The gateway needs a model whose provider the config
// defines: a built-in provider named without its plugin installed stops it at start (exit 78,
// "requires state migration"; measured with openclaw 2026.9.6), and the default primary is one.
inline constexpr char kPoolModel[] = "berth-pool/idle";
nlohmann::json BuildPoolConfig(const std::string& llm_base_url);
// The same with the placeholder under another name: what a pooled agent's warm-up applies, so
// that its gateway has been through one config change before a user's (a first change took
// 1.0-1.2 s to apply, later ones 0.5 s; bench/README.md).
nlohmann::json BuildPoolRehearsalConfig(const std::string& llm_base_url);

// Whether the config BuildUserConfig makes of `providers` defines the provider `model_ref`
// ("<provider>/<model id>") names.
bool DefinesProviderOf(const std::string& model_ref, const std::vector<ProviderInput>& providers);

// A user whose primary model (ResolvePrimaryModel) names no provider of their config, most often
// one with no provider at all (kDefaultPrimaryModel), would get a config the gateway refuses: a
// bundled provider it has no plugin for stops it at start (exit 78, as above), so the agent could
// never run, not even to take the provider the user adds next. Instead the config names model
// kNoProviderModel on a custom provider kNoProviderName at `llm_base_url` (berth's LLM gateway,
// which answers every call to it with an error saying what to do) with the agent's `api_key`,
// besides `providers` as BuildUserConfig emits them.
inline constexpr char kNoProviderName[] = "berth-no-provider";
inline constexpr char kNoProviderModel[] = "berth-no-provider/register-a-provider";
nlohmann::json BuildNoProviderConfig(const std::string& llm_base_url, const std::string& api_key,
                                     const std::vector<ProviderInput>& providers = {});

}  // namespace berth::agentconfig
