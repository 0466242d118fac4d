#include "llm/usage_meter.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/prices.hpp"

namespace berth::llm {
namespace {

// Feeds `answer` in pieces of `step` bytes (1 = the worst split) and returns what went out.
std::string Meter(UsageMeter& meter, std::string_view answer, std::size_t step) {
  std::string out;
  for (std::size_t i = 0; i < answer.size(); i += step) {
    meter.Feed(answer.substr(i, step), out);
  }
  meter.Finish(out);
  return out;
}

constexpr std::string_view kChatStream =
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"
    "{\"prompt_tokens\":120,\"completion_tokens\":7,\"total_tokens\":127,"
    "\"prompt_tokens_details\":{\"cached_tokens\":100},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":3}}}\n\n"
    "data: [DONE]\n\n";

TEST(UsageMeter, OpenAiStreamUsageIsReadAndTheChunkTheAgentDidNotAskForIsRemoved) {
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, kChatStream.size()}) {
    UsageMeter meter(WireApi::kOpenAiCompletions, true, true, /*strip_usage_chunk=*/true);
    const std::string out = Meter(meter, kChatStream, step);
    EXPECT_EQ(meter.usage(), (TokenUsage{20, 7, 100, 0, 3, true})) << step;
    EXPECT_EQ(meter.model(), "gpt-4o-2024-08-06");
    EXPECT_EQ(out.find("prompt_tokens"), std::string::npos) << out;
    EXPECT_NE(out.find("\"content\":\"lo\""), std::string::npos);
    EXPECT_TRUE(out.ends_with("data: [DONE]\n\n")) << out;
  }
}

TEST(UsageMeter, OpenAiStreamKeepsTheUsageChunkTheAgentAskedFor) {
  UsageMeter meter(WireApi::kOpenAiCompletions, true, true, /*strip_usage_chunk=*/false);
  EXPECT_EQ(Meter(meter, kChatStream, 5), kChatStream);
  EXPECT_EQ(meter.usage().output, 7);
}

TEST(UsageMeter, UsageOnAFinalChunkWithChoicesIsCountedAndTheChunkKept) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":5,"
      "\"completion_tokens\":2}}\r\n\r\ndata: [DONE]\r\n\r\n";
  UsageMeter meter(WireApi::kOpenAiCompletions, true, true, true);
  EXPECT_EQ(Meter(meter, stream, 3), stream);
  EXPECT_EQ(meter.usage(), (TokenUsage{5, 2, 0, 0, 0, true}));
}

TEST(UsageMeter, ResponsesStreamTakesUsageFromResponseCompleted) {
  const std::string stream =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":"
      "\"gpt-5\",\"usage\":null}}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
      "\"delta\":\"Hi\"}\n\n"
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":"
      "\"gpt-5\",\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":10},"
      "\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":20}}}}\n\n";
  UsageMeter meter(WireApi::kOpenAiResponses, true, true, false);
  EXPECT_EQ(Meter(meter, stream, 11), stream);
  EXPECT_EQ(meter.usage(), (TokenUsage{40, 30, 10, 0, 20, true}));
  EXPECT_EQ(meter.model(), "gpt-5");
}

TEST(UsageMeter, AnthropicStreamCountsAreCumulativeTheLastWins) {
  const std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"
      "\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":"
      "400,\"cache_creation_input_tokens\":60,\"output_tokens\":1}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":"
      "\"Hi\"}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n"
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  UsageMeter meter(WireApi::kAnthropicMessages, true, true, false);
  EXPECT_EQ(Meter(meter, stream, 2), stream);
  EXPECT_EQ(meter.usage(), (TokenUsage{25, 15, 400, 60, 0, true}));
  EXPECT_EQ(meter.model(), "claude-sonnet-4-20250514");
}

TEST(UsageMeter, PlainAnswersAreReadWhole) {
  UsageMeter chat(WireApi::kOpenAiCompletions, true, false, false);
  Meter(chat, R"({"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}})", 4);
  EXPECT_EQ(chat.usage(), (TokenUsage{9, 4, 0, 0, 0, true}));
  UsageMeter messages(WireApi::kAnthropicMessages, true, false, false);
  Meter(messages, R"({"type":"message","usage":{"input_tokens":3,"output_tokens":8}})", 100);
  EXPECT_EQ(messages.usage(), (TokenUsage{3, 8, 0, 0, 0, true}));
  UsageMeter responses(WireApi::kOpenAiResponses, true, false, false);
  Meter(responses, R"({"usage":{"input_tokens":6,"output_tokens":2}})", 100);
  EXPECT_EQ(responses.usage(), (TokenUsage{6, 2, 0, 0, 0, true}));
}

TEST(UsageMeter, ErrorAnswersAndGarbagePassUntouchedAndCountNothing) {
  const std::string error = R"({"error":{"message":"no","usage":{"prompt_tokens":5}}})";
  UsageMeter failed(WireApi::kOpenAiCompletions, /*ok=*/false, false, false);
  EXPECT_EQ(Meter(failed, error, 3), error);
  EXPECT_FALSE(failed.usage().reported);

  const std::string garbage =
      "data: {\"usage\": {not json\n\ndata: \x01\x02\xff\n\n: comment\n\nrandom bytes";
  UsageMeter meter(WireApi::kOpenAiCompletions, true, true, true);
  EXPECT_EQ(Meter(meter, garbage, 4), garbage);
  EXPECT_FALSE(meter.usage().reported);
}

