#include "http/warmup_llm.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "common/json_parse.hpp"

namespace berth::http {
namespace {

nlohmann::json Chunk(const nlohmann::json& delta, const nlohmann::json& finish) {
  return {{"id", "berth-warmup"},
          {"object", "chat.completion.chunk"},
          {"created", 0},
          {"model", "idle"},
          {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
}

}  // namespace

void RegisterWarmupLlm(Router& router) {
  router.Add(bhttp::verb::post, std::string("/api") + lifecycle::kPoolLlmPath + "/chat/completions",
             [](Request& r) {
               auto body = ParseJson(r.raw.body(), "request body");
               if (!body.ok()) return ErrorResponse(body.status());
               if (!body->is_object()) {
                 return ErrorResponse(InvalidArgument("request body must be a JSON object"));
               }
               const auto stream_field = body->find("stream");
               const bool stream = stream_field != body->end() && stream_field->is_boolean() &&
                                   stream_field->get<bool>();
               const nlohmann::json usage = {
                   {"prompt_tokens", 1}, {"completion_tokens", 1}, {"total_tokens", 2}};
               Response res{bhttp::status::ok, 11};
               if (!stream) {
                 res.set(bhttp::field::content_type, "application/json");
                 res.body() = nlohmann::json{
                     {"id", "berth-warmup"},
                     {"object", "chat.completion"},
                     {"created", 0},
                     {"model", "idle"},
                     {"choices",
                      {{{"index", 0},
                        {"message", {{"role", "assistant"}, {"content", "ok"}}},
                        {"finish_reason", "stop"}}}},
                     {"usage",
                      usage}}.dump();
                 return res;
               }
               nlohmann::json last = Chunk(nlohmann::json::object(), "stop");
               last["usage"] = usage;
               res.set(bhttp::field::content_type, "text/event-stream");
               res.body() =
                   "data: " + Chunk({{"role", "assistant"}, {"content", "ok"}}, nullptr).dump() +
                   "\n\ndata: " + last.dump() + "\n\ndata: [DONE]\n\n";
               return res;
             });
}

}  // namespace berth::http
