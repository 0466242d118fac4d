// Agents: the caller's (/api/agent…), the fleet and system containers (/api/admin/…).
#include <mutex>
#include <optional>

#include "http/api_routes.hpp"
#include "http/offload.hpp"

namespace berth::http::api {
namespace {

using V = bhttp::verb;
const RouteOptions kAdmin{Access::kAdmin};
const RouteOptions kUser{Access::kUser};
using AgentsPtr = std::shared_ptr<lifecycle::AgentManager>;

// Errors of agent operations; 429 tells the client when to come back.
Response AgentError(const Status& status, const lifecycle::AgentManager& agents) {
  Response res = ErrorResponse(status);
  if (status.code() == ErrorCode::kResourceExhausted) {
    res.set(bhttp::field::retry_after, std::to_string(agents.retry_after().count()));
  }
  return res;
}

Status AgentsUnavailable(const AgentsPtr& agents) {
  if (agents && agents->initialized()) return Status::Ok();
  return Unavailable("the container engine is not available yet; agents cannot be managed");
}

// The agent's view after a start: its JSON, or the start's error.
Response StartedResponse(const AgentsPtr& agents, const std::string& user_id,
                         const Result<lifecycle::AgentEndpoint>& started) {
  if (!started.ok()) return AgentError(started.status(), *agents);
  return Respond(agents->GetAgent(user_id),
                 [](const lifecycle::AgentView& v) { return Ok(AgentJson(v)); });
}

// Begins the user's start without waiting for it: 202 with the agent's view, or the start's
// refusal when it came before this answer (429 at the start cap, an unknown user).
Response StartAhead(const AgentsPtr& agents, const std::string& user_id) {
  struct Outcome {
    std::mutex mu;
    bool answered = false;          // guarded by mu
    std::optional<Status> refusal;  // guarded by mu
  };
  auto outcome = std::make_shared<Outcome>();
  agents->EnsureRunningAsync(user_id, [outcome](Result<lifecycle::AgentEndpoint> started) {
    std::lock_guard lock(outcome->mu);
    if (!outcome->answered && !started.ok()) outcome->refusal = started.status();
  });
  std::optional<Status> refusal;
  {
    std::lock_guard lock(outcome->mu);
    outcome->answered = true;
    refusal = outcome->refusal;
  }
  if (refusal) return AgentError(*refusal, *agents);
  return Respond(agents->GetAgent(user_id), [](const lifecycle::AgentView& v) {
    return JsonResponse(bhttp::status::accepted, AgentJson(v));
  });
}

}  // namespace

void RegisterAgentRoutes(Router& router, const ApiServices& s) {
  // ---- the caller's agent ---------------------------------------------------------------------
  // Waiting handlers are plain functions returning an awaitable (see http/offload.hpp): the
  // blocking part runs on the blocking pool or on the start's own thread and builds the whole
  // response.
  router.Add(
      V::get, "/api/agent",
      [agents = s.agents](Request& r) {
        if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
        return Respond(agents->GetAgent(r.caller().user_id),
                       [](const lifecycle::AgentView& v) { return Ok(AgentJson(v)); });
      },
      kUser);
  // Returns once the agent is ready (or its start failed); concurrent calls share one start.
  // ?wait=false: a sign the user is about to chat; the start (or resume) begins and the answer
  // is 202 with the agent as it is now (GET /api/agent/events follows the start).
  router.AddAsync(V::post, "/api/agent/start", Awaiting([agents = s.agents](Request& r) {
                    auto wait = QueryFlag(r, "wait", true);
                    return AwaitCallback<Response>([agents, id = r.caller().user_id,
                                                    wait](std::function<void(Response)> done) {
                      if (!wait.ok()) return done(ErrorResponse(wait.status()));
                      if (Status st = AgentsUnavailable(agents); !st.ok())
                        return done(ErrorResponse(st));
                      if (!*wait) return done(StartAhead(agents, id));
                      agents->EnsureRunningAsync(id, [=](Result<lifecycle::AgentEndpoint> started) {
                        done(StartedResponse(agents, id, started));
                      });
                    });
                  }),
                  kUser);
  router.AddAsync(
      V::post, "/api/agent/stop", Awaiting([agents = s.agents, pool = s.blocking](Request& r) {
        return Offload<Response>(*pool, [agents, id = r.caller().user_id] {
          if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
          if (Status st = agents->StopAgent(id); !st.ok()) return ErrorResponse(st);
          return Respond(agents->GetAgent(id),
                         [](const lifecycle::AgentView& v) { return Ok(AgentJson(v)); });
        });
      }),
      kUser);
  // Stop and start in one lifecycle call, on the blocking pool (the stop waits for the grace).
  router.AddAsync(V::post, "/api/agent/restart",
                  Awaiting([agents = s.agents, pool = s.blocking](Request& r) {
                    return Offload<Response>(*pool, [agents, id = r.caller().user_id] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
                      return StartedResponse(agents, id, agents->RestartAgent(id));
                    });
                  }),
                  kUser);