TEST(UsageMeter, AnEndlessLineStopsTheReadingButNotTheAnswer) {
  std::string huge = "data: {\"usage\":" + std::string(UsageMeter::kMaxLine + 10, ' ');
  huge += "}\n\n";
  UsageMeter meter(WireApi::kOpenAiCompletions, true, true, true);
  EXPECT_EQ(Meter(meter, huge, 64 * 1024), huge);
  EXPECT_FALSE(meter.usage().reported);
}

TEST(UsageMeter, NegativeOrAbsurdCountsAreClamped) {
  UsageMeter meter(WireApi::kOpenAiCompletions, true, false, false);
  Meter(meter, R"({"usage":{"prompt_tokens":-5,"completion_tokens":1e300}})", 100);
  EXPECT_EQ(meter.usage(), (TokenUsage{0, 0, 0, 0, 0, true}));
}

TEST(PrepareRequest, AStreamWithoutUsageAsksForItWithoutRewritingTheBody) {
  const std::string body =
      R"({"model":"gpt-4o","stream":true,"max_tokens":512,"messages":[{"role":"user","content":"hi"}]})";
  PreparedRequest out = PrepareRequest(WireApi::kOpenAiCompletions, body);
  EXPECT_TRUE(out.stream);
  EXPECT_TRUE(out.strip_usage_chunk);
  EXPECT_EQ(out.model, "gpt-4o");
  EXPECT_EQ(out.max_tokens, 512);
  const auto sent = nlohmann::json::parse(out.body);
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  EXPECT_EQ(out.body.substr(out.body.size() - body.size() + 1), body.substr(1));
}

TEST(PrepareRequest, ExistingStreamOptionsAreMergedAndAnAskingAgentIsLeftAlone) {
  PreparedRequest merged = PrepareRequest(
      WireApi::kOpenAiCompletions,
      R"({"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}})");
  EXPECT_TRUE(merged.strip_usage_chunk);
  const auto sent = nlohmann::json::parse(merged.body);
  EXPECT_EQ(sent["stream_options"], (nlohmann::json{{"include_usage", true}, {"x", 1}}));

  const std::string asking =
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true}})";
  PreparedRequest left = PrepareRequest(WireApi::kOpenAiCompletions, asking);
  EXPECT_FALSE(left.strip_usage_chunk);
  EXPECT_EQ(left.body, asking);
}

TEST(PrepareRequest, OtherApisAndBadBodiesPassUntouched) {
  const std::string anthropic =
      R"({"model":"claude-3-5-haiku","stream":true,"max_tokens":100,"messages":[]})";
  PreparedRequest a = PrepareRequest(WireApi::kAnthropicMessages, anthropic);
  EXPECT_EQ(a.body, anthropic);
  EXPECT_EQ(a.max_tokens, 100);
  EXPECT_EQ(PrepareRequest(WireApi::kOpenAiResponses, R"({"max_output_tokens":7})").max_tokens, 7);
  for (const std::string& bad :
       std::vector<std::string>{"", "not json", "[1,2]", "\"s\"", "{\"stream\":true",
                                std::string(100, '[') + std::string(100, ']')}) {
    PreparedRequest p = PrepareRequest(WireApi::kOpenAiCompletions, bad);
    EXPECT_EQ(p.body, bad);
    EXPECT_FALSE(p.strip_usage_chunk);
  }
}

TEST(Prices, ProviderCostFirstThenTheBuiltInListByPrefix) {
  const std::vector<agentconfig::ModelEntry> models = {
      {"gpt-4o", std::nullopt, agentconfig::ModelCost{1, 2, 0.5, 1}},
      {"mine", std::nullopt, std::nullopt}};
  EXPECT_EQ(PriceFor(models, "gpt-4o"), (agentconfig::ModelCost{1, 2, 0.5, 1}));
  EXPECT_EQ(PriceFor(models, "mine"), std::nullopt);
  EXPECT_EQ(BuiltInPrice("gpt-4o-2024-08-06")->input, 2.50);
  EXPECT_EQ(BuiltInPrice("gpt-4o-mini")->input, 0.15);
  EXPECT_EQ(BuiltInPrice("openai/GPT-4o-mini-2024-07-18")->output, 0.60);
  EXPECT_EQ(BuiltInPrice("claude-opus-4-1-20250805")->output, 75.0);
  EXPECT_EQ(BuiltInPrice("claude-opus-4-5")->output, 25.0);
  EXPECT_EQ(BuiltInPrice("gpt-5.1"), std::nullopt);
  EXPECT_EQ(BuiltInPrice("o3x"), std::nullopt);
  EXPECT_EQ(BuiltInPrice(""), std::nullopt);
}

TEST(Prices, CostIsInNanoUsd) {
  // 1M input at $2.50 + 100k output at $10 + 1M cached at $1.25 = 2.5 + 1 + 1.25 USD.
  const TokenUsage usage{1'000'000, 100'000, 1'000'000, 0, 0, true};
  EXPECT_EQ(CostNanoUsd(usage, *BuiltInPrice("gpt-4o")), 4'750'000'000);
  EXPECT_EQ(CostNanoUsd(TokenUsage{1, 0, 0, 0, 0, true}, *BuiltInPrice("gpt-5-nano")), 50);
}

}  // namespace
}  // namespace berth::llm
