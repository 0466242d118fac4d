// berth's LLM gateway in process (llm_gateway_fixture.hpp): forwarding, keys, usage, errors.
#include "http/llm_gateway_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST_F(LlmGatewayTest, AStreamArrivesInPiecesWithTheRealKeyAndNoneOfTheAgents) {
  const std::string uid = NewUser();
  const std::string key = AddProvider(uid, "mine", ProviderUrl());
  // By hand, to see the first piece before the provider sends the second.
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), server_.port()});
  const std::string body = R"({"model":"m1","stream":true})";
  const std::string request = "POST /api/internal/llm/mine/chat/completions?key=" + key +
                              " HTTP/1.1\r\nHost: berth\r\nAuthorization: Bearer " + key +
                              "\r\nx-api-key: " + key +
                              "\r\nCookie: c=1\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  net::write(socket, net::buffer(request));
  std::string seen;
  std::array<char, 4096> buffer;
  beast::error_code ec;
  while (seen.find("\"one\"") == std::string::npos && !ec) {
    seen.append(buffer.data(), socket.read_some(net::buffer(buffer), ec));
  }
  ASSERT_NE(seen.find("\"one\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("\"two\""), std::string::npos) << "the second piece is not sent yet";
  first_promise_.set_value();
  while (seen.find("[DONE]") == std::string::npos && !ec) {
    seen.append(buffer.data(), socket.read_some(net::buffer(buffer), ec));
  }
  EXPECT_NE(seen.find("HTTP/1.1 200"), std::string::npos) << seen;
  EXPECT_NE(seen.find("text/event-stream"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"two\""), std::string::npos) << seen;

  const auto requests = provider_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const FakeRequest& sent = requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/v1/chat/completions") << "the agent's ?key= stays behind";
  EXPECT_EQ(sent.Header("authorization"), std::string("Bearer ") + kRealKey);
  EXPECT_EQ(sent.Header("x-api-key"), "");
  EXPECT_EQ(sent.Header("cookie"), "");
  // The agent did not ask for the stream's usage: berth did, in front of the agent's own fields.
  EXPECT_EQ(sent.body, R"({"stream_options":{"include_usage":true},"model":"m1","stream":true})");
  for (const auto& [name, value] : sent.headers) {
    EXPECT_EQ(value.find(key.substr(3)), std::string::npos) << name << " carries the agent's key";
  }
}

TEST_F(LlmGatewayTest, EachApiTypeGetsItsPathAndCredentialStyle) {
  const std::string uid = NewUser();
  AddProvider(uid, "claude", ProviderUrl(""), "anthropic-messages");
  AddProvider(uid, "resp", ProviderUrl(), "openai-responses");
  const std::string key = crypto::AgentLlmKey(AgentToken(uid));
  first_promise_.set_value();

  auto messages = Call("POST", "/claude/v1/messages", R"({"model":"m1"})", {{"x-api-key", key}});
  EXPECT_EQ(messages.status, 200) << messages.body;
  auto responses =
      Call("POST", "/resp/responses", R"({"model":"m1"})", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(responses.status, 200) << responses.body;
  auto models = Call("GET", "/resp/models", "", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.Json()["data"][0]["id"], "m1");

  const auto requests = provider_->Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/v1/messages");
  EXPECT_EQ(requests[0].Header("x-api-key"), kRealKey);
  EXPECT_EQ(requests[0].Header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(requests[0].Header("authorization"), "");
  EXPECT_EQ(requests[1].target, "/v1/responses");
  EXPECT_EQ(requests[1].Header("authorization"), std::string("Bearer ") + kRealKey);
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].target, "/v1/models");
}

