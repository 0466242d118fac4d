#include "http/api.hpp"

#include <chrono>
#include <optional>

#include "http/api_routes.hpp"
#include "http/llm_gateway_api.hpp"
#include "http/offload.hpp"
#include "http/warmup_llm.hpp"

namespace berth::http {
namespace {

using V = bhttp::verb;
using api::Ok;

// "1.2.3.4:5678" or "[::1]:5678" without the port: limits apply per address, not per connection.
std::string PeerAddress(const std::string& peer) {
  std::size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

void RegisterHealthRoutes(Router& router, const ApiServices& s) {
  RouteOptions cheap;
  cheap.inline_handler = true;
  router.Add(
      V::get, "/api/health",
      [](Request&) {
        return Ok({{"status", "ok"}});
      },
      cheap);
  router.Add(V::get, "/api/ready", [store = s.store, agents = s.agents](Request&) {
    Status ping = store->Ping();
    if (!ping.ok()) return ErrorResponse(Unavailable("store: " + ping.message()));
    nlohmann::json checks = {{"store", "ok"}};
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
}

}  // namespace

void RegisterApiRoutes(Router& router, const ApiServices& services) {
  ApiServices s = services;
  // Blocking lifecycle work (graceful stops, sweeps) runs on this pool, never on server threads.
  if (!s.blocking) s.blocking = std::make_shared<net::thread_pool>(16);
  if (s.accounts) router.SetAuthenticator(AccountAuthenticator(s.accounts));
  RegisterHealthRoutes(router, s);
  api::RegisterUserRoutes(router, s);
  api::RegisterProviderRoutes(router, s);
  api::RegisterAgentRoutes(router, s);
  api::RegisterUsageRoutes(router, s);
  if (s.internal_on_public) RegisterInternalRoutes(router, s);
}

Authenticator AccountAuthenticator(std::shared_ptr<service::AccountService> accounts) {
  return [accounts = std::move(accounts)](std::string_view token) {
    return accounts->Authenticate(token);
  };
}

namespace {

// The internal endpoint's answer for `config`, counting a refused token against `peer`.
Response InternalAnswer(const Result<nlohmann::json>& config, AttemptLimiter& limiter,
                        const std::string& peer, std::chrono::steady_clock::time_point now) {
  if (!config.ok() && (config.status().code() == ErrorCode::kUnauthenticated ||
                       config.status().code() == ErrorCode::kPermissionDenied)) {
    limiter.RecordFailure(peer, now);
  }
  return api::Respond(config, [](const nlohmann::json& body) { return Ok(body); });
}

std::optional<Response> InternalRefusal(const Request& r, AttemptLimiter& limiter,
                                        const std::string& peer,
                                        std::chrono::steady_clock::time_point now) {
  if (long wait = limiter.BlockedFor(peer, now); wait > 0) {
    Response res =
        ErrorResponse(ResourceExhausted("too many failed token attempts from this address"));
    res.set(bhttp::field::retry_after, std::to_string(wait));
    return res;
  }
  if (!r.BearerToken()) return ErrorResponse(Unauthenticated("Missing Bearer token"));
  return std::nullopt;
}

}  // namespace

void RegisterInternalRoutes(Router& router, const ApiServices& s) {
  // ---- internal: agent containers fetch their config (seed contract) ---------------------------
  RegisterWarmupLlm(router);
  auto limiter = s.internal_limiter ? s.internal_limiter : std::make_shared<AttemptLimiter>();
  LlmGatewayServices gateway;
  gateway.containers = s.containers;
  gateway.providers = s.providers;
  gateway.client = s.llm_client;
  gateway.limiter = limiter;
  gateway.usage = s.usage;
  gateway.budget = s.budget;
  gateway.metrics = s.metrics;
  RegisterLlmGateway(router, gateway);
  constexpr const char* kPath = "/api/internal/agent-config/:id";
  if (s.containers == nullptr || !s.containers->batched()) {
    router.Add(V::get, kPath, [c = s.containers, limiter](Request& r) {
      const auto now = std::chrono::steady_clock::now();
      const std::string peer = PeerAddress(r.peer);
      if (auto refused = InternalRefusal(r, *limiter, peer, now)) return std::move(*refused);
      return InternalAnswer(c->ConfigForToken(*r.BearerToken(), r.Param("id")), *limiter, peer,
                            now);
    });
    return;
  }
  // Batched (berth on PostgreSQL): the lookup joins others in one round trip while this thread
  // serves other sockets; the config is assembled here once the record is back.
  using Found = Result<store::AgentConfigSource>;
  router.AddAsync(
      V::get, kPath, [c = s.containers, limiter](Request& r) -> net::awaitable<Response> {
        const auto now = std::chrono::steady_clock::now();
        const std::string peer = PeerAddress(r.peer);
        if (auto refused = InternalRefusal(r, *limiter, peer, now)) {
          co_return std::move(*refused);
        }
        // Named, not temporaries of the co_await: g++ 12 destroys those twice (http/offload.hpp).
        auto lookup = [c, token = std::string(*r.BearerToken())](std::function<void(Found)> done) {
          c->AuthenticateContainerAsync(token, std::move(done));
        };
        net::awaitable<std::shared_ptr<Found>> pending = AwaitCallback<Found>(std::move(lookup));
        std::shared_ptr<Found> found = co_await std::move(pending);
        co_return InternalAnswer(c->ConfigFor(*found, r.Param("id"), *r.BearerToken()), *limiter,
                                 peer, now);
      });
}

}  // namespace berth::http
