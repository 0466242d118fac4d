#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::store {

// Plain records, one per table, compared field by field (==). Timestamps are Unix milliseconds
// (common/clock.hpp), set by the caller from its Clock; the store persists what it is given. Secret
// fields hold the sealed stored form (crypto::SecretBox), never plaintext written by berth.

struct User {
  std::string id;
  std::string name;
  std::optional<std::string> email;
  int64_t created_at = 0;
  int64_t updated_at = 0;

  friend bool operator==(const User&, const User&) = default;
};

enum class TokenRole { kUser, kAdmin };

// A hashed API bearer token. user_id is set for kUser and empty for kAdmin.
struct ApiToken {
  std::string id;
  TokenRole role = TokenRole::kUser;
  std::optional<std::string> user_id;
  std::string token_hash;  // crypto::TokenHash of the token
  int64_t created_at = 0;
  // The token's first characters ("bu_AbCd"), not enough to use it; unset for tokens made
  // before berth kept it.
  std::optional<std::string> prefix;
  std::optional<int64_t> last_used_at;  // recorded in batches, to the minute at best

  friend bool operator==(const ApiToken&, const ApiToken&) = default;
};

struct LlmProvider {
  std::string id;
  std::string user_id;
  std::string name;  // unique per user; the OpenClaw provider id
  std::optional<std::string> display_name;
  std::string type;
  std::optional<std::string> base_url;
  std::optional<std::string> api_key;  // sealed
  std::optional<std::string> api_type;
  std::string models_json = "[]";  // JSON array: "id" strings or {"id","name"?} objects
  bool is_active = true;
  int64_t created_at = 0;
  int64_t updated_at = 0;

  friend bool operator==(const LlmProvider&, const LlmProvider&) = default;
};

struct UserAgentConfig {
  std::string user_id;
  std::optional<std::string> primary_model;  // "provider/model"
  int64_t created_at = 0;
  int64_t updated_at = 0;

  friend bool operator==(const UserAgentConfig&, const UserAgentConfig&) = default;
};

// Container lifecycle status as stored: stopped|starting|running|stopping|failed.
struct UserContainer {
  std::string id;
  std::string user_id;                      // unique: one container per user
  std::optional<std::string> container_id;  // engine id
  std::string container_name;
  std::optional<int> gateway_port;
  std::string gateway_token;  // sealed
  std::string token_hash;     // crypto::TokenHash of the token; unique
  std::string status = "stopped";
  std::optional<int64_t> last_active_at;
  int idle_timeout_min = 30;
  std::string config_json = "{}";
  int64_t created_at = 0;
  int64_t updated_at = 0;
  // The node the agent's state lives on (runtimes of several nodes), set once at its first start
  // by PinAgentNode; both unset on one engine.
  std::optional<std::string> node_id;
  std::optional<std::string> node_name;

  friend bool operator==(const UserContainer&, const UserContainer&) = default;
};

struct SystemContainer {
  std::string id;
  std::string name;  // unique
  std::optional<std::string> primary_model;
  std::optional<std::string> container_id;
  std::string container_name;
  std::optional<int> gateway_port;
  std::string gateway_token;  // sealed
  std::string token_hash;     // unique
  std::string status = "stopped";
  std::optional<int64_t> last_active_at;
  std::string config_json = "{}";
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<std::string> node_id;  // as UserContainer's
  std::optional<std::string> node_name;

  friend bool operator==(const SystemContainer&, const SystemContainer&) = default;
};

enum class ContainerKind { kUser, kSystem };

// What a container token resolves to.
struct ContainerRef {
  ContainerKind kind = ContainerKind::kUser;
  std::string id;             // user_containers.id or system_containers.id
  std::string token_hash;     // as stored, for the caller's constant-time comparison
  std::string gateway_token;  // sealed, as stored: the agent's LLM key derives from it
};

// Everything the internal agent-config endpoint needs, read in one snapshot.
struct AgentConfigSource {
  ContainerRef container;
  std::string user_id;                        // the owner (user containers only)
  std::optional<std::string> primary_model;   // the owner's setting, or the system container's
  std::vector<LlmProvider> active_providers;  // the owner's, oldest first (user containers only)
};

