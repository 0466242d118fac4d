#pragma once

// A fake LLM upstream for the real OpenClaw gateway, speaking the three APIs berth's LLM gateway
// forwards (ARCHITECTURE.md, "LLM gateway"), each streamed when the request says `stream: true`
// and as one JSON answer otherwise:
//   POST /v1/chat/completions  OpenAI chat completions: SSE `data:` chunks, a usage chunk,
//                              `data: [DONE]`; or one chat.completion.
//   POST /v1/responses         OpenAI Responses: typed `event:`/`data:` events from
//                              response.created to response.completed; or one response object.
//   POST /v1/messages          Anthropic Messages: message_start … message_stop; or one message.
// Every answer reports 42 input and 7 output tokens, in the API's own fields. It records what it
// got. Its answer names the model it was asked for, so a client of the gateway can tell which
// upstream model produced the text it received.

#include <chrono>
#include <string>
#include <vector>

#include "testagent/fake_http_server.hpp"

namespace berth::testing {

// One request the upstream received, as far as the tests care.
struct UpstreamCall {
  std::string method;
  std::string target;
  std::string authorization;   // the Authorization header as sent
  std::string api_key;         // the x-api-key header as sent (Anthropic's style)
  std::string model;           // the body's "model" ("" when the body is not a JSON object)
  bool stream = false;         // the body's "stream"
  bool include_usage = false;  // the body's stream_options.include_usage
};

class FakeLlm {
 public:
  // Binds host:0 at once and serves each connection on its own thread (FakeHttpServer).
  // `chunk_gap` is the pause between streamed chunks, so that they leave as separate writes.
  explicit FakeLlm(const std::string& host,
                   std::chrono::milliseconds chunk_gap = std::chrono::milliseconds(40));

  // "http://host:port/v1": the baseUrl of an openai-completions or openai-responses provider.
  std::string BaseUrl() const { return server_.Url() + "/v1"; }
  // "http://host:port": the baseUrl of an anthropic-messages provider (its SDK adds /v1/messages).
  std::string RootUrl() const { return server_.Url(); }
  std::vector<UpstreamCall> Calls() const;

  // The text the upstream answers a request for `model` with, and the pieces it streams it in.
  static std::vector<std::string> Pieces(const std::string& model);
  static std::string Reply(const std::string& model);

 private:
  FakeHttpServer server_;
};

}  // namespace berth::testing
