#include "http/api.hpp"

#include <chrono>
#include <set>

#include "common/ids.hpp"
#include "http/offload.hpp"

namespace berth::http {
namespace {

using nlohmann::json;
using service::Patch;
using service::Principal;
using service::Role;

// ---- request parsing --------------------------------------------------------------------------

// The body as a JSON object. Unknown fields are refused so that a misspelt field (say "apikey")
// never silently drops a value.
Result<json> ParseObject(const Request& request, const std::set<std::string>& allowed) {
  const std::string& body = request.raw.body();
  if (body.empty()) return InvalidArgument("request body must be a JSON object");
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return InvalidArgument("request body must be a JSON object");
  for (const auto& [key, value] : parsed.items()) {
    if (!allowed.count(key)) return InvalidArgument("unknown field '" + key + "'");
  }
  return parsed;
}

// Reads an optional field of type T (std::string or bool): absent → nullopt, null → holds
// nullopt, a value of another JSON type → 400.
template <typename T>
Status ReadField(const json& body, const char* key, Patch<T>* out) {
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
Result<std::string> RequireString(const json& body, const char* key) {
  Patch<std::string> value;
  BERTH_RETURN_IF_ERROR(ReadField(body, key, &value));
  if (!value || !*value) return InvalidArgument(std::string(key) + " is required");
  return **value;
}

// An optional string that may not be null (absent → nullopt).
Result<std::optional<std::string>> OptionalString(const json& body, const char* key) {
  Patch<std::string> value;
  BERTH_RETURN_IF_ERROR(ReadField(body, key, &value));
  if (!value) return std::optional<std::string>();
  return *value;
}

// ---- serialization ----------------------------------------------------------------------------

json Time(int64_t ms) { return FormatRfc3339Millis(ms); }
template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json UserJson(const store::User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"email", OrNull(u.email)},
          {"createdAt", Time(u.created_at)},
          {"updatedAt", Time(u.updated_at)}};
}

// Never contains the key: only whether there is one.
json ProviderJson(const store::LlmProvider& p) {
  json models = json::parse(p.models_json, nullptr, false);
  if (models.is_discarded()) models = json::array();
  return {{"id", p.id},
          {"name", p.name},
          {"displayName", OrNull(p.display_name)},
          {"type", p.type},
          {"baseUrl", OrNull(p.base_url)},
          {"apiType", OrNull(p.api_type)},
          {"models", std::move(models)},
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

Response Ok(const json& body) { return JsonResponse(bhttp::status::ok, body); }
Response Created(const json& body) { return JsonResponse(bhttp::status::created, body); }
Response NoContent() {
  Response r{bhttp::status::no_content, 11};
  r.set(bhttp::field::cache_control, "no-store");
  return r;
}

// ---- authorization ----------------------------------------------------------------------------

using AuthedHandler = std::function<Response(Request&, const Principal&)>;

Handler WithRole(std::shared_ptr<service::AccountService> accounts, Role role,
                 AuthedHandler handler) {
  return [accounts = std::move(accounts), role, handler = std::move(handler)](Request& request) {
    auto token = request.BearerToken();
    if (!token) return ErrorResponse(Unauthenticated("Missing Bearer token"));
    auto principal = accounts->Authenticate(*token);
    if (!principal.ok()) return ErrorResponse(principal.status());
    if (principal->role != role) {
      return ErrorResponse(PermissionDenied(role == Role::kAdmin
                                                ? "this endpoint needs an admin token"
                                                : "this endpoint needs a user token"));
    }
    return handler(request, *principal);
  };
}

template <typename T, typename F>
Response Respond(const Result<T>& result, F&& to_response) {
  if (!result.ok()) return ErrorResponse(result.status());
  return to_response(*result);
}

Response RespondStatus(const Status& status) {
  return status.ok() ? NoContent() : ErrorResponse(status);
}

// ---- agents -----------------------------------------------------------------------------------

// An async handler that needs no coroutine frame of its own: it returns the awaitable of its
// whole response (http/offload.hpp explains why).
using AsyncAuthedHandler =
    std::function<net::awaitable<std::shared_ptr<Response>>(Request&, const Principal&)>;

AsyncHandler WithRoleAsync(std::shared_ptr<service::AccountService> accounts, Role role,
                           AsyncAuthedHandler handler) {
  return [accounts = std::move(accounts), role,
          handler = std::move(handler)](Request& request) -> net::awaitable<Response> {
    auto token = request.BearerToken();
    if (!token) co_return ErrorResponse(Unauthenticated("Missing Bearer token"));
    auto principal = accounts->Authenticate(*token);
    if (!principal.ok()) co_return ErrorResponse(principal.status());
    if (principal->role != role) {
      co_return ErrorResponse(PermissionDenied(role == Role::kAdmin
                                                   ? "this endpoint needs an admin token"
                                                   : "this endpoint needs a user token"));
    }
    net::awaitable<std::shared_ptr<Response>> pending = handler(request, *principal);
    std::shared_ptr<Response> response = co_await std::move(pending);
    co_return std::move(*response);
  };
}

json AgentJson(const lifecycle::AgentView& v) {
  json j = {{"status", lifecycle::AgentStatusName(v.status)},
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
  if (v.kind == store::ContainerKind::kUser) {
    j["userId"] = v.owner;
  } else {
    j["name"] = v.name;
  }
  return j;
}

// Errors of agent operations; 429 tells the client when to come back.
Response AgentError(const Status& status, const lifecycle::AgentManager& agents) {
  Response res = ErrorResponse(status);
  if (status.code() == ErrorCode::kResourceExhausted) {
    res.set(bhttp::field::retry_after, std::to_string(agents.retry_after().count()));
  }
  return res;
}

Status AgentsUnavailable(const std::shared_ptr<lifecycle::AgentManager>& agents) {
  if (agents && agents->initialized()) return Status::Ok();
  return Unavailable("the container engine is not available yet; agents cannot be managed");
}

}  // namespace

void RegisterApiRoutes(Router& router, const ApiServices& s) {
  using V = bhttp::verb;
  auto admin = [&](AuthedHandler h) { return WithRole(s.accounts, Role::kAdmin, std::move(h)); };
  auto user = [&](AuthedHandler h) { return WithRole(s.accounts, Role::kUser, std::move(h)); };
  auto admin_async = [&](AsyncAuthedHandler h) {
    return WithRoleAsync(s.accounts, Role::kAdmin, std::move(h));
  };
  auto user_async = [&](AsyncAuthedHandler h) {
    return WithRoleAsync(s.accounts, Role::kUser, std::move(h));
  };
  // Blocking lifecycle work (graceful stops, sweeps) runs here, never on server threads. Shared by
  // the handlers; joined when the router goes.
  auto pool = std::make_shared<net::thread_pool>(16);

  // ---- health ---------------------------------------------------------------------------------
  router.Add(V::get, "/api/health", [](Request&) { return Ok({{"status", "ok"}}); });
  router.Add(V::get, "/api/ready", [store = s.store, agents = s.agents](Request&) {
    Status ping = store->Ping();
    if (!ping.ok()) return ErrorResponse(Unavailable("store: " + ping.message()));
    json checks = {{"store", "ok"}};
    if (agents) {
      // One cheap engine call; the readiness of berth is the readiness of its engine.
      auto engine = agents->EnginePing();
      if (!engine.ok()) return ErrorResponse(Unavailable("engine: " + engine.status().message()));
      if (!agents->initialized()) {
        return ErrorResponse(Unavailable("engine: answering, lifecycle not initialized yet"));
      }
      checks["engine"] = "ok";
      checks["engineVersion"] = *engine;
    }
    return Ok({{"status", "ready"}, {"checks", std::move(checks)}});
  });

  // ---- admin: users ---------------------------------------------------------------------------
  router.Add(V::post, "/api/admin/users", admin([a = s.accounts](Request& r, const Principal&) {
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
                 return Created({{"user", UserJson(c.user)}, {"token", c.token}});
               });
             }));
  router.Add(V::get, "/api/admin/users", admin([a = s.accounts](Request&, const Principal&) {
               return Respond(a->ListUsers(), [](const std::vector<store::User>& users) {
                 json list = json::array();
                 for (const auto& u : users) list.push_back(UserJson(u));
                 return Ok({{"users", std::move(list)}});
               });
             }));
  router.Add(V::get, "/api/admin/users/:id", admin([a = s.accounts](Request& r, const Principal&) {
               return Respond(a->GetUser(r.Param("id")), [](const store::User& u) {
                 return Ok({{"user", UserJson(u)}});
               });
             }));
  router.AddAsync(
      V::delete_, "/api/admin/users/:id",
      admin_async([a = s.accounts, agents = s.agents, pool](Request& r, const Principal&) {
        return Offload<Response>(*pool, [a, agents, id = r.Param("id")] {
          // The container and its volume go first: a user deleted with a running agent would
          // leave an orphan holding their data (the reconciler would catch it, but later).
          if (agents && agents->initialized() && a->GetUser(id).ok()) {
            if (Status st = agents->RemoveAgent(id); !st.ok()) return ErrorResponse(st);
          }
          return RespondStatus(a->DeleteUser(id));
        });
      }));
  router.Add(V::post, "/api/admin/users/:id/tokens",
             admin([a = s.accounts](Request& r, const Principal&) {
               return Respond(a->IssueUserToken(r.Param("id")), [](const std::string& t) {
                 return Created({{"token", t}});
               });
             }));
  router.Add(V::post, "/api/admin/users/:id/container",
             admin([c = s.containers, agents = s.agents](Request& r, const Principal&) {
               bool rotate = false;
               if (auto it = r.query.find("rotate"); it != r.query.end()) {
                 if (it->second != "true" && it->second != "false") {
                   return ErrorResponse(InvalidArgument("rotate must be true or false"));
                 }
                 rotate = it->second == "true";
               }
               auto provisioned = c->ProvisionUserContainer(r.Param("id"), rotate);
               if (provisioned.ok() && rotate && agents) agents->InvalidateAgent(r.Param("id"));
               return Respond(provisioned, [](const service::ProvisionedUserContainer& p) {
                 return Created({{"id", p.record.id},
                                 {"containerName", p.record.container_name},
                                 {"token", p.token}});
               });
             }));

  // ---- admin: system containers ---------------------------------------------------------------
  router.Add(
      V::post, "/api/admin/system-containers",
      admin([c = s.containers](Request& r, const Principal&) {
        auto body = ParseObject(r, {"name", "primaryModel"});
        if (!body.ok()) return ErrorResponse(body.status());
        auto name = RequireString(*body, "name");
        if (!name.ok()) return ErrorResponse(name.status());
        Patch<std::string> model;
        if (Status st = ReadField(*body, "primaryModel", &model); !st.ok()) {
          return ErrorResponse(st);
        }
        return Respond(
            c->CreateSystemContainer(*name, model.value_or(std::nullopt)),
            [](const service::ProvisionedSystemContainer& p) {
              return Created({{"container", SystemContainerJson(p.record)}, {"token", p.token}});
            });
      }));
  router.Add(V::get, "/api/admin/system-containers",
             admin([c = s.containers](Request&, const Principal&) {
               return Respond(c->ListSystemContainers(),
                              [](const std::vector<store::SystemContainer>& list) {
                                json out = json::array();
                                for (const auto& x : list) out.push_back(SystemContainerJson(x));
                                return Ok({{"containers", std::move(out)}});
                              });
             }));
  router.Add(V::delete_, "/api/admin/system-containers/:id",
             admin([c = s.containers](Request& r, const Principal&) {
               return RespondStatus(c->DeleteSystemContainer(r.Param("id")));
             }));

  // ---- user -----------------------------------------------------------------------------------
  router.Add(V::get, "/api/me", user([a = s.accounts](Request&, const Principal& p) {
               return Respond(a->GetUser(p.user_id), [](const store::User& u) {
                 return Ok({{"user", UserJson(u)}});
               });
             }));

  auto read_provider = [](const Request& r) -> Result<service::ProviderChange> {
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
      change.models = it->is_null() ? std::optional<json>() : std::optional<json>(*it);
    }
    return change;
  };

