// A user who has registered no LLM provider yet, with the REAL OpenClaw gateway: the agent starts
// (its config names berth's placeholder provider, not the seed's bundled default, on which the
// gateway exits 78), a chat reaches berth's gateway, which says to register a provider, and the
// first provider the user adds is taken by hot reload, without a restart.
//
// Costs one gateway start (~1.1 GiB).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "lifecycle_openclaw/openclaw_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kFirstKey[] = "sk-fake-first-provider-key-024680";

ExchangeResult ChatThroughBerth(BerthProcess& berth, const std::string& token) {
  const json body = {{"model", "openclaw"},
                     {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  const auto begin = std::chrono::steady_clock::now();
  ExchangeResult answer = HttpExchange("127.0.0.1", berth.port(), "POST", "/v1/chat/completions",
                                       body.dump(), {{"Authorization", "Bearer " + token}}, 120s);
  std::printf("[openclaw] chat through berth: %d in %lld ms: %.300s\n", answer.http.status,
              Millis(std::chrono::steady_clock::now() - begin), answer.http.body.c_str());
  return answer;
}

TEST_F(OpenClawLifecycle, AUserWithNoProviderGetsARunningAgentThatTakesTheFirstOneAdded) {
  StartBerth();
  auto network = client().InspectNetwork(network_);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  FakeLlm llm(network->gateway);
  auto [user_id, token] = CreateUser("newcomer");
  EXPECT_EQ(berth_->Get("/api/agent-config", token).Json()["effectivePrimaryModel"],
            "berth-no-provider/register-a-provider");

  auto start = HttpExchange("127.0.0.1", berth_->port(), "POST", "/api/agent/start", "",
                            {{"Authorization", "Bearer " + token}}, 200s);
  auto containers = ContainersOf(user_id);
  if (!containers.empty()) agent_container_ = containers.front().id;
  ASSERT_EQ(start.http.status, 200) << start.error << start.http.body << "\n" << berth_->Stderr();
  EXPECT_EQ(start.http.Json()["status"], "running") << start.http.body;
  std::string served;
  EXPECT_EQ(Exec(agent_container_, "cat /home/node/.openclaw/openclaw.json", &served), 0);
  EXPECT_NE(served.find("/api/internal/llm/berth-no-provider\""), std::string::npos) << served;
  auto before = client().InspectContainer(agent_container_);
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  // A chat now: the gateway calls the placeholder, berth's LLM gateway refuses the call, and the
  // user reads why (OpenClaw 2026.9.6 passes the 404 and its message on).
  ExchangeResult refused = ChatThroughBerth(*berth_, token);
  EXPECT_EQ(refused.http.status, 404) << refused.http.body;
  EXPECT_NE(refused.http.body.find("POST /api/providers"), std::string::npos) << refused.http.body;
  EXPECT_TRUE(Eventually(
      [&] {
        const std::string log = berth_->Stderr() + berth_->Stdout();
        return log.find("/api/internal/llm/berth-no-provider/chat/completions 404") !=
               std::string::npos;
      },
      30s))
      << berth_->Stderr();
  EXPECT_TRUE(llm.Calls().empty());

  // The first provider: pushed, hot-reloaded, and the next chats use it.
  AddFakeProvider(token, llm.BaseUrl(), kFirstKey, {"fake-model-1"});
  std::string last;
  EXPECT_TRUE(Eventually(
      [&] {
        ExchangeResult answer = ChatThroughBerth(*berth_, token);
        last = answer.http.body;
        return answer.http.status == 200 &&
               last.find(FakeLlm::Reply("fake-model-1")) != std::string::npos;
      },
      90s))
      << last << "\n"
      << GatewayLog();
  ASSERT_FALSE(llm.Calls().empty());
  EXPECT_EQ(llm.Calls().back().authorization, std::string("Bearer ") + kFirstKey);
  auto after = client().InspectContainer(agent_container_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->running);
  EXPECT_EQ(after->started_at, before->started_at) << "taken without a restart";
}

}  // namespace
}  // namespace berth::testing
