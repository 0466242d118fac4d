// Usage and limits of berth's LLM gateway through the built binary, on SQLite and PostgreSQL: an
// admin sets a user's limits, the user's agent calls a provider through berth, the user and the
// admin see what it used; and two replicas on one PostgreSQL hold one budget together.
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "crypto/tokens.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/local_address.hpp"
#include "testagent/fake_http_server.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

// A provider that answers every chat after a short think, 100 tokens in and 900 out.
void Answer(const FakeRequest&, FakeExchange& x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  x.Respond(200, R"({"model":"gpt-4o","choices":[{"message":{"content":"ok"}}],)"
                 R"("usage":{"prompt_tokens":100,"completion_tokens":900}})");
}
constexpr int64_t kCallNano = 100 * 2'500 + 900 * 10'000;  // at gpt-4o's built-in price
constexpr char kChat[] =
    R"({"model":"gpt-4o","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]})";

class UsageE2e : public BerthStoreE2eTest {
 protected:
  // A user with a provider and an agent record; returns {user id, user token, agent key}.
  std::tuple<std::string, std::string, std::string> UserWithAgent() {
    auto [id, token] = CreateUser("ann");
    const json provider = {{"name", "work"},
                           {"type", "openai"},
                           {"baseUrl", provider_.Url() + "/v1"},
                           {"apiKey", "sk-real-usage-key-77"},
                           {"models", {"gpt-4o"}}};
    EXPECT_EQ(berth_->Post("/api/providers", provider.dump(), token).status, 201);
    auto container = berth_->Post("/api/admin/users/" + id + "/container", "", kAdminToken);
    EXPECT_EQ(container.status, 201) << container.body;
    return {id, token, crypto::AgentLlmKey(container.Json()["token"].get<std::string>())};
  }

  FakeHttpServer provider_{Answer, LocalAddress()};
};

