#pragma once

#include <memory>

#include "http/api.hpp"
#include "http/chat_api.hpp"
#include "http/metrics_api.hpp"
#include "http/router.hpp"

namespace berth::http {

// Every route of berth's public listener: the REST API (RegisterApiRoutes, which includes the
// internal agent-config endpoint), the chat routes (RegisterChatRoutes), GET /metrics and
// GET /api/openapi.json. The one place that decides what the public listener serves, so that the
// binary and the test that checks the OpenAPI document against it see the same routes.
//
// Handlers only capture the services: registering with null members is fine as long as no
// request reaches a handler that needs them (the OpenAPI test builds the router that way).
void RegisterPublicRoutes(Router& router, const ApiServices& api, ChatServices chat,
                          std::shared_ptr<BerthMetrics> metrics);

// GET /api/openapi.json: the OpenAPI document (http/openapi.hpp), unauthenticated.
void RegisterOpenApiRoute(Router& router);

}  // namespace berth::http
