#include "testagent/openai_api.hpp"

#include "common/json_parse.hpp"

namespace berth::testagent {

using nlohmann::json;

json OpenAiError(std::string_view message, std::string_view type) {
  return {{"error", {{"message", message}, {"type", type}}}};
}

bool BearerMatches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (token.empty() || authorization.size() != kPrefix.size() + token.size()) return false;
  if (authorization.substr(0, kPrefix.size()) != kPrefix) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(authorization[kPrefix.size() + i] ^ token[i]);
  }
  return diff == 0;
}

json ModelList() {
  json data = json::array();
  for (const char* id : {"openclaw", "openclaw/default"}) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "openclaw"}});
  }
  return {{"object", "list"}, {"data", data}};
}

namespace {

const json* Find(const json& value, std::initializer_list<const char*> path) {
  const json* at = &value;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

}  // namespace

Result<ChatPlan> PlanChat(const json& config, std::string_view body,
                          std::optional<std::string_view> model_header) {
  json request = ParseJson(body, "request body").value_or(json());
  if (!request.is_object()) return InvalidArgument("request body must be a JSON object");
  auto model = request.find("model");
  if (model == request.end() || !model->is_string()) {
    return InvalidArgument("\"model\" is required: use \"openclaw\" or \"openclaw/<agentId>\"");
  }
  const std::string& name = model->get_ref<const std::string&>();
  if (name != "openclaw" && name.rfind("openclaw/", 0) != 0) {
    return InvalidArgument("Invalid model \"" + name +
                           "\": use \"openclaw\" or \"openclaw/<agentId>\"; choose the provider "
                           "model with the x-openclaw-model header");
  }

  ChatPlan plan;
  if (model_header && !model_header->empty()) {
    plan.model_ref = std::string(*model_header);
  } else {
    const json* primary = Find(config, {"agents", "defaults", "model", "primary"});
    if (primary == nullptr || !primary->is_string()) {
      return InvalidArgument("no model: the agent has no primary model and no x-openclaw-model");
    }
    plan.model_ref = primary->get<std::string>();
  }
  std::size_t slash = plan.model_ref.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == plan.model_ref.size()) {
    return InvalidArgument("model \"" + plan.model_ref + "\" is not of the form provider/model");
  }
  const std::string provider_name = plan.model_ref.substr(0, slash);
  const std::string model_id = plan.model_ref.substr(slash + 1);

  const json* provider = Find(config, {"models", "providers", provider_name.c_str()});
  if (provider == nullptr || !provider->is_object()) {
    return InvalidArgument("Unknown provider \"" + provider_name + "\"");
  }
  const json* base_url = Find(*provider, {"baseUrl"});
  if (base_url == nullptr || !base_url->is_string()) {
    return InvalidArgument("provider \"" + provider_name + "\" has no baseUrl");
  }
  auto url = ParseHttpUrl(base_url->get<std::string>());
  if (!url.ok()) {
    return InvalidArgument("provider \"" + provider_name + "\": " + url.status().message());
  }
  plan.url = std::move(*url);
  plan.url.path = JoinPath(plan.url.path, "chat/completions");
  if (const json* key = Find(*provider, {"apiKey"}); key != nullptr && key->is_string()) {
    plan.api_key = key->get<std::string>();
  }
  request["model"] = model_id;
  plan.body = request.dump();
  return plan;
}

}  // namespace berth::testagent
