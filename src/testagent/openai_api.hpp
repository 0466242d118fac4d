#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "testagent/http_url.hpp"

namespace berth::testagent {

// The OpenAI-compatible surface of the gateway, as plain functions (no sockets): what the real
// OpenClaw gateway answers, in the shapes berth relies on (ARCHITECTURE.md, "Gateway facts").

// {"error":{"message":..., "type":...}}: the OpenAI error shape the gateway uses.
nlohmann::json OpenAiError(std::string_view message, std::string_view type);

// True when `authorization` is exactly "Bearer <token>" (constant-time in the token's length).
// An empty expected token matches nothing.
bool BearerMatches(std::string_view authorization, std::string_view token);

// GET /v1/models: the agent's model names ("openclaw" and "openclaw/default").
nlohmann::json ModelList();

// Where and what to forward for one chat request.
struct ChatPlan {
  std::string model_ref;  // "provider/model" that was chosen
  HttpUrl url;            // <provider baseUrl>/chat/completions
  std::string api_key;    // empty: send no Authorization header
  std::string body;       // the client's body with "model" replaced by the provider's model id
};

// Plans POST /v1/chat/completions like the gateway: `body` must be a JSON object whose "model"
// is "openclaw" or "openclaw/<anything>"; the model used is `model_header` (x-openclaw-model,
// "provider/model") when given, else agents.defaults.model.primary from `config`; the provider
// must be in config.models.providers with an http baseUrl. Every refusal is kInvalidArgument with
// a message fit for the client (it never echoes keys).
Result<ChatPlan> PlanChat(const nlohmann::json& config, std::string_view body,
                          std::optional<std::string_view> model_header);

}  // namespace berth::testagent
