#pragma once

// Private to the REST API's route files (api.cpp, users_api.cpp, providers_api.cpp,
// agents_api.cpp): each registers the routes of one resource.

#include <functional>
#include <memory>

#include "http/api.hpp"
#include "http/api_json.hpp"
#include "http/router.hpp"

namespace berth::http::api {

void RegisterUserRoutes(Router& router, const ApiServices& services);
void RegisterProviderRoutes(Router& router, const ApiServices& services);
void RegisterAgentRoutes(Router& router, const ApiServices& services);
void RegisterUsageRoutes(Router& router, const ApiServices& services);

// A handler that returns the awaitable of its whole response without a coroutine frame of its
// own (http/offload.hpp explains why), as the router's AsyncHandler.
using PendingHandler = std::function<net::awaitable<std::shared_ptr<Response>>(Request&)>;
inline AsyncHandler Awaiting(PendingHandler handler) {
  return [handler = std::move(handler)](Request& request) -> net::awaitable<Response> {
    net::awaitable<std::shared_ptr<Response>> pending = handler(request);
    std::shared_ptr<Response> response = co_await std::move(pending);
    co_return std::move(*response);
  };
}

}  // namespace berth::http::api
