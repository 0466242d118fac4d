#pragma once

#include <memory>

#include "http/api.hpp"
#include "http/chat_api.hpp"
#include "http/metrics_api.hpp"
#include "http/router.hpp"

namespace berth::http {

// Every route of berth's public listener: the REST API (RegisterApiRoutes, which includes the
// internal agent-config endpoint), the chat routes (RegisterChatRoutes) and GET /metrics. The one
// place that decides what the public listener serves, so that the binary and the tests see the
// same routes.
//
// Handlers only capture the services: registering with null members is fine as long as no
// request reaches a handler that needs them.
void RegisterPublicRoutes(Router& router, const ApiServices& api, ChatServices chat,
                          std::shared_ptr<BerthMetrics> metrics);

}  // namespace berth::http