  // A running agent gets its new openclaw.json pushed after every change (hot reload).
  auto pushed = [agents = s.agents](const std::string& user_id, Response res) {
    if (agents && agents->initialized() && res.result_int() < 300) agents->ConfigChanged(user_id);
    return res;
  };
  router.Add(V::post, "/api/providers",
             user([p = s.providers, read_provider, pushed](Request& r, const Principal& who) {
               auto change = read_provider(r);
               if (!change.ok()) return ErrorResponse(change.status());
               return pushed(who.user_id, Respond(p->Create(who.user_id, *change),
                                                  [](const store::LlmProvider& x) {
                                                    return Created({{"provider", ProviderJson(x)}});
                                                  }));
             }));
  router.Add(V::get, "/api/providers", user([p = s.providers](Request&, const Principal& who) {
               return Respond(p->List(who.user_id),
                              [](const std::vector<store::LlmProvider>& list) {
                                json out = json::array();
                                for (const auto& x : list) out.push_back(ProviderJson(x));
                                return Ok({{"providers", std::move(out)}});
                              });
             }));
  router.Add(V::get, "/api/providers/:id",
             user([p = s.providers](Request& r, const Principal& who) {
               return Respond(p->Get(who.user_id, r.Param("id")), [](const store::LlmProvider& x) {
                 return Ok({{"provider", ProviderJson(x)}});
               });
             }));
  router.Add(V::patch, "/api/providers/:id",
             user([p = s.providers, read_provider, pushed](Request& r, const Principal& who) {
               auto change = read_provider(r);
               if (!change.ok()) return ErrorResponse(change.status());
               return pushed(who.user_id, Respond(p->Update(who.user_id, r.Param("id"), *change),
                                                  [](const store::LlmProvider& x) {
                                                    return Ok({{"provider", ProviderJson(x)}});
                                                  }));
             }));
  router.Add(V::delete_, "/api/providers/:id",
             user([p = s.providers, pushed](Request& r, const Principal& who) {
               return pushed(who.user_id, RespondStatus(p->Delete(who.user_id, r.Param("id"))));
             }));

