#include "http/public_routes.hpp"

#include <utility>

namespace berth::http {

void RegisterPublicRoutes(Router& router, const ApiServices& api, ChatServices chat,
                          std::shared_ptr<BerthMetrics> metrics) {
  RegisterApiRoutes(router, api);
  RegisterChatRoutes(router, std::move(chat));
  RegisterMetricsRoute(router, std::move(metrics));
}

}  // namespace berth::http