TEST_P(UsageE2e, AnAdminSetsLimitsAndTheUserAndAdminSeeTheUsage) {
  auto [id, token, key] = UserWithAgent();
  const std::string limits = "/api/admin/users/" + id + "/limits";
  // Bad limits are clear 400s; a missing user 404; a user may not set their own.
  EXPECT_EQ(berth_->Send("PUT", limits, R"({"usdPerDay":-1})", kAdminToken).status, 400);
  EXPECT_EQ(berth_->Send("PUT", limits, R"({"tokensPerDay":1.5})", kAdminToken).status, 400);
  auto unknown = berth_->Send("PUT", limits, R"({"perYear":1})", kAdminToken);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(ErrorMessage(unknown).find("perYear"), std::string::npos) << unknown.body;
  EXPECT_EQ(berth_->Send("PUT", limits, "[1]", kAdminToken).status, 400);
  EXPECT_EQ(berth_->Send("PUT", "/api/admin/users/ghost/limits", "{}", kAdminToken).status, 404);
  EXPECT_EQ(berth_->Get("/api/admin/users/ghost/limits", kAdminToken).status, 404);
  EXPECT_EQ(berth_->Send("PUT", limits, R"({"usdPerDay":1})", token).status, 403);
  auto set =
      berth_->Send("PUT", limits, R"({"usdPerDay":2.5,"requestsPerMinute":100})", kAdminToken);
  ASSERT_EQ(set.status, 200) << set.body;
  auto read = berth_->Get(limits, kAdminToken);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.Json()["limits"]["usdPerDay"], 2.5);
  EXPECT_EQ(read.Json()["limits"]["requestsPerMinute"], 100);
  EXPECT_EQ(read.Json()["limits"]["usdPerMonth"], nullptr);

  auto chat = berth_->Send("POST", "/api/internal/llm/work/chat/completions", kChat, key);
  ASSERT_EQ(chat.status, 200) << chat.body;
  auto mine = berth_->Get("/api/usage", token);
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json report = mine.Json();
  EXPECT_EQ(report["totals"]["requests"], 1);
  EXPECT_EQ(report["totals"]["inputTokens"], 100);
  EXPECT_EQ(report["totals"]["outputTokens"], 900);
  EXPECT_DOUBLE_EQ(report["totals"]["costUsd"].get<double>(), kCallNano / 1e9);
  ASSERT_EQ(report["usage"].size(), 1u);
  EXPECT_EQ(report["usage"][0]["provider"], "work");
  EXPECT_EQ(report["usage"][0]["model"], "gpt-4o");
  EXPECT_FALSE(report["usage"][0].contains("userId"));
  EXPECT_EQ(report["limits"]["usdPerDay"], 2.5);
  EXPECT_EQ(berth_->Get("/api/usage?from=2026-13-01", token).status, 400);
  EXPECT_EQ(berth_->Get("/api/usage?from=2026-12-02&to=2026-12-01", token).status, 400);
  EXPECT_EQ(berth_->Get("/api/admin/usage", token).status, 403);

  auto all = berth_->Get("/api/admin/usage?userId=" + id, kAdminToken);
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.Json()["usage"].size(), 1u);
  EXPECT_EQ(all.Json()["usage"][0]["userId"], id);
  const std::string metrics = berth_->Get("/metrics").body;
  EXPECT_NE(metrics.find(R"(berth_llm_tokens_total{api="openai-completions",kind="output"} 900)"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find(id), std::string::npos) << "no user ids in /metrics";

  // The log of recent calls: the user's own, and any user's for an admin.
  auto log = berth_->Get("/api/usage/requests?limit=5", token);
  ASSERT_EQ(log.status, 200) << log.body;
  ASSERT_EQ(log.Json()["requests"].size(), 1u) << log.body;
  const json call = log.Json()["requests"][0];
  EXPECT_EQ(call["provider"], "work");
  EXPECT_EQ(call["model"], "gpt-4o");
  EXPECT_EQ(call["api"], "openai-completions");
  EXPECT_EQ(call["status"], 200);
  EXPECT_EQ(call["outcome"], "ok");
  EXPECT_EQ(call["inputTokens"], 100);
  EXPECT_EQ(call["outputTokens"], 900);
  EXPECT_DOUBLE_EQ(call["costUsd"].get<double>(), kCallNano / 1e9);
  EXPECT_TRUE(call["at"].is_string());
  EXPECT_FALSE(call.contains("userId"));
  EXPECT_EQ(berth_->Get("/api/usage/requests?limit=0", token).status, 400);
  EXPECT_EQ(berth_->Get("/api/usage/requests?limit=x", token).status, 400);
  EXPECT_EQ(berth_->Get("/api/usage/requests?limit=100000", token).status, 400);
  EXPECT_EQ(berth_->Get("/api/admin/usage/requests", token).status, 403);
  auto admin_log = berth_->Get("/api/admin/usage/requests?userId=" + id, kAdminToken);
  ASSERT_EQ(admin_log.status, 200) << admin_log.body;
  ASSERT_EQ(admin_log.Json()["requests"].size(), 1u);
  EXPECT_EQ(admin_log.Json()["requests"][0]["userId"], id);
}

TEST_P(UsageE2e, TwoReplicasHoldOneBudgetTogether) {
  if (GetParam() != E2eStore::kPostgres) GTEST_SKIP() << "SQLite serves one berth at a time";
  auto replica = StartBerth(BaseEnv());
  ASSERT_NE(replica, nullptr);
  auto [id, token, key] = UserWithAgent();
  // $0.05: room for five calls' worst cases ($0.01006 each) spent at $0.00925 each.
  ASSERT_EQ(
      berth_
          ->Send("PUT", "/api/admin/users/" + id + "/limits", R"({"usdPerDay":0.05})", kAdminToken)
          .status,
      200);
  constexpr int kCalls = 16;
  std::vector<int> status(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      const BerthProcess& via = i % 2 == 0 ? *berth_ : *replica;
      status[i] = via.Send("POST", "/api/internal/llm/work/chat/completions", kChat, key).status;
    });
  }
  for (auto& t : threads) t.join();
  int admitted = 0;
  for (int s : status) {
    EXPECT_TRUE(s == 200 || s == 429) << s;
    admitted += s == 200 ? 1 : 0;
  }
  EXPECT_GE(admitted, 4);
  EXPECT_LE(admitted, 5);
  // Each replica writes its usage every 2 s; the listing adds this replica's unwritten part.
  HttpResult usage;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    usage = berth_->Get("/api/admin/usage?userId=" + id, kAdminToken);
    ASSERT_EQ(usage.status, 200) << usage.body;
  } while (usage.Json()["totals"]["requests"] != admitted &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(usage.Json()["totals"]["requests"], admitted);
  EXPECT_LE(usage.Json()["totals"]["costUsd"].get<double>(), 0.05);
}

BERTH_E2E_ON_EVERY_STORE(UsageE2e);

}  // namespace
}  // namespace berth::testing
