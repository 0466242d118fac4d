#include "lifecycle/gateway_config_rpc.hpp"

#include <utility>

namespace berth::lifecycle {

Result<nlohmann::json> GatewayConfigRpc::Call(const std::string& method, nlohmann::json params,
                                              std::chrono::milliseconds timeout) {
  const nlohmann::json request = {{"method", method}, {"params", std::move(params)}};
  auto answer = probe_.Post(endpoint_.host, endpoint_.port, std::string(kPath), endpoint_.token,
                            request.dump(), timeout);
  if (!answer.ok()) return answer.status();
  if (answer->status == 404) return NotFound("the gateway has no config API (" + method + ")");
  const auto body = nlohmann::json::parse(answer->body, nullptr, false);
  const bool ok = body.is_object() && body.value("ok", false) == true;
  if (answer->status == 200 && ok) {
    auto payload = body.find("payload");
    return payload != body.end() ? *payload : nlohmann::json::object();
  }
  std::string code = "no error code";
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& error = body["error"];
    if (error.contains("code") && error["code"].is_string()) code = error["code"];
  }
  return Aborted("the gateway's " + method + " answered " + std::to_string(answer->status) + " (" +
                 code + ")");
}

Result<GatewayConfigRpc::Current> GatewayConfigRpc::Get(std::chrono::milliseconds timeout) {
  auto payload = Call("config.get", nlohmann::json::object(), timeout);
  if (!payload.ok()) return payload.status();
  auto hash = payload->find("hash");
  if (hash == payload->end() || !hash->is_string() || hash->get_ref<const std::string&>().empty()) {
    return Unavailable("the gateway's config.get answered no hash");
  }
  auto parsed = payload->find("parsed");
  return Current{hash->get<std::string>(),
                 parsed != payload->end() ? *parsed : nlohmann::json::object()};
}

Status GatewayConfigRpc::Apply(const nlohmann::json& config, std::chrono::milliseconds timeout,
                               const Guard& guard) {
  Status applied = Status::Ok();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto current = Get(timeout);
    if (!current.ok()) return current.status();
    if (guard && !guard(current->parsed)) {
      return Aborted("the gateway's config is not one this change may replace");
    }
    auto answer =
        Call("config.apply", {{"raw", config.dump()}, {"baseHash", current->hash}}, timeout);
    if (answer.ok()) return Status::Ok();
    applied = answer.status();
    if (applied.code() != ErrorCode::kAborted) break;  // no answer: not tried again
  }
  return applied;
}

}  // namespace berth::lifecycle