TEST_F(LlmGatewayTest, UsageOfEachApiIsCountedPricedAndTheChunkBerthAskedForRemoved) {
  const std::string uid = NewUser();
  // gpt-4o from the built-in list; claude-x priced by the provider definition; "free" unpriced.
  AddProvider(uid, "chat", ProviderUrl("/metered"));
  service::ProviderChange c;
  c.name = std::optional<std::string>("claude");
  c.type = std::optional<std::string>("custom");
  c.base_url = std::optional<std::string>(ProviderUrl("/metered"));
  c.api_key = std::optional<std::string>(std::string(kRealKey));
  c.api_type = std::optional<std::string>("anthropic-messages");
  c.models = std::optional<json>(
      json::parse(R"([{"id": "claude-x", "cost": {"input": 3, "output": 15, "cacheRead": 0.3}}])"));
  ASSERT_TRUE(providers_->Create(uid, c).ok());
  AddProvider(uid, "resp", ProviderUrl("/metered"), "openai-responses");
  const std::string key = crypto::AgentLlmKey(AgentToken(uid));
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + key}};
  first_promise_.set_value();

  auto chat = Call("POST", "/chat/chat/completions", R"({"model":"gpt-4o","stream":true})", auth);
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_NE(chat.body.find("\"Hi\""), std::string::npos) << chat.body;
  EXPECT_EQ(chat.body.find("prompt_tokens"), std::string::npos) << "not asked for: removed";
  EXPECT_NE(chat.body.find("[DONE]"), std::string::npos) << chat.body;
  auto asked =
      Call("POST", "/chat/chat/completions",
           R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}})", auth);
  EXPECT_NE(asked.body.find("prompt_tokens"), std::string::npos) << "asked for: kept";
  auto messages = Call("POST", "/claude/v1/messages",
                       R"({"model":"claude-x","stream":true,"max_tokens":64})", auth);
  EXPECT_EQ(messages.status, 200) << messages.body;
  auto responses = Call("POST", "/resp/responses", R"({"model":"free"})", auth);
  EXPECT_EQ(responses.status, 200) << responses.body;

  auto rows = usage_->List({uid, usage_->Today(), usage_->Today()});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  const store::UsageRow& gpt = (*rows)[0];  // by provider: chat, claude, resp
  EXPECT_EQ(gpt.provider, "chat");
  EXPECT_EQ(gpt.model, "gpt-4o");
  EXPECT_EQ(gpt.requests, 2);
  EXPECT_EQ(gpt.input_tokens, 400);
  EXPECT_EQ(gpt.cache_read_tokens, 2000);
  EXPECT_EQ(gpt.output_tokens, 600);
  // 400 x $2.50 + 2000 x $1.25 + 600 x $10 per million = $0.0095.
  EXPECT_EQ(gpt.cost_nano_usd, 9'500'000);
  const store::UsageRow& claude = (*rows)[1];
  EXPECT_EQ(claude.model, "claude-x");
  EXPECT_EQ(claude.input_tokens, 40);
  EXPECT_EQ(claude.output_tokens, 20) << "message_delta counts are cumulative: the last wins";
  EXPECT_EQ(claude.cost_nano_usd, 40 * 3000 + 20 * 15000);
  const store::UsageRow& free = (*rows)[2];
  EXPECT_EQ(free.model, "free");
  EXPECT_EQ(free.input_tokens, 7);
  EXPECT_EQ(free.unpriced_requests, 1);
  EXPECT_EQ(free.cost_nano_usd, 0);

  // Written in one batch; a second listing reads the same back from the store.
  ASSERT_TRUE(usage_->Flush().ok());
  auto stored = store_->ListUsage({uid, usage_->Today(), usage_->Today()});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, *rows);
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("berth_llm_tokens_total{api=\"anthropic-messages\",kind=\"output\"} 20"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("berth_llm_requests_total{api=\"openai-responses\",usage=\"unpriced\"} 1"),
            std::string::npos)
      << text;

  // Each call is in the log of recent calls, newest first, with what it was charged.
  auto log = usage_->ListRequests(uid, 10);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->size(), 4u);
  EXPECT_EQ((*log)[0].api, "openai-responses");
  EXPECT_EQ((*log)[0].model, "free");
  EXPECT_FALSE((*log)[0].priced);
  EXPECT_EQ((*log)[1].api, "anthropic-messages");
  EXPECT_EQ((*log)[1].provider, "claude");
  EXPECT_EQ((*log)[1].output_tokens, 20);
  EXPECT_EQ((*log)[1].cost_nano_usd, 40 * 3000 + 20 * 15000);
  EXPECT_TRUE((*log)[1].priced);
  for (const store::LlmRequestLogEntry& e : *log) {
    EXPECT_EQ(e.status, 200);
    EXPECT_EQ(e.outcome, "ok");
    EXPECT_EQ(e.user_id, uid);
    EXPECT_GT(e.at_ms, 0);
  }
  EXPECT_EQ(store_->ListRequestLog(uid, 10)->size(), 4u) << "written in the flush";
}

