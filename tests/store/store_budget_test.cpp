// The Store contract for LLM limits and budget reservations, the same assertions on every
// backend: a reservation holds only while every window stays within its maxima, and concurrent
// reservations from several store handles (replicas) never overshoot together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers
using StoreBudgetTest = StoreContractTest;

BudgetWindow Window(std::string period, std::optional<int64_t> nano,
                    std::optional<int64_t> tokens = std::nullopt,
                    std::optional<int64_t> requests = std::nullopt, int64_t expires = 1000) {
  return BudgetWindow{std::move(period), nano, tokens, requests, expires};
}

TEST_P(StoreBudgetTest, LimitsAreReplacedReadBackAndNeedTheUser) {
  CreateTwoUsers();
  auto none = store_->GetLlmLimits("u1");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  LlmLimits limits{"u1", 5'000'000'000, std::nullopt, 1000, std::nullopt, 10, std::nullopt, 7};
  ASSERT_OK(store_->SetLlmLimits(limits));
  auto read = store_->GetLlmLimits("u1");
  ASSERT_OK(read);
  EXPECT_EQ(*read, limits);
  limits.nano_usd_per_day = std::nullopt;
  limits.tokens_per_minute = 50;
  limits.updated_at = 8;
  ASSERT_OK(store_->SetLlmLimits(limits));
  EXPECT_EQ(*store_->GetLlmLimits("u1"), limits);
  LlmLimits ghost;
  ghost.user_id = "ghost";
  EXPECT_EQ(store_->SetLlmLimits(ghost).code(), ErrorCode::kNotFound);
  ASSERT_OK(store_->DeleteUser("u1"));
  EXPECT_FALSE(store_->GetLlmLimits("u1")->has_value());
}

TEST_P(StoreBudgetTest, AReservationHoldsOnlyWhileEveryWindowStaysWithinItsMaxima) {
  CreateTwoUsers();
  const std::vector<BudgetWindow> windows = {Window("d:x", 100, 1000),
                                             Window("t:x", std::nullopt, std::nullopt, 2)};
  auto first = store_->ReserveBudget("u1", windows, {60, 10, 1});
  ASSERT_OK(first);
  EXPECT_FALSE(first->has_value());
  // 60 + 60 > 100: refused by the day window, and nothing of it stays.
  auto second = store_->ReserveBudget("u1", windows, {60, 10, 1});
  ASSERT_OK(second);
  EXPECT_EQ(*second, "d:x");
  // Settling gives back the unused part: 60 reserved, 15 spent.
  ASSERT_OK(store_->SettleBudget("u1", {"d:x", "t:x"}, {60, 10, 0}, {15, 3, 0}));
  auto third = store_->ReserveBudget("u1", windows, {60, 10, 1});
  ASSERT_OK(third);
  EXPECT_FALSE(third->has_value()) << "15 spent + 60 <= 100";
  // The request window had 1 (the refused one was not counted), now 2: a third is refused.
  auto fourth = store_->ReserveBudget("u1", windows, {1, 1, 1});
  ASSERT_OK(fourth);
  EXPECT_EQ(*fourth, "t:x");
  // Another user's windows are their own.
  auto other = store_->ReserveBudget("u2", windows, {100, 10, 1});
  ASSERT_OK(other);
  EXPECT_FALSE(other->has_value());
  // Expired windows are forgotten: a fresh day window starts from nothing.
  ASSERT_OK(store_->PruneBudgets(1001));
  auto fresh = store_->ReserveBudget("u1", windows, {100, 10, 1});
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->has_value());
}

TEST_P(StoreBudgetTest, ConcurrentReservationsFromSeveralReplicasNeverOvershoot) {
  CreateTwoUsers();
  // Each handle has a pool of its own on the same database, as replicas do.
  std::vector<SnapshotStorePtr> replicas = {store_, OpenThisWithPool(2), OpenThisWithPool(2)};
  const std::vector<BudgetWindow> windows = {Window("d:x", 1000), Window("m:x", 5000)};
  constexpr int kThreads = 6;
  constexpr int kTries = 20;
  std::atomic<int> admitted{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTries; ++i) {
        auto r = replicas[t % replicas.size()]->ReserveBudget("u1", windows, {70, 1, 1});
        if (!r.ok()) {
          ++errors;
        } else if (!r->has_value()) {
          ++admitted;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(admitted.load(), 1000 / 70) << "exactly as many as fit, never one more";
}

LlmRequestLogEntry Call(const std::string& user, int n) {
  LlmRequestLogEntry e;
  e.user_id = user;
  e.at_ms = 1765000000000 + n;
  e.provider = "work";
  e.model = "m" + std::to_string(n);
  e.api = "openai-completions";
  e.status = 200;
  e.outcome = "ok";
  e.input_tokens = n;
  e.cost_nano_usd = 10 * n;
  e.priced = n % 2 == 0;
  e.duration_ms = 5;
  return e;
}

TEST_P(StoreBudgetTest, TheRequestLogKeepsEachUsersNewestCallsNewestFirst) {
  CreateTwoUsers();
  ASSERT_OK(store_->AddRequestLog({Call("u1", 1), Call("u2", 2), Call("ghost", 3)}));
  ASSERT_OK(store_->AddRequestLog({Call("u1", 4)}));
  auto all = store_->ListRequestLog(std::nullopt, 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u) << "the ghost's entry is dropped, not the batch";
  EXPECT_EQ((*all)[0].model, "m4");
  EXPECT_EQ((*all)[2].model, "m1");
  LlmRequestLogEntry expected = Call("u1", 4);
  expected.id = (*all)[0].id;
  EXPECT_EQ((*all)[0], expected) << "every field read back";
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  auto mine = store_->ListRequestLog(std::string("u2"), 10);
  ASSERT_OK(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].model, "m2");
  EXPECT_EQ(store_->ListRequestLog(std::nullopt, 1)->size(), 1u);

  // Bounded: past kRequestLogPerUser the oldest of that user go, other users' stay.
  std::vector<LlmRequestLogEntry> many;
  for (int i = 0; i < static_cast<int>(Store::kRequestLogPerUser) + 5; ++i) {
    many.push_back(Call("u1", 100 + i));
  }
  ASSERT_OK(store_->AddRequestLog(many));
  auto kept = store_->ListRequestLog(std::string("u1"), Store::kRequestLogPerUser + 50);
  ASSERT_OK(kept);
  ASSERT_EQ(kept->size(), Store::kRequestLogPerUser);
  EXPECT_EQ(kept->front().model, "m" + std::to_string(100 + Store::kRequestLogPerUser + 4));
  EXPECT_EQ(kept->back().model, "m105");
  EXPECT_EQ(store_->ListRequestLog(std::string("u2"), 10)->size(), 1u);

  ASSERT_OK(store_->DeleteUser("u1"));
  EXPECT_TRUE(store_->ListRequestLog(std::string("u1"), 10)->empty());
}

BERTH_ON_EVERY_BACKEND(StoreBudgetTest);

}  // namespace
}  // namespace berth::store
