#include "proxy/chat_request.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::proxy {
namespace {

using nlohmann::json;

bool IsAgentModel(std::string_view model) {
  if (model == kAgentModel) return true;
  // "openclaw/<agentId>": the gateway picks the agent and validates the id itself.
  return model.size() > kAgentModel.size() + 1 &&
         model.substr(0, kAgentModel.size()) == kAgentModel && model[kAgentModel.size()] == '/';
}

std::string ListForMessage(const std::vector<std::string>& models) {
  constexpr std::size_t kMaxListed = 50;
  std::string out;
  for (std::size_t i = 0; i < models.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += models[i];
  }
  if (models.size() > kMaxListed) {
    out += ", and " + std::to_string(models.size() - kMaxListed) + " more (GET /v1/models)";
  }
  return out;
}

}  // namespace

std::vector<std::string> ModelIds(const std::vector<std::string>& usable) {
  std::vector<std::string> ids;
  ids.reserve(usable.size() + 1);
  ids.emplace_back(kAgentModel);
  ids.insert(ids.end(), usable.begin(), usable.end());
  return ids;
}

Result<ChatRoute> RouteChatRequest(std::string body, const UsableModelsFn& usable) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return InvalidArgument("request body must be a JSON object");
  ChatRoute route;
  if (auto stream = parsed.find("stream"); stream != parsed.end() && !stream->is_null()) {
    if (!stream->is_boolean()) return InvalidArgument("'stream' must be true or false");
    route.stream = stream->get<bool>();
  }
  auto model = parsed.find("model");
  if (model == parsed.end() || model->is_null()) {
    return InvalidArgument("'model' is required: use \"openclaw\" or one of GET /v1/models");
  }
  if (!model->is_string()) return InvalidArgument("'model' must be a string");
  const std::string name = model->get<std::string>();
  if (IsAgentModel(name)) {
    route.body = std::move(body);
    return route;
  }
  auto models = usable();
  if (!models.ok()) return models.status();
  if (std::find(models->begin(), models->end(), name) == models->end()) {
    return InvalidArgument("model '" + name + "' is not available; valid models: " +
                           ListForMessage(ModelIds(*models)) + " (or openclaw/<agentId>)");
  }
  *model = std::string(kAgentModel);
  route.body = parsed.dump(-1, ' ', false, json::error_handler_t::replace);
  route.model_header = name;
  return route;
}

}  // namespace berth::proxy