TEST_F(LlmGatewayTest, ConnectionsToAProviderThatKeepsThemAliveAreReused) {
  // A provider that keeps connections alive (berth's own HTTP server, on this machine's address).
  http::Router keeping;
  std::atomic<int> answered{0};
  keeping.Add(bhttp::verb::post, "/v1/chat/completions", [&](http::Request&) {
    ++answered;
    return http::JsonResponse(bhttp::status::ok,
                              {{"choices", json::array()}, {"usage", {{"prompt_tokens", 1}}}});
  });
  LoopbackServer provider;
  ASSERT_TRUE(provider.Start(keeping, 1, address_).ok());
  const std::string uid = NewUser();
  const std::string key = AddProvider(
      uid, "alive", "http://" + address_ + ":" + std::to_string(provider.port()) + "/v1");
  first_promise_.set_value();
  for (int i = 0; i < 5; ++i) {
    auto r = Call("POST", "/alive/chat/completions", R"({"model":"m1"})",
                  {{"Authorization", "Bearer " + key}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(answered.load(), 5);
  EXPECT_EQ(client_->connections_opened(), 1u) << "one connection for five calls";
  // A provider that closes its connections: each call opens its own (the fake answers with
  // Connection: close), and nothing is reused that the provider closed.
  const std::string closing = AddProvider(uid, "closing", ProviderUrl());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call("GET", "/closing/models", "", {{"Authorization", "Bearer " + closing}}).status,
              200);
  }
  EXPECT_EQ(client_->connections_opened(), 4u);
  // The keep-alive provider goes away: its idle connection is dropped, not used, and a call
  // gets a clear 502.
  provider.Stop();
  auto gone = Call("POST", "/alive/chat/completions", "{}", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(gone.status, 502) << gone.body;
}

TEST_F(LlmGatewayTest, AKeyOpensOnlyItsOwnAgentsProvidersAndDiesWithTheUser) {
  const std::string alice = NewUser("alice");
  const std::string bob = NewUser("bob");
  const std::string alice_key = AddProvider(alice, "mine", ProviderUrl());
  AddProvider(bob, "bobs", ProviderUrl());
  const std::map<std::string, std::string> as_alice = {{"Authorization", "Bearer " + alice_key}};

  EXPECT_EQ(Call("GET", "/bobs/models", "", as_alice).status, 404);
  EXPECT_EQ(Call("GET", "/mine/models", "", {}).status, 401);
  EXPECT_EQ(Call("GET", "/mine/models", "", {{"Authorization", "Bearer " + std::string(kRealKey)}})
                .status,
            401);
  EXPECT_EQ(Call("GET", "/mine/models", "", {{"Authorization", "Bearer bk_forged"}}).status, 401);
  // The container token itself is not an LLM key.
  EXPECT_EQ(
      Call("GET", "/mine/models", "", {{"Authorization", "Bearer " + AgentToken(alice)}}).status,
      401);
  EXPECT_EQ(Call("GET", "/mine/models", "", as_alice).status, 200);

  ASSERT_TRUE(accounts_->DeleteUser(alice).ok());
  auto after = Call("GET", "/mine/models", "", as_alice);
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_EQ(after.Json()["error"]["type"], "authentication_error") << after.body;
  EXPECT_EQ(provider_->RequestCount(), 1u) << "nothing refused reached the provider";
}

TEST_F(LlmGatewayTest, ProviderAddressesBerthMustNotReachAreRefused) {
  const std::string uid = NewUser();
  const std::string key = AddProvider(uid, "local", "http://127.0.0.1:9/v1");
  AddProvider(uid, "metadata", "http://169.254.169.254/v1");
  AddProvider(uid, "lan", "http://10.255.255.1:9/v1");
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + key}};
  for (const char* provider : {"local", "metadata", "lan"}) {
    auto refused = Call("GET", std::string("/") + provider + "/models", "", auth);
    EXPECT_EQ(refused.status, 403) << provider << ": " << refused.body;
    EXPECT_NE(refused.Json()["error"]["message"].get<std::string>().find("provider address"),
              std::string::npos)
        << refused.body;
  }
}

