#pragma once

// berth's LLM gateway (http/llm_gateway_api.hpp) in process: berth's router on loopback, the
// services over a real SQLite file, and a fake provider on one of this machine's own non-loopback
// addresses (loopback is never a provider destination), allowed as an admin would allow it.
// Limits run on a clock of their own (budget_clock_), moved by hand.
#include <gtest/gtest.h>

#include <future>

#include "crypto/tokens.hpp"
#include "http/llm_gateway_api.hpp"
#include "mocks/fake_clock.hpp"
#include "service/service_fixture.hpp"
#include "support/http_client.hpp"
#include "support/local_address.hpp"
#include "support/loopback_server.hpp"
#include "testagent/fake_http_server.hpp"

namespace berth::testing {

using nlohmann::json;

inline constexpr char kRealKey[] = "sk-real-provider-key-1";

class LlmGatewayTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    address_ = LocalAddress();
    if (address_.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
    provider_ = std::make_unique<FakeHttpServer>(
        [this](const FakeRequest& r, FakeExchange& x) { Answer(r, x); }, address_);
    StartGateway(address_ + "/32");
  }

  void StartGateway(const std::string& allow) {
    auto policy = llm::DestinationPolicy::Create({.allow = {allow}});
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    auto tls = llm::ProviderClient::SystemTlsContext();
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    client_ = std::make_shared<llm::ProviderClient>(std::move(*policy), *tls);
    usage_ = std::make_shared<service::UsageLedger>(store_, clock_);
    http::LlmGatewayServices services;
    services.containers = containers_;
    services.providers = providers_;
    services.client = client_;
    services.limiter = std::make_shared<http::AttemptLimiter>();
    services.usage = usage_;
    budget_ = std::make_shared<service::LlmBudget>(store_, budget_clock_);
    services.budget = budget_;
    services.metrics = &metrics_;
    http::RegisterLlmGateway(router_, services);
    ASSERT_TRUE(server_.Start(router_).ok());
  }

  void TearDown() override {
    // Pooled provider connections belong to the server's io_contexts: closed before it goes.
    if (client_) client_->CloseIdle();
    ServiceTest::TearDown();
  }

  // The fake provider: answers by path; records every request (FakeHttpServer does).
  void Answer(const FakeRequest& r, FakeExchange& x) {
    if (r.target.find("/hang") != std::string::npos) {
      x.WaitForPeerClose(std::chrono::seconds(10));
      return;
    }
    if (r.target.find("/garbage") != std::string::npos) {
      x.Raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 5\r\n\r\nda");
      return;  // two of five bytes, then the connection closes
    }
    if (r.target.find("/models") != std::string::npos) {
      x.Respond(200, R"({"object":"list","data":[{"id":"m1"}]})");
      return;
    }
    if (r.target.find("/metered/chat/completions") != std::string::npos) {
      x.StartChunked(200, "text/event-stream");
      x.Chunk(
          "data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":"
          "\"Hi\"}}],\"usage\":null}\n\n");
      x.Chunk(
          "data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{"
          "\"prompt_tokens\":1200,\"completion_tokens\":300,\"prompt_tokens_details\":{"
          "\"cached_tokens\":1000}}}\n\n");
      x.Chunk("data: [DONE]\n\n");
      x.EndChunked();
      return;
    }
    if (r.target.find("/metered/v1/messages") != std::string::npos) {
      x.StartChunked(200, "text/event-stream");
      x.Chunk(
          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
          "\"usage\":{\"input_tokens\":40,\"cache_read_input_tokens\":0,"
          "\"output_tokens\":1}}}\n\n");
      x.Chunk(
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{"
          "\"output_tokens\":12}}\n\n");
      x.Chunk(
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{"
          "\"output_tokens\":20}}\n\n");
      x.EndChunked();
      return;
    }
    if (r.target.find("/metered/responses") != std::string::npos) {
      x.Respond(200, R"({"model":"x","usage":{"input_tokens":7,"output_tokens":3}})");
      return;
    }
    if (r.target.find("/budgeted/chat/completions") != std::string::npos) {
      // A call in flight for a while, so that calls overlap; 100 in, 900 out.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      x.Respond(200, R"({"model":"gpt-4o","choices":[{"message":{"content":"ok"}}],)"
                     R"("usage":{"prompt_tokens":100,"completion_tokens":900}})");
      return;
    }
    if (r.target.find("/limited") != std::string::npos) {
      x.Respond(429, R"({"error":{"message":"slow down"}})");
      return;
    }
    x.StartChunked(200, "text/event-stream");
    x.Chunk("data: {\"piece\":\"one\"}\n\n");
    // The rest only once the agent's side has seen the first piece: a gateway that buffered
    // the answer would never let it.
    if (first_seen_.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return;
    x.Chunk("data: {\"piece\":\"two\"}\n\n");
    x.Chunk("data: [DONE]\n\n");
    x.EndChunked();
  }

  std::string AddProvider(const std::string& uid, const std::string& name,
                          const std::string& base_url, const std::string& api_type = "") {
    service::ProviderChange c;
    c.name = std::optional<std::string>(name);
    c.type = std::optional<std::string>("custom");
    c.base_url = std::optional<std::string>(base_url);
    c.api_key = std::optional<std::string>(std::string(kRealKey));
    if (!api_type.empty()) c.api_type = std::optional<std::string>(api_type);
    c.models = std::optional<json>(json::array({"m1"}));
    auto made = providers_->Create(uid, c);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return crypto::AgentLlmKey(AgentToken(uid));
  }

  HttpResult Call(const std::string& method, const std::string& path, const std::string& body,
                  std::map<std::string, std::string> headers) {
    return HttpRequest(method, "127.0.0.1", server_.port(), "/api/internal/llm" + path, body,
                       headers);
  }

  std::string ProviderUrl(const std::string& path = "/v1") const { return provider_->Url() + path; }

  std::string address_;
  std::unique_ptr<FakeHttpServer> provider_;
  std::promise<void> first_promise_;
  std::shared_future<void> first_seen_ = first_promise_.get_future().share();
  std::shared_ptr<llm::ProviderClient> client_;
  std::shared_ptr<service::UsageLedger> usage_;
  std::shared_ptr<FakeClock> budget_clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<service::LlmBudget> budget_;
  MetricsRegistry metrics_;
  http::Router router_;
  LoopbackServer server_;
};

}  // namespace berth::testing
