#include "proxy/chat_request.hpp"

#include <gmock/gmock.h>

#include <nlohmann/json.hpp>

#include "proxy/chat_limiter.hpp"

namespace berth::proxy {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

UsableModelsFn Models(std::vector<std::string> models, int* calls = nullptr) {
  return [models = std::move(models), calls]() -> Result<std::vector<std::string>> {
    if (calls != nullptr) ++*calls;
    return models;
  };
}

TEST(RouteChatRequest, AgentModelsPassThroughByteForByteWithoutListingModels) {
  int calls = 0;
  const std::string body = R"({"model":"openclaw", "stream":true,"messages":[{"role":"user"}]})";
  auto route = RouteChatRequest(body, Models({}, &calls));
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_EQ(route->body, body);
  EXPECT_TRUE(route->stream);
  EXPECT_EQ(route->model_header, "");
  auto agent = RouteChatRequest(R"({"model":"openclaw/main"})", Models({}, &calls));
  ASSERT_TRUE(agent.ok());
  EXPECT_EQ(agent->body, R"({"model":"openclaw/main"})");
  EXPECT_FALSE(agent->stream);
  EXPECT_EQ(calls, 0);
}

TEST(RouteChatRequest, AProviderModelGoesAsOpenclawWithTheHeader) {
  auto route = RouteChatRequest(R"({"model":"zai/glm-5","temperature":0.5,"stream":false})",
                                Models({"openai/gpt-4o", "zai/glm-5"}));
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_EQ(route->model_header, "zai/glm-5");
  json sent = json::parse(route->body);
  EXPECT_EQ(sent["model"], "openclaw");
  EXPECT_EQ(sent["temperature"], 0.5);  // everything else is kept
  EXPECT_FALSE(route->stream);
}

TEST(RouteChatRequest, AnythingElseIsRefusedWithTheValidModels) {
  auto route = RouteChatRequest(R"({"model":"gpt-5"})", Models({"openai/gpt-4o", "zai/glm-5"}));
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(route.status().message(),
              HasSubstr("model 'gpt-5' is not available; valid models: openclaw, openai/gpt-4o, "
                        "zai/glm-5"));
  // "openclaw" alone with a slash and nothing after it is not an agent id.
  EXPECT_FALSE(RouteChatRequest(R"({"model":"openclaw/"})", Models({})).ok());
}

TEST(RouteChatRequest, MalformedBodiesAreInvalidArguments) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"{\"model\":", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"{}", "'model' is required"},
      {"{\"model\":null}", "'model' is required"},
      {"{\"model\":7}", "'model' must be a string"},
      {"{\"model\":\"openclaw\",\"stream\":\"yes\"}", "'stream' must be true or false"},
      {"{\"model\":\"openclaw\",\"stream\":{\"a\":true}}", "'stream' must be true or false"},
      {"{\"model\":[\"openclaw\"]}", "'model' must be a string"},
      // Only the top level counts: a "model" inside a message or an object is not the model.
      {"{\"meta\":{\"model\":\"openclaw\"},\"messages\":[{\"model\":\"openclaw\"}]}",
       "'model' is required"},
      {"{\"model\":\"openclaw\"} trailing", "not valid JSON"},
      {"\"openclaw\"", "must be a JSON object"},
  };
  for (const auto& [body, message] : cases) {
    auto route = RouteChatRequest(body, Models({}));
    ASSERT_FALSE(route.ok()) << body;
    EXPECT_EQ(route.status().code(), ErrorCode::kInvalidArgument) << body;
    EXPECT_THAT(route.status().message(), HasSubstr(message)) << body;
  }
}

// The probe's crash: a conversation nested 60,000 deep, for a provider model (whose body is
// rebuilt as a tree) and for the agent's own (passed through): refused while scanning.
TEST(RouteChatRequest, DeepBodiesAreRefusedBeforeAnyTreeIsBuilt) {
  const std::string deep = std::string(60000, '[') + std::string(60000, ']');
  bool listed = false;
  for (const char* model : {"p/m", "openclaw"}) {
    auto route = RouteChatRequest(
        std::string(R"({"model":")") + model + R"(","messages":)" + deep + "}", [&] {
          listed = true;
          return Result<std::vector<std::string>>(std::vector<std::string>{"p/m"});
        });
    ASSERT_FALSE(route.ok()) << model;
    EXPECT_EQ(route.status().message(), "request body nests deeper than 64 levels");
  }
  EXPECT_FALSE(listed);
  // Real conversations nest a few levels.
  EXPECT_TRUE(RouteChatRequest(
                  R"({"model":"p/m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
                  Models({"p/m"}))
                  .ok());
}

TEST(RouteChatRequest, TheTopLevelFieldsCountAndTheLastOfADuplicateWins) {
  const std::string body =
      R"({"messages":[{"role":"user","model":"x/y","stream":1}],"model":"a/b",)"
      R"("nested":{"model":"c/d","stream":false},"stream":false,"model":"openclaw","stream":true})";
  auto route = RouteChatRequest(body, Models({}));
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_TRUE(route->stream);
  EXPECT_EQ(route->body, body);  // an agent model: byte for byte
  EXPECT_TRUE(route->model_header.empty());
}

TEST(RouteChatRequest, AFailureToListModelsPassesThrough) {
  auto route = RouteChatRequest(R"({"model":"a/b"})", []() -> Result<std::vector<std::string>> {
    return Unavailable("database is busy");
  });
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), ErrorCode::kUnavailable);
}

TEST(ChatLimiter, BoundsChatsPerUserAndOverallAndReleasesOnDestruction) {
  ChatLimiter limiter({2, 3});
  auto a1 = limiter.Acquire("a");
  auto a2 = limiter.Acquire("a");
  ASSERT_TRUE(a1.ok() && a2.ok());
  auto a3 = limiter.Acquire("a");
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_THAT(a3.status().message(), HasSubstr("limit per user"));
  auto b1 = limiter.Acquire("b");
  ASSERT_TRUE(b1.ok());
  auto b2 = limiter.Acquire("b");
  ASSERT_FALSE(b2.ok());
  EXPECT_THAT(b2.status().message(), HasSubstr("limit of 3 chats"));
  EXPECT_EQ(limiter.open(), 3u);
  {
    ChatLimiter::Slot moved = std::move(*a1);  // the slot moves; it is released once
  }
  EXPECT_EQ(limiter.open(), 2u);
  EXPECT_TRUE(limiter.Acquire("b").ok());  // acquired and released at once
  EXPECT_EQ(limiter.open(), 2u);
}

}  // namespace
}  // namespace berth::proxy