TEST_F(LlmGatewayTest, BadCallsGetClearErrorsAndTheProvidersOwnPassesThrough) {
  const std::string uid = NewUser();
  const std::string key = AddProvider(uid, "mine", ProviderUrl());
  AddProvider(uid, "limited", ProviderUrl("/limited"));
  AddProvider(uid, "garbage", ProviderUrl("/garbage"));
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + key}};

  EXPECT_EQ(Call("POST", "/mine/embeddings", "{}", auth).status, 404);
  EXPECT_EQ(Call("DELETE", "/mine/models", "", auth).status, 405);
  auto upgrade = Call("GET", "/mine/models", "",
                      {{"Authorization", "Bearer " + key}, {"Upgrade", "websocket"}});
  EXPECT_EQ(upgrade.status, 400) << upgrade.body;
  EXPECT_EQ(Call("GET", "/nosuch/models", "", auth).status, 404);

  // A caller without a valid key never makes berth read (or hold) its body: the answer comes on
  // the head, before the 900 kB it announces (within the body limit, so the key decides).
  const std::string head_only =
      "POST /api/internal/llm/mine/chat/completions HTTP/1.1\r\nHost: berth\r\n"
      "x-api-key: bk_" +
      std::string(64, 'a') +
      ".forged\r\nContent-Type: application/json\r\n"
      "Content-Length: 900000\r\n\r\n{";
  const std::string refused = RawExchange("127.0.0.1", server_.port(), head_only);
  EXPECT_EQ(refused.rfind("HTTP/1.1 401", 0), 0u) << refused;
  EXPECT_NE(refused.find("Invalid API key"), std::string::npos) << refused;
  // With the right key, a body over the server's limit is a 413.
  const std::string too_big =
      "POST /api/internal/llm/mine/chat/completions HTTP/1.1\r\nHost: berth\r\n"
      "Authorization: Bearer " +
      key + "\r\nContent-Length: 100000000\r\n\r\n{";
  EXPECT_EQ(RawExchange("127.0.0.1", server_.port(), too_big).rfind("HTTP/1.1 413", 0), 0u);
  EXPECT_EQ(provider_->RequestCount(), 0u);

  auto limited = Call("POST", "/limited/chat/completions", "{}", auth);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Json()["error"]["message"], "slow down");

  // A provider that cuts its answer short: the agent sees a cut connection, never a whole body.
  auto cut = Call("POST", "/garbage/chat/completions", "{}", auth);
  EXPECT_FALSE(cut.status == 200 && cut.body == "da") << cut.status << " " << cut.body;

  // The log of recent calls holds the calls that reached a provider, each once, as they ended.
  auto log = usage_->ListRequests(uid, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].provider, "garbage");
  EXPECT_EQ((*log)[0].outcome, "cut");
  EXPECT_EQ((*log)[0].status, 200);
  EXPECT_EQ((*log)[1].provider, "limited");
  EXPECT_EQ((*log)[1].outcome, "error");
  EXPECT_EQ((*log)[1].status, 429);
}

TEST_F(LlmGatewayTest, AProviderThatNeverAnswersEndsIn502AtTheIdleTimeout) {
  const std::string uid = NewUser();
  const std::string key = AddProvider(uid, "hang", ProviderUrl("/hang"));
  http::Router router;
  http::LlmGatewayServices services;
  services.containers = containers_;
  services.providers = providers_;
  services.client = client_;
  services.limiter = std::make_shared<http::AttemptLimiter>();
  services.idle_timeout = 300ms;
  http::RegisterLlmGateway(router, services);
  LoopbackServer quick;
  ASSERT_TRUE(quick.Start(router).ok());
  const auto begin = std::chrono::steady_clock::now();
  auto hung =
      HttpRequest("POST", "127.0.0.1", quick.port(), "/api/internal/llm/hang/chat/completions",
                  "{}", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(hung.status, 502) << hung.body;
  EXPECT_EQ(hung.Json()["error"]["code"], "bad_gateway") << hung.body;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

}  // namespace
}  // namespace berth::testing
