#include "lifecycle/activity_tracker.hpp"

#include <gtest/gtest.h>

#include "lifecycle/reaper.hpp"
#include "lifecycle_parts.hpp"
#include "mocks/mock_store.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::Return;

class ActivityTrackerTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    user_ = NewUser();
    tracker_ = std::make_unique<ActivityTracker>(registry_, *records_, *fake_clock_);
    ASSERT_TRUE(Starter().EnsureRunningAndWait(AgentKey::User(user_)).ok());
  }
  std::unique_ptr<ActivityTracker> tracker_;
  std::string user_;
};

TEST_F(ActivityTrackerTest, TouchAndStreamsStampMemoryAndFlushWritesOnce) {
  ASSERT_TRUE(store_->GetUserContainerByUser(user_).ok());
  tracker_->Flush();  // the start's stamp
  fake_clock_->Advance(3min);
  tracker_->Touch(user_);
  const int64_t touched = ToUnixMillis(fake_clock_->Now());
  EXPECT_NE(store_->GetUserContainerByUser(user_)->last_active_at,
            std::optional<int64_t>(touched));  // memory only until flushed
  tracker_->Flush();
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->last_active_at, std::optional<int64_t>(touched));
  {
    StreamGuard stream = tracker_->OpenStream(user_);
    EXPECT_EQ(Entry(AgentKey::User(user_)).open_streams, 1);
    StreamGuard moved = std::move(stream);  // still one stream
    EXPECT_EQ(Entry(AgentKey::User(user_)).open_streams, 1);
    fake_clock_->Advance(1min);
  }
  const AgentEntry entry = Entry(AgentKey::User(user_));
  EXPECT_EQ(entry.open_streams, 0);
  EXPECT_EQ(entry.last_active_ms, std::optional<int64_t>(ToUnixMillis(fake_clock_->Now())));
}

TEST_F(ActivityTrackerTest, TouchOfAnUnknownAgentIsDropped) {
  tracker_->Touch("somebody-else");
  EXPECT_EQ(registry_.Lock().Find(AgentKey::User("somebody-else")), nullptr);
}

TEST(ActivityTrackerFlush, AFailedWriteKeepsTheStampsForTheNextFlush) {
  auto store = std::make_shared<::testing::StrictMock<berth::testing::MockStore>>();
  auto clock = std::make_shared<berth::testing::FakeClock>();
  AgentRecords records(store, nullptr, clock);
  AgentRegistry registry;
  {
    auto locked = registry.Lock();
    AgentEntry& entry = locked.Get(AgentKey::User("u1"));
    entry.record_id = "r1";
    entry.MarkActive(1000);
    locked.Get(AgentKey::System("s1")).record_id = "r2";  // system agents have no idle clock
  }
  ActivityTracker tracker(registry, records, *clock);
  using Stamps = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_CALL(*store, RecordUserActivity(Stamps{{"r1", 1000}}))
      .WillOnce(Return(Unavailable("database is locked")))
      .WillOnce(Return(Status::Ok()));
  tracker.Flush();
  tracker.Flush();  // retried
  EXPECT_CALL(*store, RecordUserActivity(Stamps{})).WillOnce(Return(Status::Ok()));
  tracker.Flush();  // nothing left
}

TEST_F(ActivityTrackerTest, ReaperStopsOnlyAgentsIdlePastTheirTimeoutWithoutStreams) {
  const std::string bob = NewUser("bob");
  ASSERT_TRUE(Starter().EnsureRunningAndWait(AgentKey::User(bob)).ok());
  Reaper reaper(options_, registry_, *records_, Stopper(), *runtime_, *fake_clock_);
  StreamGuard stream = tracker_->OpenStream(bob);
  fake_clock_->Advance(29min);
  EXPECT_TRUE(reaper.Reap()->empty());
  fake_clock_->Advance(2min);
  EXPECT_EQ(*reaper.Reap(), std::vector<std::string>{user_});  // bob streams
  EXPECT_EQ(Entry(AgentKey::User(user_)).status, AgentStatus::kStopped);
  EXPECT_EQ(reaper.reaps_total(), 1);
  stream = {};
  fake_clock_->Advance(30min);
  EXPECT_EQ(*reaper.Reap(), std::vector<std::string>{bob});
}

}  // namespace
}  // namespace berth::lifecycle
