#pragma once

// FakeLlm's answers for the OpenAI Responses and Anthropic Messages APIs (fake_llm.hpp); private
// to fake_llm.cpp, which routes a request here once it has checked the route and read the body.

#include <chrono>
#include <string>

#include "testagent/fake_http_server.hpp"

namespace berth::testing::fake_llm {

// The usage every fake answer reports, in each API's own fields.
inline constexpr int kInputTokens = 42;
inline constexpr int kOutputTokens = 7;
// The fixed creation time (seconds since the epoch) of every fake answer.
inline constexpr long long kCreated = 1767225600;

// What an answer depends on in the request.
struct Ask {
  std::string model;                       // the body's "model", not empty
  bool stream = false;                     // the body's "stream"
  std::string id_suffix;                   // makes the answer's ids differ between requests
  std::chrono::milliseconds chunk_gap{0};  // the pause before each streamed piece of text
};

// POST /v1/responses: one response object, or its typed SSE events.
void AnswerResponses(const Ask& ask, FakeExchange& exchange);
// POST /v1/messages: one message, or its SSE events.
void AnswerMessages(const Ask& ask, FakeExchange& exchange);

}  // namespace berth::testing::fake_llm
