// Limits on berth's LLM gateway (service/llm_budget.hpp) in process: concurrent calls of a user
// near the limit never spend more than it, refusals are OpenAI-shaped 429s the official client
// surfaces, and the windows reset with their period (a clock moved by hand).
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "http/llm_gateway_fixture.hpp"
#include "support/run_command.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kBody[] =
    R"({"model":"gpt-4o","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]})";
// What the fake provider's answer costs at gpt-4o's built-in price: 100 x $2.50 + 900 x $10.
constexpr int64_t kCallCost = 100 * 2'500 + 900 * 10'000;

class LlmBudgetTest : public LlmGatewayTest {
 protected:
  std::string Setup(store::LlmLimits limits) {
    const std::string uid = NewUser();
    const std::string key = AddProvider(uid, "b", ProviderUrl("/budgeted"));
    limits.user_id = uid;
    EXPECT_TRUE(budget_->SetLimits(limits).ok());
    first_promise_.set_value();
    uid_ = uid;
    return key;
  }
  HttpResult Chat(const std::string& key, const std::string& body = kBody) {
    return Call("POST", "/b/chat/completions", body, {{"Authorization", "Bearer " + key}});
  }
  int64_t Spent() {
    auto rows = usage_->List({uid_, "2000-01-01", "2100-01-01"});
    EXPECT_TRUE(rows.ok());
    int64_t total = 0;
    for (const auto& row : *rows) total += row.cost_nano_usd;
    return total;
  }
  std::string uid_;
};

TEST_F(LlmBudgetTest, ConcurrentCallsNeverSpendMoreThanTheDailyBudgetAndTheNextDayResetsIt) {
  store::LlmLimits limits;
  limits.nano_usd_per_day = 50'000'000;  // $0.05: room for about five calls' worst cases
  const std::string key = Setup(limits);
  constexpr int kCalls = 12;
  std::vector<HttpResult> results(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] { results[i] = Chat(key); });
  }
  for (auto& t : threads) t.join();
  int admitted = 0;
  for (const HttpResult& r : results) {
    if (r.status == 200) {
      ++admitted;
      continue;
    }
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "budget_exceeded") << r.body;
    EXPECT_NE(r.body.find("daily LLM limit ($0.05)"), std::string::npos) << r.body;
  }
  // Each worst case is ~$0.01006, each call spends $0.00925: four fit at once, a fifth only
  // once some have settled; never a sixth.
  EXPECT_GE(admitted, 4);
  EXPECT_LE(admitted, 5);
  EXPECT_EQ(Spent(), admitted * kCallCost);
  // One by one, the rest of the day's room: five calls in all ($0.04625), then a worst case
  // ($0.01006) no longer fits.
  for (int more = 0; more < 3 && Chat(key).status == 200; ++more) ++admitted;
  EXPECT_EQ(admitted, 5);
  EXPECT_EQ(Spent(), 5 * kCallCost);
  EXPECT_LE(Spent(), *limits.nano_usd_per_day);
  EXPECT_EQ(Chat(key).status, 429) << "still the same day";

  budget_clock_->Advance(24h);
  EXPECT_EQ(Chat(key).status, 200) << "a new day, a new budget";
}

TEST_F(LlmBudgetTest, AMinuteLimitSaysWhenToRetryAndFreesUpTheNextMinute) {
  store::LlmLimits limits;
  limits.requests_per_minute = 2;
  const std::string key = Setup(limits);
  EXPECT_EQ(Chat(key).status, 200);
  EXPECT_EQ(Chat(key).status, 200);
  HttpResult third = Chat(key);
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_NE(third.body.find("per-minute LLM limit (2 requests)"), std::string::npos) << third.body;
  ASSERT_TRUE(third.headers.contains("retry-after"));
  const int wait = std::stoi(third.headers["retry-after"]);
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  budget_clock_->Advance(std::chrono::seconds(wait));
  EXPECT_EQ(Chat(key).status, 200);
  // The refusal is in the log of recent calls, between the admitted ones, with nothing charged.
  auto log = usage_->ListRequests(uid_, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 4u);
  EXPECT_EQ((*log)[1].outcome, "refused");
  EXPECT_EQ((*log)[1].status, 429);
  EXPECT_EQ((*log)[1].input_tokens, 0);
  EXPECT_EQ((*log)[0].outcome, "ok");
}

TEST_F(LlmBudgetTest, AModelWithoutAPriceIsRefusedUnderAUsdLimitOnlyAndTokensCountToo) {
  store::LlmLimits limits;
  limits.nano_usd_per_month = 1'000'000'000;
  const std::string key = Setup(limits);
  const std::string unpriced = R"({"model":"my-own-model","max_tokens":10,"messages":[]})";
  HttpResult refused = Chat(key, unpriced);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("no known price"), std::string::npos) << refused.body;
  // With a token limit only, the same model is counted, not refused; its worst case (the body's
  // bytes / 3 + max_tokens) must fit.
  limits.nano_usd_per_month = std::nullopt;
  limits.tokens_per_day = 1000;
  limits.user_id = uid_;
  ASSERT_TRUE(budget_->SetLimits(limits).ok());
  EXPECT_EQ(Chat(key, unpriced).status, 200);
  HttpResult too_big = Chat(key);  // max_tokens 1000 alone is more than what is left
  EXPECT_EQ(too_big.status, 429) << too_big.body;
}

TEST_F(LlmBudgetTest, TheOfficialOpenAiClientSurfacesTheRefusal) {
  const std::string dir = std::string(BERTH_SOURCE_DIR) + "/tests/node";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/openai/package.json"))
      << "the openai npm client is not installed: scripts/test.sh runs `npm ci` in " << dir;
  store::LlmLimits limits;
  limits.nano_usd_per_day = 1'000'000;  // $0.001: less than one call's worst case
  const std::string key = Setup(limits);
  const std::string command = "cd " + ShellQuote(dir) +
                              " && GATEWAY_URL=http://127.0.0.1:" + std::to_string(server_.port()) +
                              "/api/internal/llm/b AGENT_KEY=" + ShellQuote(key) +
                              " node budget_429.mjs";
  std::string output;
  ASSERT_EQ(RunCommand(command, &output), 0) << output;
  EXPECT_NE(output.find("\"code\":\"budget_exceeded\""), std::string::npos) << output;
  EXPECT_NE(output.find("daily LLM limit ($0.00)"), std::string::npos) << output;
  EXPECT_EQ(Spent(), 0);
}

}  // namespace
}  // namespace berth::testing
