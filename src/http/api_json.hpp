#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "common/result.hpp"
#include "http/request.hpp"
#include "lifecycle/agent_manager.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/records.hpp"

// What the REST handlers share: reading request bodies and writing berth's records as JSON.
namespace berth::http::api {

using nlohmann::json;

// ---- reading ----------------------------------------------------------------------------------

// The body as a JSON object, parsed within the nesting and size bounds (common/json_parse.hpp).
// Unknown fields are refused so that a misspelt field (say "apikey") never silently drops a
// value.
Result<json> ParseObject(const Request& request, const std::set<std::string>& allowed);

// An optional field of type T (std::string or bool): absent → nullopt, null → holds nullopt, a
// value of another JSON type → kInvalidArgument.
template <typename T>
Status ReadField(const json& body, const char* key, service::Patch<T>* out) {
  auto it = body.find(key);
  if (it == body.end()) return Status::Ok();
  constexpr bool kString = std::is_same_v<T, std::string>;
  if (it->is_null()) {
    *out = std::optional<T>();
  } else if (kString ? it->is_string() : it->is_boolean()) {
    *out = std::optional<T>(it->get<T>());
  } else {
    return InvalidArgument(std::string(key) +
                           (kString ? " must be a string" : " must be true or false"));
  }
  return Status::Ok();
}

// A required, non-null string.
Result<std::string> RequireString(const json& body, const char* key);
// A required integer (not null, not a fraction, within int64); range checks are the service's.
Result<int64_t> RequireInteger(const json& body, const char* key);
// An optional string that may not be null (absent → nullopt).
Result<std::optional<std::string>> OptionalString(const json& body, const char* key);
// An optional boolean query parameter ("true" or "false"); `fallback` when absent.
Result<bool> QueryFlag(const Request& request, const std::string& name, bool fallback);

// ---- writing ----------------------------------------------------------------------------------

json Time(int64_t unix_ms);
template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json UserJson(const store::User& u);
// Never contains the key: only whether there is one.
json ProviderJson(const store::LlmProvider& p);
json SystemContainerJson(const store::SystemContainer& c);
json AgentSettingsJson(const service::AgentSettings& s);
// Never the token or its hash: its id, prefix and dates.
json TokenJson(const store::ApiToken& t);
json AgentJson(const lifecycle::AgentView& v);
json AdminAgentJson(const lifecycle::AgentView& v);

Response Ok(const json& body);
Response Created(const json& body);
// 201 whose body carries a secret shown once (a new token): never stored by a cache.
Response CreatedSecret(const json& body);
Response NoContent();

template <typename T, typename F>
Response Respond(const Result<T>& result, F&& to_response) {
  if (!result.ok()) return ErrorResponse(result.status());
  return to_response(*result);
}
Response RespondStatus(const Status& status);

}  // namespace berth::http::api
