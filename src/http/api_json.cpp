#include "http/api_json.hpp"

#include <limits>

#include "common/ids.hpp"
#include "common/json_parse.hpp"

namespace berth::http::api {

Result<json> ParseObject(const Request& request, const std::set<std::string>& allowed) {
  const std::string& body = request.raw.body();
  if (body.empty()) return InvalidArgument("request body must be a JSON object");
  auto parsed = ParseJson(body, "request body");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return InvalidArgument("request body must be a JSON object");
  for (const auto& [key, value] : parsed->items()) {
    if (!allowed.count(key)) return InvalidArgument("unknown field '" + key + "'");
  }
  return std::move(*parsed);
}

Result<std::string> RequireString(const json& body, const char* key) {
  service::Patch<std::string> value;
  BERTH_RETURN_IF_ERROR(ReadField(body, key, &value));
  if (!value || !*value) return InvalidArgument(std::string(key) + " is required");
  return **value;
}

Result<int64_t> RequireInteger(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return InvalidArgument(std::string(key) + " is required");
  if (!it->is_number_integer()) return InvalidArgument(std::string(key) + " must be an integer");
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgument(std::string(key) + " is out of range");
  }
  return it->get<int64_t>();
}

Result<std::optional<std::string>> OptionalString(const json& body, const char* key) {
  service::Patch<std::string> value;
  BERTH_RETURN_IF_ERROR(ReadField(body, key, &value));
  if (!value) return std::optional<std::string>();
  return *value;
}

Result<bool> QueryFlag(const Request& request, const std::string& name, bool fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  if (it->second != "true" && it->second != "false") {
    return InvalidArgument(name + " must be true or false");
  }
  return it->second == "true";
}

json Time(int64_t unix_ms) { return FormatRfc3339Millis(unix_ms); }

json UserJson(const store::User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"email", OrNull(u.email)},
          {"createdAt", Time(u.created_at)},
          {"updatedAt", Time(u.updated_at)}};
}

json ProviderJson(const store::LlmProvider& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"displayName", OrNull(p.display_name)},
          {"type", p.type},
          {"baseUrl", OrNull(p.base_url)},
          {"apiType", OrNull(p.api_type)},
          {"models", ParseJson(p.models_json, "stored models").value_or(json::array())},
          {"isActive", p.is_active},
          {"hasApiKey", p.api_key.has_value()},
          {"createdAt", Time(p.created_at)},
          {"updatedAt", Time(p.updated_at)}};
}

json SystemContainerJson(const store::SystemContainer& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"primaryModel", OrNull(c.primary_model)},
          {"status", c.status},
          {"containerName", c.container_name},
          {"createdAt", Time(c.created_at)}};
}

json AgentSettingsJson(const service::AgentSettings& s) {
  return {{"primaryModel", OrNull(s.primary_model)},
          {"effectivePrimaryModel", s.effective_primary_model}};
}

json TokenJson(const store::ApiToken& t) {
  return {{"id", t.id},
          {"role", t.role == store::TokenRole::kAdmin ? "admin" : "user"},
          {"prefix", OrNull(t.prefix)},
          {"createdAt", Time(t.created_at)},
          {"lastUsedAt", t.last_used_at ? Time(*t.last_used_at) : json(nullptr)}};
}

json AgentJson(const lifecycle::AgentView& v) {
  json j = {{"status", v.StatusName()},
            {"lastActive", v.last_active_at ? Time(*v.last_active_at) : json(nullptr)},
            {"containerName", v.container_name.empty() ? json(nullptr) : json(v.container_name)},
            {"openStreams", v.open_streams}};
  if (v.kind == store::ContainerKind::kUser) j["idleTimeoutMin"] = v.idle_timeout_min;
  if (!v.phase.empty()) j["phase"] = v.phase;
  if (!v.error.empty()) j["error"] = v.error;
  return j;
}

json AdminAgentJson(const lifecycle::AgentView& v) {
  json j = AgentJson(v);
  j["kind"] = v.kind == store::ContainerKind::kUser ? "user" : "system";
  j["id"] = v.record_id;
  j["containerId"] = OrNull(v.container_id);
  j["node"] = OrNull(v.node);
  if (v.kind == store::ContainerKind::kUser) {
    j["userId"] = v.owner;
  } else {
    j["name"] = v.name;
  }
  return j;
}

Response Ok(const json& body) { return JsonResponse(bhttp::status::ok, body); }
Response Created(const json& body) { return JsonResponse(bhttp::status::created, body); }

Response CreatedSecret(const json& body) {
  Response res = Created(body);
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

Response NoContent() {
  Response r{bhttp::status::no_content, 11};
  r.set(bhttp::field::cache_control, "no-store");
  return r;
}

Response RespondStatus(const Status& status) {
  return status.ok() ? NoContent() : ErrorResponse(status);
}

}  // namespace berth::http::api
