#include "lifecycle_openclaw/fake_llm.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "lifecycle_openclaw/fake_llm_apis.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

json ParseBody(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return parsed.is_object() ? parsed : json::object();
}

std::string StringMember(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool TrueMember(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

json Chunk(const std::string& id, const std::string& model, const json& choices) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", fake_llm::kCreated},
          {"model", model},
          {"choices", choices}};
}

json Usage() {
  return {{"prompt_tokens", fake_llm::kInputTokens},
          {"completion_tokens", fake_llm::kOutputTokens},
          {"total_tokens", fake_llm::kInputTokens + fake_llm::kOutputTokens}};
}

void AnswerChatCompletions(const fake_llm::Ask& ask, FakeExchange& exchange) {
  const std::string& model = ask.model;
  const std::string id = "chatcmpl-fake-" + ask.id_suffix;
  if (!ask.stream) {
    json completion = {{"id", id},
                       {"object", "chat.completion"},
                       {"created", fake_llm::kCreated},
                       {"model", model},
                       {"choices",
                        {{{"index", 0},
                          {"message", {{"role", "assistant"}, {"content", FakeLlm::Reply(model)}}},
                          {"finish_reason", "stop"}}}},
                       {"usage", Usage()}};
    exchange.Respond(200, completion.dump());
    return;
  }
  exchange.StartChunked(200, "text/event-stream");
  auto send = [&](const json& event) { return exchange.Chunk("data: " + event.dump() + "\n\n"); };
  if (!send(Chunk(id, model,
                  {{{"index", 0},
                    {"delta", {{"role", "assistant"}, {"content", ""}}},
                    {"finish_reason", nullptr}}}))) {
    return;
  }
  for (const std::string& piece : FakeLlm::Pieces(model)) {
    std::this_thread::sleep_for(ask.chunk_gap);
    if (!send(
            Chunk(id, model,
                  {{{"index", 0}, {"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}))) {
      return;
    }
  }
  if (!send(Chunk(id, model,
                  {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}))) {
    return;
  }
  // The usage chunk comes last, with no choices, as OpenAI sends it for include_usage.
  json usage = Chunk(id, model, json::array());
  usage["usage"] = Usage();
  if (!send(usage)) return;
  if (!exchange.Chunk("data: [DONE]\n\n")) return;
  exchange.EndChunked();
}

using Answerer = void (*)(const fake_llm::Ask&, FakeExchange&);

// The API served at `target`, or nullptr.
Answerer AnswererFor(const std::string& target) {
  if (target == "/v1/chat/completions") return AnswerChatCompletions;
  if (target == "/v1/responses") return fake_llm::AnswerResponses;
  if (target == "/v1/messages") return fake_llm::AnswerMessages;
  return nullptr;
}

void Answer(const FakeRequest& request, FakeExchange& exchange,
            std::chrono::milliseconds chunk_gap) {
  const Answerer answer = request.method == "POST" ? AnswererFor(request.target) : nullptr;
  if (answer == nullptr) {
    exchange.Respond(404,
                     R"({"error":{"message":"no such route","type":"invalid_request_error"}})");
    return;
  }
  const json body = ParseBody(request.body);
  const std::string model = StringMember(body, "model");
  if (model.empty()) {
    exchange.Respond(400,
                     R"({"error":{"message":"model is required","type":"invalid_request_error"}})");
    return;
  }
  answer(
      fake_llm::Ask{
          .model = model,
          .stream = TrueMember(body, "stream"),
          .id_suffix = std::to_string(std::hash<std::string>{}(request.body) % 100000),
          .chunk_gap = chunk_gap,
      },
      exchange);
}

}  // namespace

FakeLlm::FakeLlm(const std::string& host, std::chrono::milliseconds chunk_gap)
    : server_([chunk_gap](const FakeRequest& request,
                          FakeExchange& exchange) { Answer(request, exchange, chunk_gap); },
              host) {}

std::vector<UpstreamCall> FakeLlm::Calls() const {
  std::vector<UpstreamCall> calls;
  for (const FakeRequest& request : server_.Requests()) {
    const json body = ParseBody(request.body);
    UpstreamCall call;
    call.method = request.method;
    call.target = request.target;
    call.authorization = request.Header("authorization");
    call.api_key = request.Header("x-api-key");
    call.model = StringMember(body, "model");
    call.stream = TrueMember(body, "stream");
    if (auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
      call.include_usage = TrueMember(*options, "include_usage");
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

std::vector<std::string> FakeLlm::Pieces(const std::string& model) {
  return {"Greetings", " from", " the fake", " upstream,", " model " + model, "."};
}

std::string FakeLlm::Reply(const std::string& model) {
  std::string reply;
  for (const std::string& piece : Pieces(model)) reply += piece;
  return reply;
}

}  // namespace berth::testing
