// Users, their API tokens and container records: /api/admin/users…, /api/admin/tokens…,
// /api/me….
#include "http/api_routes.hpp"
#include "http/offload.hpp"

namespace berth::http::api {
namespace {

using V = bhttp::verb;
const RouteOptions kAdmin{Access::kAdmin};
const RouteOptions kUser{Access::kUser};

// The user's agent as the admin's fleet list shows it: the lifecycle's view (the record merged
// with what this replica knows) when there is a lifecycle, else the record's.
Result<lifecycle::AgentView> AgentOf(const std::shared_ptr<lifecycle::AgentManager>& agents,
                                     const store::UserContainer& record) {
  if (agents) return agents->GetAgent(record.user_id);
  return lifecycle::ViewOf(lifecycle::AgentRecord::From(record), nullptr);
}

Response TokenList(const Result<std::vector<store::ApiToken>>& tokens) {
  return Respond(tokens, [](const std::vector<store::ApiToken>& list) {
    json out = json::array();
    for (const auto& t : list) out.push_back(TokenJson(t));
    return Ok({{"tokens", std::move(out)}});
  });
}

}  // namespace

void RegisterUserRoutes(Router& router, const ApiServices& s) {
  router.Add(
      V::post, "/api/admin/users",
      [a = s.accounts](Request& r) {
        auto body = ParseObject(r, {"name", "email", "id"});
        if (!body.ok()) return ErrorResponse(body.status());
        service::NewUser request;
        auto name = RequireString(*body, "name");
        if (!name.ok()) return ErrorResponse(name.status());
        request.name = *name;
        auto email = OptionalString(*body, "email");
        if (!email.ok()) return ErrorResponse(email.status());
        request.email = *email;
        auto id = OptionalString(*body, "id");
        if (!id.ok()) return ErrorResponse(id.status());
        request.id = *id;
        return Respond(a->CreateUser(request), [](const service::CreatedUser& c) {
          return CreatedSecret({{"user", UserJson(c.user)}, {"token", c.token}});
        });
      },
      kAdmin);
  router.Add(
      V::get, "/api/admin/users",
      [a = s.accounts](Request&) {
        return Respond(a->ListUsers(), [](const std::vector<store::User>& users) {
          json list = json::array();
          for (const auto& u : users) list.push_back(UserJson(u));
          return Ok({{"users", std::move(list)}});
        });
      },
      kAdmin);
  router.Add(
      V::get, "/api/admin/users/:id",
      [a = s.accounts](Request& r) {
        return Respond(a->GetUser(r.Param("id")), [](const store::User& u) {
          return Ok({{"user", UserJson(u)}});
        });
      },
      kAdmin);
  router.AddAsync(V::delete_, "/api/admin/users/:id",
                  // On the blocking pool: the user's agent is removed first (an engine call).
                  Awaiting([a = s.accounts, pool = s.blocking](Request& r) {
                    return Offload<Response>(*pool, [a, id = r.Param("id")] {
                      return RespondStatus(a->DeleteUser(id));
                    });
                  }),
                  kAdmin);

  // ---- tokens ---------------------------------------------------------------------------------
  router.Add(
      V::post, "/api/admin/users/:id/tokens",
      [a = s.accounts](Request& r) {
        return Respond(a->IssueUserToken(r.Param("id")), [](const std::string& t) {
          return CreatedSecret({{"token", t}});
        });
      },
      kAdmin);
  router.Add(
      V::get, "/api/admin/users/:id/tokens",
      [a = s.accounts](Request& r) { return TokenList(a->ListUserTokens(r.Param("id"))); }, kAdmin);
  router.Add(
      V::delete_, "/api/admin/users/:id/tokens/:tokenId",
      [a = s.accounts](Request& r) {
        return RespondStatus(a->RevokeUserToken(r.Param("id"), r.Param("tokenId")));
      },
      kAdmin);
  router.Add(
      V::get, "/api/admin/tokens",
      [a = s.accounts](Request&) { return TokenList(a->ListAdminTokens()); }, kAdmin);
  router.Add(
      V::delete_, "/api/admin/tokens/:id",
      [a = s.accounts](Request& r) { return RespondStatus(a->RevokeAdminToken(r.Param("id"))); },
      kAdmin);
  router.Add(
      V::get, "/api/me/tokens",
      [a = s.accounts](Request& r) { return TokenList(a->ListUserTokens(r.caller().user_id)); },
      kUser);
  router.Add(
      V::delete_, "/api/me/tokens/:id",
      [a = s.accounts](Request& r) {
        return RespondStatus(a->RevokeUserToken(r.caller().user_id, r.Param("id")));
      },
      kUser);

  // ---- the user's container record ------------------------------------------------------------
  router.Add(
      V::post, "/api/admin/users/:id/container",
      [c = s.containers](Request& r) {
        auto rotate = QueryFlag(r, "rotate", false);
        if (!rotate.ok()) return ErrorResponse(rotate.status());
        return Respond(c->ProvisionUserContainer(r.Param("id"), *rotate),
                       [](const service::ProvisionedUserContainer& p) {
                         return CreatedSecret({{"id", p.record.id},
                                               {"containerName", p.record.container_name},
                                               {"token", p.token}});
                       });
      },
      kAdmin);
  // What an admin sets of the user's agent: its idle timeout (the service's rules), applied to a
  // running agent at once.
  router.Add(
      V::patch, "/api/admin/users/:id/agent",
      [c = s.containers, agents = s.agents](Request& r) {
        auto body = ParseObject(r, {"idleTimeoutMin"});
        if (!body.ok()) return ErrorResponse(body.status());
        auto minutes = RequireInteger(*body, "idleTimeoutMin");
        if (!minutes.ok()) return ErrorResponse(minutes.status());
        auto record = c->SetIdleTimeout(r.Param("id"), *minutes);
        if (!record.ok()) return ErrorResponse(record.status());
        return Respond(AgentOf(agents, *record),
                       [](const lifecycle::AgentView& v) { return Ok(AdminAgentJson(v)); });
      },
      kAdmin);

  router.Add(
      V::get, "/api/me",
      [a = s.accounts](Request& r) {
        return Respond(a->GetUser(r.caller().user_id), [](const store::User& u) {
          return Ok({{"user", UserJson(u)}});
        });
      },
      kUser);
}

}  // namespace berth::http::api
