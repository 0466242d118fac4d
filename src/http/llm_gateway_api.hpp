#pragma once

#include <chrono>
#include <memory>

#include "common/metrics.hpp"
#include "http/attempt_limiter.hpp"
#include "http/router.hpp"
#include "llm/provider_client.hpp"
#include "service/containers.hpp"
#include "service/llm_budget.hpp"
#include "service/providers.hpp"
#include "service/usage_ledger.hpp"

namespace berth::http {

struct LlmGatewayServices {
  std::shared_ptr<service::ContainerService> containers;
  std::shared_ptr<service::ProviderService> providers;
  std::shared_ptr<llm::ProviderClient> client;
  std::shared_ptr<AttemptLimiter> limiter;  // failed key attempts, per peer (shared with config)
  std::shared_ptr<service::UsageLedger> usage;  // null: nothing is counted
  std::shared_ptr<service::LlmBudget> budget;   // null: no limits are enforced
  MetricsRegistry* metrics = nullptr;           // null: no llm metrics
  // The longest silence of a provider, before its answer or within it (a model may think long
  // before its first token): then 502, or a cut stream.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
};

// berth's LLM gateway, on the listener agents reach (ARCHITECTURE.md, "LLM gateway"): an agent's
// openclaw.json names `/api/internal/llm/<provider>` as every provider's base URL and its own key
// (crypto::AgentLlmKey) as the key, so the real key never enters the agent. Served:
//   POST <base>/chat/completions, POST <base>/responses, POST <base>/v1/messages,
//   GET <base>/models, GET <base>/v1/models
// Each call is authenticated by the agent's key (Bearer, x-api-key, x-goog-api-key or ?key=;
// every one of them is dropped), forwarded to the owner's provider of that name with the real key
// in the provider's own style (Bearer, or x-api-key + anthropic-version for anthropic-messages),
// and the provider's status, headers that matter and body pass back as they arrive. Errors of
// berth's own are OpenAI-shaped: 401 (no or a wrong key), 404 (no such provider for this agent;
// any other path), 400 (a WebSocket upgrade), 403 (a provider address berth refuses to reach,
// llm/destination.hpp), 502 (the provider cannot be reached or answered nothing).
// Usage: an openai-completions stream is made to report its usage (stream_options.include_usage,
// the extra chunk removed again when the agent did not ask for it); every 2xx answer's usage is
// read as it passes (llm/usage_meter.hpp), priced (llm/prices.hpp) and added to the ledger under
// the owner, provider and the model the agent asked for; /metrics counts tokens and USD by API.
// Limits (service/llm_budget.hpp): a call of a user with limits is admitted only once its worst
// case (body bytes / 3 input tokens at the dearer of the input and cache-write price, plus its
// max_tokens, or kDefaultOutputCap, output tokens) is reserved; else 429 with an OpenAI-shaped
// `budget_exceeded` error (Retry-After for minute limits), or 403 for a model without a price
// under a USD limit. It is settled with what it used, or with its reservation when its usage was
// never reported (an interrupted stream).
inline constexpr int64_t kDefaultOutputCap = 8192;
void RegisterLlmGateway(Router& router, const LlmGatewayServices& services);

}  // namespace berth::http
