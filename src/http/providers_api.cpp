// A user's LLM providers and agent settings: /api/providers…, /api/agent-config.
#include "http/api_routes.hpp"

namespace berth::http::api {
namespace {

using V = bhttp::verb;
const RouteOptions kUser{Access::kUser};

Result<service::ProviderChange> ReadProvider(const Request& r) {
  auto body = ParseObject(
      r, {"name", "displayName", "type", "baseUrl", "apiKey", "apiType", "models", "isActive"});
  if (!body.ok()) return body.status();
  service::ProviderChange change;
  BERTH_RETURN_IF_ERROR(ReadField(*body, "name", &change.name));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "displayName", &change.display_name));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "type", &change.type));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "baseUrl", &change.base_url));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "apiKey", &change.api_key));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "apiType", &change.api_type));
  BERTH_RETURN_IF_ERROR(ReadField(*body, "isActive", &change.is_active));
  if (auto it = body->find("models"); it != body->end()) {
    change.models = it->is_null() ? std::optional<json>() : std::optional<json>(std::move(*it));
  }
  return change;
}

}  // namespace

void RegisterProviderRoutes(Router& router, const ApiServices& s) {
  // Every change reaches a running agent through the service (service::AgentHooks).
  router.Add(
      V::post, "/api/providers",
      [p = s.providers](Request& r) {
        auto change = ReadProvider(r);
        if (!change.ok()) return ErrorResponse(change.status());
        const std::string& user = r.caller().user_id;
        return Respond(p->Create(user, *change), [](const store::LlmProvider& x) {
          return Created({{"provider", ProviderJson(x)}});
        });
      },
      kUser);
  router.Add(
      V::get, "/api/providers",
      [p = s.providers](Request& r) {
        return Respond(p->List(r.caller().user_id),
                       [](const std::vector<store::LlmProvider>& list) {
                         json out = json::array();
                         for (const auto& x : list) out.push_back(ProviderJson(x));
                         return Ok({{"providers", std::move(out)}});
                       });
      },
      kUser);
  router.Add(
      V::get, "/api/providers/:id",
      [p = s.providers](Request& r) {
        return Respond(p->Get(r.caller().user_id, r.Param("id")), [](const store::LlmProvider& x) {
          return Ok({{"provider", ProviderJson(x)}});
        });
      },
      kUser);
  router.Add(
      V::patch, "/api/providers/:id",
      [p = s.providers](Request& r) {
        auto change = ReadProvider(r);
        if (!change.ok()) return ErrorResponse(change.status());
        const std::string& user = r.caller().user_id;
        return Respond(p->Update(user, r.Param("id"), *change), [](const store::LlmProvider& x) {
          return Ok({{"provider", ProviderJson(x)}});
        });
      },
      kUser);
  router.Add(
      V::delete_, "/api/providers/:id",
      [p = s.providers](Request& r) {
        const std::string& user = r.caller().user_id;
        return RespondStatus(p->Delete(user, r.Param("id")));
      },
      kUser);

  router.Add(
      V::get, "/api/agent-config",
      [p = s.providers](Request& r) {
        return Respond(p->GetAgentSettings(r.caller().user_id),
                       [](const service::AgentSettings& x) { return Ok(AgentSettingsJson(x)); });
      },
      kUser);
  router.Add(
      V::put, "/api/agent-config",
      [p = s.providers](Request& r) {
        auto body = ParseObject(r, {"primaryModel"});
        if (!body.ok()) return ErrorResponse(body.status());
        if (!body->contains("primaryModel")) {
          return ErrorResponse(InvalidArgument("primaryModel is required (a string, or null)"));
        }
        service::Patch<std::string> model;
        if (Status st = ReadField(*body, "primaryModel", &model); !st.ok()) {
          return ErrorResponse(st);
        }
        const std::string& user = r.caller().user_id;
        return Respond(p->SetPrimaryModel(user, *model),
                       [](const service::AgentSettings& x) { return Ok(AgentSettingsJson(x)); });
      },
      kUser);
}

}  // namespace berth::http::api
