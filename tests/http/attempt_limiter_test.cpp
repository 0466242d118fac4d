#include "http/attempt_limiter.hpp"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(AttemptLimiter, BlocksAPeerAfterTooManyFailuresWithinTheWindow) {
  AttemptLimiter limiter({3, 60s, 300s, 100});
  const auto t0 = Clock::now();
  for (int i = 0; i < 2; ++i) limiter.RecordFailure("10.0.0.2", t0);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.2", t0), 0);
  limiter.RecordFailure("10.0.0.2", t0);
  EXPECT_GT(limiter.BlockedFor("10.0.0.2", t0), 299);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.3", t0), 0);  // per address
  EXPECT_GT(limiter.BlockedFor("10.0.0.2", t0 + 299s), 0);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.2", t0 + 301s), 0);  // the block ends
}

TEST(AttemptLimiter, FailuresSpreadBeyondTheWindowNeverBlock) {
  AttemptLimiter limiter({3, 60s, 300s, 100});
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i) limiter.RecordFailure("10.0.0.2", t0 + i * 61s);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.2", t0 + 10 * 61s), 0);
}

TEST(AttemptLimiter, TrackedPeersStayBoundedAndBlocksSurviveWhileRoomIsMade) {
  AttemptLimiter limiter({2, 60s, 300s, 4});
  const auto t0 = Clock::now();
  limiter.RecordFailure("blocked", t0);
  limiter.RecordFailure("blocked", t0);
  for (int i = 0; i < 2; ++i) limiter.RecordFailure("old-" + std::to_string(i), t0);
  // Later, with the table full, expired entries make room; the blocked peer stays blocked.
  limiter.RecordFailure("new", t0 + 120s);
  limiter.RecordFailure("newer", t0 + 120s);
  EXPECT_EQ(limiter.tracked(), 3u);  // the two expired "old-" entries made room
  EXPECT_GT(limiter.BlockedFor("blocked", t0 + 120s), 0);
}

TEST(AttemptLimiter, AFloodOfFreshAddressesNeverGrowsTheTablePastItsBound) {
  AttemptLimiter limiter({10, 60s, 300s, 64});
  const auto t0 = Clock::now();
  for (int i = 0; i < 10000; ++i) {
    limiter.RecordFailure("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
    ASSERT_LE(limiter.tracked(), 64u);
  }
}

}  // namespace
}  // namespace berth::http