  // ---- the fleet ------------------------------------------------------------------------------
  router.Add(
      V::get, "/api/admin/containers",
      [agents = s.agents](Request&) {
        if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
        return Respond(agents->ListAgents(), [](const std::vector<lifecycle::AgentView>& list) {
          json out = json::array();
          for (const auto& v : list) out.push_back(AdminAgentJson(v));
          return Ok({{"containers", std::move(out)}});
        });
      },
      kAdmin);
  router.AddAsync(V::post, "/api/admin/reap",
                  Awaiting([agents = s.agents, pool = s.blocking](Request&) {
                    return Offload<Response>(*pool, [agents] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
                      return Respond(agents->Reap(), [](const std::vector<std::string>& stopped) {
                        return Ok({{"stopped", stopped}});
                      });
                    });
                  }),
                  kAdmin);
  router.AddAsync(V::post, "/api/admin/health-check",
                  Awaiting([agents = s.agents, pool = s.blocking](Request&) {
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
                  }),
                  kAdmin);

  // ---- system containers ----------------------------------------------------------------------
  router.Add(
      V::post, "/api/admin/system-containers",
      [c = s.containers](Request& r) {
        auto body = ParseObject(r, {"name", "primaryModel"});
        if (!body.ok()) return ErrorResponse(body.status());
        auto name = RequireString(*body, "name");
        if (!name.ok()) return ErrorResponse(name.status());
        service::Patch<std::string> model;
        if (Status st = ReadField(*body, "primaryModel", &model); !st.ok()) {
          return ErrorResponse(st);
        }
        return Respond(c->CreateSystemContainer(*name, model.value_or(std::nullopt)),
                       [](const service::ProvisionedSystemContainer& p) {
                         return CreatedSecret(
                             {{"container", SystemContainerJson(p.record)}, {"token", p.token}});
                       });
      },
      kAdmin);
  router.Add(
      V::get, "/api/admin/system-containers",
      [c = s.containers](Request&) {
        return Respond(c->ListSystemContainers(),
                       [](const std::vector<store::SystemContainer>& list) {
                         json out = json::array();
                         for (const auto& x : list) out.push_back(SystemContainerJson(x));
                         return Ok({{"containers", std::move(out)}});
                       });
      },
      kAdmin);
  router.Add(
      V::delete_, "/api/admin/system-containers/:id",
      [c = s.containers](Request& r) {
        return RespondStatus(c->DeleteSystemContainer(r.Param("id")));
      },
      kAdmin);
  router.AddAsync(V::post, "/api/admin/system-containers/:id/start",
                  Awaiting([agents = s.agents, pool = s.blocking](Request& r) {
                    return Offload<Response>(*pool, [agents, id = r.Param("id")] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
                      auto started = agents->StartSystemContainer(id);
                      if (!started.ok()) return AgentError(started.status(), *agents);
                      return Ok({{"status", "running"}});
                    });
                  }),
                  kAdmin);
  router.AddAsync(V::post, "/api/admin/system-containers/:id/stop",
                  Awaiting([agents = s.agents, pool = s.blocking](Request& r) {
                    return Offload<Response>(*pool, [agents, id = r.Param("id")] {
                      if (Status st = AgentsUnavailable(agents); !st.ok()) return ErrorResponse(st);
                      Status stopped = agents->StopSystemContainer(id);
                      if (!stopped.ok()) return ErrorResponse(stopped);
                      return Ok({{"status", "stopped"}});
                    });
                  }),
                  kAdmin);
}

}  // namespace berth::http::api