  router.Add(V::get, "/api/agent-config", user([p = s.providers](Request&, const Principal& who) {
               return Respond(
                   p->GetAgentSettings(who.user_id),
                   [](const service::AgentSettings& x) { return Ok(AgentSettingsJson(x)); });
             }));
  router.Add(
      V::put, "/api/agent-config",
      user([p = s.providers, pushed](Request& r, const Principal& who) {
        auto body = ParseObject(r, {"primaryModel"});
        if (!body.ok()) return ErrorResponse(body.status());
        if (!body->contains("primaryModel")) {
          return ErrorResponse(InvalidArgument("primaryModel is required (a string, or null)"));
        }
        Patch<std::string> model;
        if (Status st = ReadField(*body, "primaryModel", &model); !st.ok())
          return ErrorResponse(st);
        return pushed(who.user_id, Respond(p->SetPrimaryModel(who.user_id, *model),
                                           [](const service::AgentSettings& x) {
                                             return Ok(AgentSettingsJson(x));
                                           }));
      }));

  // ---- agents -----------------------------------------------------------------------------------
  // Waiting handlers are plain functions returning an awaitable (see http/offload.hpp): the
  // blocking part runs on `pool` or on the start's own thread and builds the whole response.
  router.Add(V::get, "/api/agent", user([agents = s.agents](Request&, const Principal& who) {
               if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
               return Respond(agents->GetAgent(who.user_id),
                              [](const lifecycle::AgentView& v) { return Ok(AgentJson(v)); });
             }));
  // The agent's view after a start: its JSON, or the start's error.
  auto started_response = [](std::shared_ptr<lifecycle::AgentManager> agents, std::string user_id,
                             const Result<lifecycle::AgentEndpoint>& started) {
    if (!started.ok()) return AgentError(started.status(), *agents);
    return Respond(agents->GetAgent(user_id),
                   [](const lifecycle::AgentView& v) { return Ok(AgentJson(v)); });
  };
  // Returns once the agent is ready (or its start failed); concurrent calls share one start.
  router.AddAsync(V::post, "/api/agent/start",
                  user_async([agents = s.agents, started_response](Request&, const Principal& who) {
                    return AwaitCallback<Response>([agents, started_response, id = who.user_id](
                                                       std::function<void(Response)> done) {
                      if (Status st = AgentsUnavailable(agents); !st.ok())
                        return done(ErrorResponse(st));
                      agents->EnsureRunningAsync(id, [=](Result<lifecycle::AgentEndpoint> started) {
                        done(started_response(agents, id, started));
                      });
                    });
                  }));
  router.AddAsync(V::post, "/api/agent/stop",
                  user_async([agents = s.agents, pool](Request&, const Principal& who) {
                    return Offload<Response>(*pool, [agents, id = who.user_id] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) {
                        return ErrorResponse(st);
                      }
                      if (Status st = agents->StopAgent(id); !st.ok()) return ErrorResponse(st);
                      return Respond(agents->GetAgent(id), [](const lifecycle::AgentView& v) {
                        return Ok(AgentJson(v));
                      });
                    });
                  }));
  router.AddAsync(
      V::post, "/api/agent/restart",
      user_async([agents = s.agents, started_response, pool](Request&, const Principal& who) {
        return AwaitCallback<Response>(
            [agents, started_response, pool, id = who.user_id](std::function<void(Response)> done) {
              if (Status st = AgentsUnavailable(agents); !st.ok()) return done(ErrorResponse(st));
              // The stop blocks for up to the grace period: on the blocking pool, like /stop; the
              // start then completes on its own thread.
              net::post(*pool, [=] {
                if (Status st = agents->StopAgent(id); !st.ok()) return done(ErrorResponse(st));
                agents->EnsureRunningAsync(id, [=](Result<lifecycle::AgentEndpoint> started) {
                  done(started_response(agents, id, started));
                });
              });
            });
      }));

  // ---- admin: the fleet -----------------------------------------------------------------------
  router.Add(
      V::get, "/api/admin/containers", admin([agents = s.agents](Request&, const Principal&) {
        if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
        return Respond(agents->ListAgents(), [](const std::vector<lifecycle::AgentView>& list) {
          json out = json::array();
          for (const auto& v : list) out.push_back(AdminAgentJson(v));
          return Ok({{"containers", std::move(out)}});
        });
      }));
  router.AddAsync(V::post, "/api/admin/reap",
                  admin_async([agents = s.agents, pool](Request&, const Principal&) {
                    return Offload<Response>(*pool, [agents] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) {
                        return ErrorResponse(st);
                      }
                      return Respond(agents->Reap(), [](const std::vector<std::string>& stopped) {
                        return Ok({{"stopped", stopped}});
                      });
                    });
                  }));
  router.AddAsync(V::post, "/api/admin/health-check",
                  admin_async([agents = s.agents, pool](Request&, const Principal&) {
                    return Offload<Response>(*pool, [agents] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
                      return Respond(
                          agents->HealthCheck(),
                          [](const std::vector<lifecycle::HealthResult>& checked) {
                            json results = json::array();
                            for (const auto& r : checked) {
                              json item = {{"userId", r.user_id}, {"healthy", r.healthy}};
                              if (!r.healthy) item["error"] = r.error;
                              results.push_back(std::move(item));
                            }
                            return Ok({{"results", std::move(results)}});
                          });
                    });
                  }));
  router.AddAsync(V::post, "/api/admin/system-containers/:id/start",
                  admin_async([agents = s.agents, pool](Request& r, const Principal&) {
                    return Offload<Response>(*pool, [agents, id = r.Param("id")] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) {
                        return ErrorResponse(st);
                      }
                      auto started = agents->StartSystemContainer(id);
                      if (!started.ok()) return AgentError(started.status(), *agents);
                      return Ok({{"status", "running"}});
                    });
                  }));
  router.AddAsync(V::post, "/api/admin/system-containers/:id/stop",
                  admin_async([agents = s.agents, pool](Request& r, const Principal&) {
                    return Offload<Response>(*pool, [agents, id = r.Param("id")] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) {
                        return ErrorResponse(st);
                      }
                      Status stopped = agents->StopSystemContainer(id);
                      if (!stopped.ok()) return ErrorResponse(stopped);
                      return Ok({{"status", "stopped"}});
                    });
                  }));

  RegisterInternalRoutes(router, s);
}

