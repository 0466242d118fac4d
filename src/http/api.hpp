#pragma once

#include <memory>

#include "common/metrics.hpp"
#include "http/attempt_limiter.hpp"
#include "http/router.hpp"
#include "lifecycle/agent_manager.hpp"
#include "llm/provider_client.hpp"
#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/llm_budget.hpp"
#include "service/providers.hpp"
#include "service/usage_ledger.hpp"
#include "store/store.hpp"

namespace berth::http {

struct ApiServices {
  store::StorePtr store;
  std::shared_ptr<service::AccountService> accounts;
  std::shared_ptr<service::ProviderService> providers;
  std::shared_ptr<service::ContainerService> containers;
  // The agent lifecycle. Null, or not yet initialized (no engine yet): agent routes answer 503.
  std::shared_ptr<lifecycle::AgentManager> agents;
  // Failed token attempts on the internal endpoint, per peer. Null: a fresh limiter.
  std::shared_ptr<AttemptLimiter> internal_limiter;
  // Where blocking lifecycle calls (graceful stops, sweeps) run. Null: a pool of 16 is made.
  std::shared_ptr<net::thread_pool> blocking;
  // Whether the public listener serves /api/internal/* too: only when agents reach berth there
  // (MOSAIC_API_URL names it, or BERTH_INTERNAL_LISTEN is off); with the internal listener on,
  // the public one answers 404 there (ARCHITECTURE.md, "Trust boundaries").
  bool internal_on_public = true;
  // Where agents' LLM calls go out (http/llm_gateway_api.hpp). Null: the gateway answers 503.
  std::shared_ptr<llm::ProviderClient> llm_client;
  // What agents use through the gateway (GET /api/usage, /api/admin/usage). Null: not counted,
  // and the usage routes answer 503.
  std::shared_ptr<service::UsageLedger> usage;
  // Each user's LLM limits (PUT /api/admin/users/:id/limits) and their enforcement on the
  // gateway. Null: none, and the limits routes answer 503.
  std::shared_ptr<service::LlmBudget> budget;
  // Where the gateway's counters go. Null: none.
  MetricsRegistry* metrics = nullptr;
};

// Registers the REST API (health, admin, user, and the internal agent-config endpoint when
// internal_on_public) on `router`, and its Authenticator (the account service). Handlers parse,
// call a service and serialize; who may call a route is its RouteOptions' Access.
void RegisterApiRoutes(Router& router, const ApiServices& services);

// The router's Authenticator for berth's API tokens (the account service's, with its cache).
Authenticator AccountAuthenticator(std::shared_ptr<service::AccountService> accounts);

// Only the internal agent-config endpoint: for the listener agents reach (ARCHITECTURE.md,
// "Trust boundaries"), where nothing else of berth's API is served.
void RegisterInternalRoutes(Router& router, const ApiServices& services);

}  // namespace berth::http
