// The warm pool's stand-in LLM (http/warmup_llm.hpp): a constant "ok", streamed or not, in the
// shapes an OpenAI-compatible client (the OpenClaw gateway) reads.
#include "http/warmup_llm.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace berth::http {
namespace {

Response Ask(const std::string& body) {
  Router router;
  RegisterWarmupLlm(router);
  Request request;
  request.raw.method(bhttp::verb::post);
  request.raw.target("/api/internal/warmup/v1/chat/completions");
  request.raw.body() = body;
  return router.Dispatch(request);
}

TEST(WarmupLlm, StreamsOkThenDone) {
  const Response res = Ask(R"({"model":"idle","stream":true,"messages":[]})");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[bhttp::field::content_type], "text/event-stream");
  const std::string& body = res.body();
  ASSERT_EQ(body.rfind("data: ", 0), 0u);
  const auto first = nlohmann::json::parse(body.substr(6, body.find("\n\n") - 6));
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "ok");
  EXPECT_NE(body.find("\"usage\""), std::string::npos);
  EXPECT_EQ(body.substr(body.size() - 14), "data: [DONE]\n\n");
}

TEST(WarmupLlm, AnswersOneCompletionWithoutStreaming) {
  const Response res = Ask(R"({"model":"idle","stream":"yes"})");
  ASSERT_EQ(res.result_int(), 200u);
  const auto completion = nlohmann::json::parse(res.body());
  EXPECT_EQ(completion["object"], "chat.completion");
  EXPECT_EQ(completion["choices"][0]["message"]["content"], "ok");
}

TEST(WarmupLlm, RefusesABodyThatIsNotAJsonObject) {
  for (const std::string& body : {std::string("not json"), std::string("[1]"),
                                  std::string(100, '[') + std::string(100, ']')}) {
    const Response res = Ask(body);
    EXPECT_EQ(res.result_int(), 400u) << body;
    EXPECT_TRUE(nlohmann::json::parse(res.body()).contains("error"));
  }
}

}  // namespace
}  // namespace berth::http