namespace {

// "1.2.3.4:5678" or "[::1]:5678" without the port: limits apply per address, not per connection.
std::string PeerAddress(const std::string& peer) {
  std::size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

}  // namespace

void RegisterInternalRoutes(Router& router, const ApiServices& s) {
  // ---- internal: agent containers fetch their config (seed contract) ---------------------------
  auto limiter = s.internal_limiter ? s.internal_limiter : std::make_shared<AttemptLimiter>();
  router.Add(
      bhttp::verb::get, "/api/internal/agent-config/:id", [c = s.containers, limiter](Request& r) {
        const auto now = std::chrono::steady_clock::now();
        const std::string peer = PeerAddress(r.peer);
        if (long wait = limiter->BlockedFor(peer, now); wait > 0) {
          Response res =
              ErrorResponse(ResourceExhausted("too many failed token attempts from this address"));
          res.set(bhttp::field::retry_after, std::to_string(wait));
          return res;
        }
        auto token = r.BearerToken();
        if (!token) return ErrorResponse(Unauthenticated("Missing Bearer token"));
        auto config = c->ConfigForToken(*token, r.Param("id"));
        if (!config.ok() && (config.status().code() == ErrorCode::kUnauthenticated ||
                             config.status().code() == ErrorCode::kPermissionDenied)) {
          limiter->RecordFailure(peer, now);
        }
        return Respond(config, [](const json& body) { return Ok(body); });
      });
}

}  // namespace berth::http
