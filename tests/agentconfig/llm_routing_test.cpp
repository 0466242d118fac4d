#include "agentconfig/llm_routing.hpp"

#include <gtest/gtest.h>

namespace berth::agentconfig {
namespace {

ProviderInput Provider(std::string name, std::optional<std::string> base_url,
                       std::optional<std::string> api_type = std::nullopt) {
  ProviderInput p;
  p.name = std::move(name);
  p.type = "custom";
  p.base_url = std::move(base_url);
  p.api_key = "sk-real-key";
  p.api_type = std::move(api_type);
  p.models = {ModelEntry{"m1", std::nullopt, std::nullopt}};
  return p;
}

TEST(LlmRouting, EveryRoutableProviderPointsAtTheGatewayWithTheAgentsKey) {
  const std::vector<ProviderInput> routed =
      RouteThroughGateway({Provider("mine", "https://llm.example/v1"),
                           Provider("claude", "https://anthropic.example", "anthropic-messages"),
                           Provider("resp", "https://llm.example/v1", "openai-responses")},
                          "http://172.17.0.1:8090/api/internal/llm", "bk_agent");
  ASSERT_EQ(routed.size(), 3u);
  for (const ProviderInput& p : routed) {
    EXPECT_EQ(*p.base_url, "http://172.17.0.1:8090/api/internal/llm/" + p.name);
    EXPECT_EQ(*p.api_key, "bk_agent");
    EXPECT_EQ(p.models.size(), 1u);
  }
  EXPECT_EQ(*routed[1].api_type, "anthropic-messages");
}

TEST(LlmRouting, ProvidersTheGatewayCannotServeAreLeftOut) {
  const std::vector<ProviderInput> routed =
      RouteThroughGateway({Provider("gem", "https://g.example", "google-generative-ai"),
                           Provider("mistral", std::nullopt),  // bundled, endpoint unknown
                           Provider("openai", std::nullopt), Provider("anthropic", std::nullopt)},
                          "http://b/api/internal/llm", "bk_x");
  ASSERT_EQ(routed.size(), 2u);
  EXPECT_EQ(routed[0].name, "openai");
  EXPECT_EQ(routed[1].name, "anthropic");
  EXPECT_EQ(*UpstreamBaseUrl(Provider("openai", std::nullopt)), "https://api.openai.com/v1");
  EXPECT_EQ(*UpstreamBaseUrl(Provider("anthropic", std::nullopt)), "https://api.anthropic.com");
  EXPECT_FALSE(UpstreamBaseUrl(Provider("gem", "https://g.example", "ollama")));
}

TEST(LlmRouting, UpstreamUrlsJoinWithoutADoubledV1) {
  EXPECT_EQ(UpstreamUrl("https://api.openai.com/v1", "/chat/completions"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(UpstreamUrl("https://api.anthropic.com", "/v1/messages"),
            "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(UpstreamUrl("https://proxy.example/anthropic/v1/", "/v1/messages"),
            "https://proxy.example/anthropic/v1/messages");
  EXPECT_EQ(UpstreamUrl("http://10.0.0.5:8000/v1", "/models"), "http://10.0.0.5:8000/v1/models");
  EXPECT_EQ(UpstreamUrl("http://10.0.0.5:8000/v1", "/v1/models"), "http://10.0.0.5:8000/v1/models");
}

}  // namespace
}  // namespace berth::agentconfig
