#pragma once

#include <memory>

#include "http/attempt_limiter.hpp"
#include "http/router.hpp"
#include "lifecycle/agent_manager.hpp"
#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
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
};

// Registers the REST API (health, admin, user, internal agent-config) on `router`. Handlers
// parse and serialize only; authorization is decided here, everything else in the services.
void RegisterApiRoutes(Router& router, const ApiServices& services);

// Only the internal agent-config endpoint: for the listener agents reach (ARCHITECTURE.md,
// "Trust boundaries"), where nothing else of berth's API is served.
void RegisterInternalRoutes(Router& router, const ApiServices& services);

}  // namespace berth::http
