#pragma once

#include <memory>

#include "http/router.hpp"
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
};

// Registers the REST API (health, admin, user, internal agent-config) on `router`. Handlers
// parse and serialize only; authorization is decided here, everything else in the services.
void RegisterApiRoutes(Router& router, const ApiServices& services);

}  // namespace berth::http
