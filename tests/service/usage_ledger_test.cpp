// The ledger's log of recent LLM calls over a real SQLite store: batched, bounded, listed with
// what is not written yet.
#include "service/usage_ledger.hpp"

#include <gtest/gtest.h>

#include <string>

#include "service_fixture.hpp"

namespace berth::testing {
namespace {

using UsageLedgerTest = ServiceTest;

store::LlmRequestLogEntry Call(const std::string& user, int n) {
  store::LlmRequestLogEntry e;
  e.user_id = user;
  e.provider = "work";
  e.model = "m" + std::to_string(n);
  e.api = "openai-completions";
  e.status = 200;
  e.outcome = "ok";
  return e;
}

TEST_F(UsageLedgerTest, TheLogIsWrittenInBatchesAndABusyUsersOldestAreNeverWritten) {
  const std::string busy = NewUser("busy");
  const std::string calm = NewUser("calm");
  service::UsageLedger ledger(store_, clock_);
  const int extra = 25;
  for (int i = 0; i < static_cast<int>(store::Store::kRequestLogPerUser) + extra; ++i) {
    ledger.Log(Call(busy, i));
    if (i % 500 == 0) ledger.Log(Call(calm, i));
  }
  // Nothing is written before the flush; the listing shows the pending calls all the same.
  EXPECT_TRUE(store_->ListRequestLog(std::nullopt, 10)->empty());
  ASSERT_TRUE(ledger.Flush().ok());
  auto written = store_->ListRequestLog(busy, store::Store::kRequestLogPerUser);
  ASSERT_TRUE(written.ok());
  ASSERT_EQ(written->size(), store::Store::kRequestLogPerUser);
  EXPECT_EQ(written->front().model,
            "m" + std::to_string(store::Store::kRequestLogPerUser + extra - 1));
  EXPECT_EQ(written->back().model, "m" + std::to_string(extra));
  EXPECT_GT(written->front().at_ms, 0) << "stamped from the clock";
  // The store's ids say how many rows were ever inserted: the busy user's oldest never were.
  auto all = store_->ListRequestLog(std::nullopt, store::Store::kRequestLogPerUser);
  ASSERT_TRUE(all.ok());
  int64_t max_id = 0;
  for (const auto& e : *all) max_id = std::max(max_id, e.id);
  EXPECT_EQ(max_id, static_cast<int64_t>(store::Store::kRequestLogPerUser) + 3);
  auto calm_log = ledger.ListRequests(calm, 10);
  ASSERT_TRUE(calm_log.ok());
  ASSERT_EQ(calm_log->size(), 3u);
  EXPECT_EQ(calm_log->front().model, "m1000");

  store::LlmRequestLogEntry slow = Call(calm, 7777);
  slow.duration_ms = 60'000;
  const int64_t ended = ToUnixMillis(clock_->Now());
  ledger.Log(slow);
  auto with_pending = ledger.ListRequests(calm, 2);
  ASSERT_TRUE(with_pending.ok());
  ASSERT_EQ(with_pending->size(), 2u);
  EXPECT_EQ((*with_pending)[0].model, "m7777");
  EXPECT_LE((*with_pending)[0].at_ms, ended - 60'000 + 1000) << "stamped when the call began";
  EXPECT_GE((*with_pending)[0].at_ms, ended - 60'000);
  EXPECT_EQ((*with_pending)[1].model, "m1000");
}

}  // namespace
}  // namespace berth::testing