// What one user's agent used through berth's LLM gateway of one provider's model on one UTC day.
// Counts only ever add up (Store::AddUsage). Tokens as in llm::TokenUsage: input excludes cache
// reads and writes, reasoning is part of output. Cost in nano-USD (1e-9 USD) at the price known
// when each call ended; calls of a model without a price count in unpriced_requests, cost 0.
struct UsageRow {
  std::string user_id;
  std::string provider;
  std::string model;
  std::string day;  // "YYYY-MM-DD", UTC
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_nano_usd = 0;
  int64_t unpriced_requests = 0;

  friend bool operator==(const UsageRow&, const UsageRow&) = default;
};

// Which usage rows to list: days from_day..to_day inclusive ("YYYY-MM-DD"), one user or all.
struct UsageQuery {
  std::optional<std::string> user_id;
  std::string from_day;
  std::string to_day;
};

// One call through berth's LLM gateway, for the bounded log of recent requests (store.hpp,
// AddRequestLog). Tokens and cost as UsageRow's; a call refused before it reached the provider
// (over budget) has none.
struct LlmRequestLogEntry {
  int64_t id = 0;  // set by the store, ascending in insertion order
  std::string user_id;
  int64_t at_ms = 0;  // when berth received the call (Unix ms)
  std::string provider;
  std::string model;    // "" when the call named none (e.g. GET /models)
  std::string api;      // "openai-completions", "openai-responses", "anthropic-messages", "other"
  int status = 0;       // the HTTP status the agent got; 0 when the call was cut before a head
  std::string outcome;  // "ok", "error" (non-2xx or unreachable provider), "cut", "refused"
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cost_nano_usd = 0;
  bool priced = false;  // cost is known (a model with a price and a reported usage)
  int64_t duration_ms = 0;

  friend bool operator==(const LlmRequestLogEntry&, const LlmRequestLogEntry&) = default;
};

// A budget window's row (ReserveBudget), as `berth db copy` moves it.
struct BudgetRow {
  std::string user_id;
  std::string period;
  int64_t spent_nano_usd = 0;
  int64_t spent_tokens = 0;
  int64_t requests = 0;
  int64_t reserved_nano_usd = 0;
  int64_t reserved_tokens = 0;
  int64_t expires_at_ms = 0;

  friend bool operator==(const BudgetRow&, const BudgetRow&) = default;
};

// An admin's limits on what one user's agents may use through berth's LLM gateway; nullopt: no
// limit of that kind. Money in nano-USD; tokens as UsageRow's, all kinds summed.
struct LlmLimits {
  std::string user_id;
  std::optional<int64_t> nano_usd_per_day;
  std::optional<int64_t> nano_usd_per_month;
  std::optional<int64_t> tokens_per_day;
  std::optional<int64_t> tokens_per_month;
  std::optional<int64_t> requests_per_minute;
  std::optional<int64_t> tokens_per_minute;
  int64_t updated_at = 0;

  friend bool operator==(const LlmLimits&, const LlmLimits&) = default;
};

// One period a call counts in ("d:2026-12-07", "m:2026-12", "t:2026-12-07T10:31"), with that
// period's maxima (nullopt: not limited) and when its row may be forgotten.
struct BudgetWindow {
  std::string period;
  std::optional<int64_t> max_nano_usd;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_requests;
  int64_t expires_at_ms = 0;
};

// What a call reserves before it runs, or spends when it ends.
struct BudgetCharge {
  int64_t nano_usd = 0;
  int64_t tokens = 0;
  int64_t requests = 0;
};

// One sealed value and where it lives, for key rotation.
enum class SecretColumn { kProviderApiKey, kUserContainerToken, kSystemContainerToken };
struct StoredSecret {
  SecretColumn column = SecretColumn::kProviderApiKey;
  std::string row_id;
  std::string value;  // stored form
};

}  // namespace berth::store
