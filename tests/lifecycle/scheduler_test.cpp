#include "lifecycle/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "lifecycle/leadership.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_leadership.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using Names = std::vector<std::string>;

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() {
    scheduler_.Add({"flush", 5s, Scheduler::Scope::kEveryReplica, [this] { ++flushes_; }, true});
    scheduler_.Add({"reap", 60s, Scheduler::Scope::kLeaderOnly, [this] { ++reaps_; }});
    scheduler_.Add({"sweep", 30s, Scheduler::Scope::kLeaderOnly, [this] { ++sweeps_; }});
  }

  berth::testing::FakeClock clock_;
  berth::testing::FakeLeadership leadership_;
  Scheduler scheduler_{clock_, leadership_};
  int flushes_ = 0;
  int reaps_ = 0;
  int sweeps_ = 0;
};

TEST_F(SchedulerTest, EachPassRunsOnceItsIntervalHasPassedOnTheInjectedClock) {
  EXPECT_EQ(scheduler_.RunDue(), Names{});
  clock_.Advance(5s);
  EXPECT_EQ(scheduler_.RunDue(), Names{"flush"});
  EXPECT_EQ(scheduler_.RunDue(), Names{});  // not again until another interval
  clock_.Advance(25s);
  EXPECT_EQ(scheduler_.RunDue(), (Names{"flush", "sweep"}));
  clock_.Advance(30s);
  EXPECT_EQ(scheduler_.RunDue(), (Names{"flush", "reap", "sweep"}));
  EXPECT_EQ(flushes_, 3);
  EXPECT_EQ(reaps_, 1);
  EXPECT_EQ(sweeps_, 2);
}

TEST_F(SchedulerTest, FleetWidePassesRunOnlyWhileLeadingAndLeadershipIsAskedEachTime) {
  leadership_.leader = false;
  clock_.Advance(60s);
  EXPECT_EQ(scheduler_.RunDue(), Names{"flush"});  // every replica flushes its own activity
  EXPECT_EQ(leadership_.asked, 2);                 // once before each fleet-wide pass
  clock_.Advance(60s);
  EXPECT_EQ(scheduler_.RunDue(), Names{"flush"});
  // Regained: the next due passes run; lost again: they stop.
  leadership_.leader = true;
  clock_.Advance(60s);
  EXPECT_EQ(scheduler_.RunDue(), (Names{"flush", "reap", "sweep"}));
  leadership_.leader = false;
  clock_.Advance(60s);
  EXPECT_EQ(scheduler_.RunDue(), Names{"flush"});
  EXPECT_EQ(reaps_, 1);
  EXPECT_EQ(sweeps_, 1);
}

TEST_F(SchedulerTest, StopRunsTheFinalPassesOnlyWhenTheLoopRan) {
  scheduler_.Stop();
  EXPECT_EQ(flushes_, 0);
  Scheduler started(clock_, leadership_);
  std::atomic<int> flushes{0};
  started.Add({"flush", 1h, Scheduler::Scope::kEveryReplica, [&] { ++flushes; }, true});
  started.Add({"reap", 1h, Scheduler::Scope::kLeaderOnly, [&] { ++reaps_; }});
  started.Start();
  started.Stop();  // wakes the loop at once; no pass was due
  EXPECT_EQ(flushes, 1);
  EXPECT_EQ(reaps_, 0);
}

TEST(AlwaysLeader, Leads) {
  AlwaysLeader leader;
  EXPECT_TRUE(leader.IsLeader());
}

}  // namespace
}  // namespace berth::lifecycle
