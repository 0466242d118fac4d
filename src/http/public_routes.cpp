#include "http/public_routes.hpp"

#include <utility>

#include "http/openapi.hpp"

namespace berth::http {

void RegisterOpenApiRoute(Router& router) {
  router.Add(bhttp::verb::get, "/api/openapi.json", [](Request&) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = std::string(OpenApiDocument());
    res.prepare_payload();
    return res;
  });
}

void RegisterPublicRoutes(Router& router, const ApiServices& api, ChatServices chat,
                          std::shared_ptr<BerthMetrics> metrics) {
  RegisterApiRoutes(router, api);
  RegisterChatRoutes(router, std::move(chat));
  RegisterMetricsRoute(router, std::move(metrics));
  RegisterOpenApiRoute(router);
}

}  // namespace berth::http
