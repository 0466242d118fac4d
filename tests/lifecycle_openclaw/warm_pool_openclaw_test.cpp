// The warm pool (BERTH_WARM_POOL) with the REAL OpenClaw gateway on the real engine: a new user's
// first streamed chat through berth is answered by a pooled gateway with the user's own provider
// and model; a second new user's pooled agent shows nothing of the first user's config or state;
// the pool refills; a returning user, whose agent was stopped, keeps their state; and a pooled
// agent that dies is started again. The in-memory version of each rule is
// tests/lifecycle/warm_pool_test.cpp.
//
// Costs five gateway starts (~1.1 GiB each, up to three at once).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "lifecycle_openclaw/openclaw_fixture.hpp"
#include "store/store.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAliceKey[] = "sk-fake-key-of-alice-0123456789";
constexpr char kBobKey[] = "sk-fake-key-of-bob-9876543210";
constexpr char kStateDir[] = "/home/node/.openclaw";

class OpenClawWarmPool : public OpenClawLifecycle {
 protected:
  // The value of a sample line of /metrics ("name{labels} value"), or -1.
  double Metric(const std::string& sample) {
    const std::string text = berth_->Get("/metrics").body;
    const std::size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }
  bool PoolReady(std::chrono::seconds timeout) {
    return Eventually([&] { return Metric("berth_warm_pool_agents{state=\"ready\"}") >= 1; },
                      timeout);
  }
  // The engine id of the container the user's record names.
  std::string ContainerOfUser(const std::string& user_id) {
    auto store = store::OpenStore("sqlite://" + dir_.File("berth.db"));
    if (!store.ok()) return "";
    auto record = (*store)->GetUserContainerByUser(user_id);
    return record.ok() && record->container_id ? *record->container_id : "";
  }
  ExchangeResult ChatThroughBerth(const std::string& token, const char* who) {
    json body = {{"model", "openclaw"},
                 {"stream", true},
                 {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
    const auto begin = std::chrono::steady_clock::now();
    ExchangeResult answer =
        HttpExchange("127.0.0.1", berth_->port(), "POST", "/v1/chat/completions", body.dump(),
                     {{"Authorization", "Bearer " + token}}, 300s);
    std::printf("[openclaw] %s: streamed chat through berth: %d in %lld ms\n", who,
                answer.http.status, Millis(std::chrono::steady_clock::now() - begin));
    return answer;
  }
  std::string InState(const std::string& container, const std::string& script) {
    std::string out;
    Exec(container, script, &out);
    return out;
  }
};

TEST_F(OpenClawWarmPool, NewUsersTakePooledGatewaysAndAReturningUserKeepsTheirState) {
  env_["BERTH_WARM_POOL"] = "1";
  // Kept warm at every pass of the pool (5 s): the hand-overs below race keep-warms.
  env_["BERTH_POOL_KEEP_WARM"] = "1";
  StartBerth();
  auto network = client().InspectNetwork(network_);
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  FakeLlm llm(network->gateway);
  ASSERT_TRUE(PoolReady(300s)) << berth_->Stderr();
  // The real gateway's config passes the keep-warm's check that it is a placeholder's.
  EXPECT_TRUE(Eventually([&] { return Metric("berth_warm_pool_keep_warms_total") >= 1; }, 60s))
      << berth_->Stderr();

  // Alice, new: her first chat is answered by the pooled gateway, with her provider and key.
  auto [alice, alice_token] = CreateUser("alice");
  AddFakeProvider(alice_token, llm.BaseUrl(), kAliceKey, {"fake-model-1"});
  ExchangeResult first = ChatThroughBerth(alice_token, "alice (warm pool)");
  const std::string alice_container = ContainerOfUser(alice);
  agent_container_ = alice_container;
  ASSERT_EQ(first.http.status, 200) << first.error << first.http.body;
  EXPECT_EQ(ReadChatStream(first.http.body).text, FakeLlm::Reply("fake-model-1"));
  ASSERT_FALSE(llm.Calls().empty());
  EXPECT_EQ(llm.Calls().back().authorization, std::string("Bearer ") + kAliceKey);
  EXPECT_EQ(Metric("berth_warm_pool_hits_total"), 1) << berth_->Stderr();
  auto details = client().InspectContainer(alice_container);
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  EXPECT_EQ(details->labels["berth.owner"].rfind("berth-pool-", 0), 0u)
      << "not a pooled container: " << details->labels["berth.owner"];
  const std::string served =
      InState(alice_container, std::string("cat ") + kStateDir + "/openclaw.json");
  // Her provider through berth's LLM gateway, with her agent's key, never her provider's.
  EXPECT_EQ(served.find(kAliceKey), std::string::npos) << served;
  EXPECT_NE(served.find("/api/internal/llm/fakellm\""), std::string::npos) << served;
  EXPECT_NE(served.find("\"bk_"), std::string::npos) << served;
  EXPECT_NE(served.find("fakellm/fake-model-1"), std::string::npos) << served;
  // Applied through the gateway's config API, and neither the config nor the backup the gateway
  // restores from still names the pool's placeholder provider (the rotated backups may).
  EXPECT_NE(berth_->Stderr().find("applied its config in"), std::string::npos) << berth_->Stderr();
  const std::string dir = std::string(kStateDir) + "/";
  EXPECT_EQ(InState(alice_container,
                    "test -f " + dir + "openclaw.json.bak && { grep -l berth-pool " + dir +
                        "openclaw.json " + dir + "openclaw.json.bak || echo none; }"),
            "none\n");
  ASSERT_EQ(
      Exec(alice_container, std::string("echo alice > ") + kStateDir + "/marker-alice", nullptr),
      0);

  // Bob, new: the refilled pool's gateway, with nothing of Alice's in its config or state.
  ASSERT_TRUE(PoolReady(300s)) << berth_->Stderr();
  auto [bob, bob_token] = CreateUser("bob");
  AddFakeProvider(bob_token, llm.BaseUrl(), kBobKey, {"fake-model-2"});
  ExchangeResult bobs = ChatThroughBerth(bob_token, "bob (warm pool)");
  const std::string bob_container = ContainerOfUser(bob);
  ASSERT_EQ(bobs.http.status, 200) << bobs.error << bobs.http.body;
  EXPECT_EQ(ReadChatStream(bobs.http.body).text, FakeLlm::Reply("fake-model-2"));
  EXPECT_EQ(llm.Calls().back().authorization, std::string("Bearer ") + kBobKey);
  EXPECT_EQ(Metric("berth_warm_pool_hits_total"), 2) << berth_->Stderr();
  ASSERT_FALSE(bob_container.empty());
  EXPECT_NE(bob_container, alice_container);
  const std::string bob_state = InState(bob_container, std::string("ls -A ") + kStateDir);
  EXPECT_EQ(bob_state.find("marker-alice"), std::string::npos) << bob_state;
  EXPECT_NE(bob_state.find("openclaw.json"), std::string::npos) << bob_state;
  const std::string found = InState(
      bob_container, std::string("grep -rl ") + kAliceKey + " " + kStateDir + " || echo none");
  EXPECT_EQ(found, "none\n");
  const std::string bobs_config =
      InState(bob_container, std::string("cat ") + kStateDir + "/openclaw.json");
  EXPECT_EQ(bobs_config.find(kBobKey), std::string::npos) << bobs_config;
  EXPECT_NE(bobs_config.find("fakellm/fake-model-2"), std::string::npos) << bobs_config;

  // Alice returns after her agent was stopped: her own container and state, not the pool's.
  ASSERT_EQ(berth_->Post("/api/agent/stop", "", alice_token).status, 200);
  ExchangeResult again = ChatThroughBerth(alice_token, "alice (returning, stopped)");
  ASSERT_EQ(again.http.status, 200) << again.error << again.http.body;
  EXPECT_EQ(ReadChatStream(again.http.body).text, FakeLlm::Reply("fake-model-1"));
  const std::string alice_now = ContainerOfUser(alice);
  agent_container_ = alice_now;
  EXPECT_EQ(InState(alice_now, std::string("cat ") + kStateDir + "/marker-alice"), "alice\n");
  EXPECT_EQ(Metric("berth_warm_pool_hits_total"), 2);

  // The pooled agent waiting now dies behind berth's back: it is started and warmed again.
  ASSERT_TRUE(PoolReady(300s)) << berth_->Stderr();
  std::string pooled;
  auto listed = client().ListContainers({{"berth.instance", InstanceId()}});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  for (const auto& c : *listed) {
    if (c.id != alice_now && c.id != bob_container) pooled = c.id;
  }
  ASSERT_FALSE(pooled.empty());
  ASSERT_TRUE(client().KillContainer(pooled).ok());
  ASSERT_TRUE(
      Eventually([&] { return Metric("berth_warm_pool_agents{state=\"ready\"}") == 0; }, 30s));
  ASSERT_TRUE(PoolReady(300s)) << berth_->Stderr();
  auto revived = client().InspectContainer(pooled);
  ASSERT_TRUE(revived.ok());
  EXPECT_TRUE(revived->running);
}

}  // namespace
}  // namespace berth::testing
