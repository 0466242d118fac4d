// A chat that streams for a long time is activity the whole time: the reaper, driven here by an
// injected clock that jumps ten minutes at a time while the stream flows, never stops its agent,
// and stops it once the stream is over and the idle timeout has passed. In-process (the chat
// routes on a real server, the manager on the real engine with the test agent) so that time can
// be driven.

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "../lifecycle_e2e/in_process_berth.hpp"
#include "../lifecycle_e2e/lifecycle_fixture.hpp"
#include "../lifecycle_openclaw/fake_llm.hpp"
#include "../lifecycle_openclaw/http_exchange.hpp"
#include "http/api.hpp"
#include "http/chat_api.hpp"
#include "http/server.hpp"
#include "image/agent_contract.hpp"
#include "mocks/fake_clock.hpp"
#include "runtime/docker_runtime.hpp"
#include "support/loopback_server.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LongStreamTest : public DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    runtime::DockerRuntimeOptions engine;
    engine.docker_host = env().docker_host();
    auto docker = runtime::DockerRuntime::Create(engine);
    ASSERT_TRUE(docker.ok()) << docker.status().ToString();
    options_.network = env().Name("longstream");
    options_.image = TestAgentImages::Get().agent();
    options_.contract = image::AgentContract();
    options_.memory_bytes = 64 << 20;
    options_.start_timeout = 60s;
    // The test calls Reap() itself, at the moments it chooses.
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
    berth_.Start(options_, *docker);
  }

  void TearDown() override {
    server_.Stop();
    berth_.Stop();
    if (!env().engine_status().ok()) return;
    auto instance = berth_.store()->InstanceId();
    RemoveWhatBerthMade(env(), instance.ok() ? *instance : "", options_.network);
  }

  void ServeChat() {
    http::ApiServices s = berth_.services();
    http::ChatServices chat;
    router_.SetAuthenticator(http::AccountAuthenticator(s.accounts));
    chat.providers = s.providers;
    chat.agents = s.agents;
    http::RegisterChatRoutes(router_, chat);
    ASSERT_TRUE(server_.Start(router_).ok());
  }

  lifecycle::LifecycleOptions options_;
  TempDir dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  InProcessBerth berth_{dir_.File("berth.db"), clock_};
  http::Router router_;
  LoopbackServer server_;
};

TEST_F(LongStreamTest, AnAgentWithAStreamOpenIsNeverReapedAndIsOnceItEnds) {
  ASSERT_NO_FATAL_FAILURE(ServeChat());
  auto network = client().InspectNetwork(options_.network);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  FakeLlm llm(network->gateway, 1500ms);  // six pieces, 1.5 s apart: a stream of ~9 s
  http::ApiServices s = berth_.services();
  auto user = s.accounts->CreateUser({"streamer", std::nullopt, std::nullopt});
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  service::ProviderChange provider;
  provider.name = std::optional<std::string>("fakellm");
  provider.type = std::optional<std::string>("custom");
  provider.base_url = std::optional<std::string>(llm.BaseUrl());
  provider.models = std::optional<json>(json::array({"fake-model-1"}));
  ASSERT_TRUE(s.providers->Create(user->user.id, provider).ok());

  json body = {{"model", "openclaw"},
               {"stream", true},
               {"messages", {{{"role", "user"}, {"content", "tell a long story"}}}}};
  auto chat = std::async(std::launch::async, [&] {
    return HttpExchange("127.0.0.1", server_.port(), "POST", "/v1/chat/completions", body.dump(),
                        {{"Authorization", "Bearer " + user->token}}, 60s);
  });
  // Once the stream flows, every Reap() sees an agent idle for far longer than its 30 minutes
  // by the clock, yet with a stream open.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto agent = berth_.manager().GetAgent(user->user.id);
    if (agent.ok() && agent->open_streams == 1 &&
        agent->status == lifecycle::AgentStatus::kRunning) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the stream never opened";
    std::this_thread::sleep_for(50ms);
  }
  int reaps_during_stream = 0;
  while (chat.wait_for(500ms) != std::future_status::ready) {
    clock_->Advance(10min);
    auto reaped = berth_.manager().Reap();
    ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
    EXPECT_TRUE(reaped->empty()) << "reaped while streaming";
    ++reaps_during_stream;
  }
  ExchangeResult answer = chat.get();
  ASSERT_EQ(answer.http.status, 200) << answer.error << answer.http.body;
  std::string text;
  for (const std::string& data : SseData(answer.http.body)) {
    json chunk = json::parse(data, nullptr, false);
    if (chunk.is_object() && chunk.contains("choices") && !chunk["choices"].empty()) {
      text += chunk["choices"][0]["delta"].value("content", "");
    }
  }
  EXPECT_EQ(text, FakeLlm::Reply("fake-model-1"));  // the whole answer, not cut off
  EXPECT_GE(reaps_during_stream, 8);                // > 80 clock minutes went by mid-stream

  // The stream's end was activity; from then on the idle timeout counts.
  clock_->Advance(29min);
  auto early = berth_.manager().Reap();
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  clock_->Advance(2min);
  auto reaped = berth_.manager().Reap();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, std::vector<std::string>{user->user.id});
}

}  // namespace
}  // namespace berth::testing
