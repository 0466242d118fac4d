// The lifecycle's side of several replicas on one database: a start waits for another
// replica's start of the same agent (its lease) and reuses or reports what it left; leadership
// by a lease row; the reaper counting activity other replicas flushed. Over real SQLite (the
// lease SQL is the same contract on PostgreSQL: tests/store/store_coordination_test.cpp).
#include <gtest/gtest.h>

#include <thread>

#include "lifecycle/lease_leadership.hpp"
#include "lifecycle/reaper.hpp"
#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;

class ReplicaStartTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    options_.lease_poll = 2ms;
    options_.shared_store = true;  // as on PostgreSQL
    user_ = NewUser();
    auto record = records_->FindOrProvision(AgentKey::User(user_));
    ASSERT_TRUE(record.ok());
    record_ = *record;
    // Another replica is starting this agent.
    auto epoch = store_->AcquireLease("start:" + record_.id, "other-replica", 60'000);
    ASSERT_TRUE(epoch.ok() && epoch->has_value());
    other_ = {"start:" + record_.id, "other-replica", **epoch};
  }
  std::thread StartAsync(Result<AgentEndpoint>& result) {
    AgentStarter& starter = Starter();
    return std::thread([&starter, &result, key = AgentKey::User(user_)] {
      result = starter.EnsureRunningAndWait(key);
    });
  }
  std::string user_;
  AgentRecord record_;
  store::LeaseFence other_;
};

TEST_F(ReplicaStartTest, AStartWaitsWhileAnotherReplicaHoldsTheLeaseThenGoesOn) {
  Result<AgentEndpoint> result = Unavailable("not run");
  std::thread start = StartAsync(result);
  ASSERT_TRUE(
      Eventually([&] { return Entry(AgentKey::User(user_)).phase == "waiting_for_replica"; }));
  std::this_thread::sleep_for(20ms);  // several polls: none may touch the engine
  EXPECT_EQ(runtime_->creates.load(), 0);
  ASSERT_TRUE(store_->ReleaseLease(other_).ok());
  start.join();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(runtime_->creates.load(), 1);
  // Its own lease was released at the end, with a higher epoch than the other's.
  auto again = store_->AcquireLease(other_.name, "third-replica", 1000);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->has_value());
  EXPECT_GT(**again, other_.epoch + 1);
}

TEST_F(ReplicaStartTest, AFailureOfAnotherReplicasStartIsReportedNotRepeated) {
  Result<AgentEndpoint> result = Unavailable("not run");
  std::thread start = StartAsync(result);
  ASSERT_TRUE(
      Eventually([&] { return Entry(AgentKey::User(user_)).phase == "waiting_for_replica"; }));
  // The other replica's start fails and says so on the record, under its lease.
  ASSERT_TRUE(records_->SaveStartState(record_, AgentStatus::kFailed, std::nullopt, other_).ok());
  ASSERT_TRUE(store_->ReleaseLease(other_).ok());
  start.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("another berth replica"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(runtime_->creates.load(), 0);
}

TEST_F(ReplicaStartTest, AStartWhoseLeaseWasTakenOverCannotWriteTheRecord) {
  // This replica's stale fence, once another took the lease: refused, nothing written.
  Status fenced = records_->SaveStartState(record_, AgentStatus::kRunning, std::string("cid-stale"),
                                           {other_.name, "replica-under-test", other_.epoch - 1});
  EXPECT_EQ(fenced.code(), ErrorCode::kAborted) << fenced.ToString();
  auto record = records_->Find(AgentKey::User(user_));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->container_id, std::nullopt);
  EXPECT_NE(record->status, AgentStatus::kRunning);
}

class LeaseLeadershipTest : public berth::testing::LifecyclePartsTest {};

TEST_F(LeaseLeadershipTest, OneReplicaLeadsAndAnotherTakesOverWhenItStops) {
  auto clock = std::make_shared<SystemClock>();
  LeaseLeadership a(store_, "replica-a", 60s, clock);
  LeaseLeadership b(store_, "replica-b", 60s, clock);
  a.Tick();
  b.Tick();
  EXPECT_TRUE(a.IsLeader());
  EXPECT_FALSE(b.IsLeader());
  a.Tick();  // a renewal keeps the term
  EXPECT_TRUE(a.IsLeader());
  const int64_t first = a.Term();
  a.Stop();  // releases the lease
  EXPECT_FALSE(a.IsLeader());
  b.Tick();
  EXPECT_TRUE(b.IsLeader());
  EXPECT_GT(b.Term(), first);
}

TEST_F(LeaseLeadershipTest, ALeaderThatStopsRenewingStopsLeadingBeforeItsLeaseExpires) {
  auto clock = std::make_shared<SystemClock>();
  LeaseLeadership a(store_, "replica-a", 200ms, clock);
  LeaseLeadership b(store_, "replica-b", 200ms, clock);
  a.Tick();
  ASSERT_TRUE(a.IsLeader());
  std::this_thread::sleep_for(160ms);  // past a's belief (3/4 of the lease), before its expiry
  EXPECT_FALSE(a.IsLeader());
  b.Tick();
  EXPECT_FALSE(b.IsLeader());  // the lease itself still runs: never two leaders
  std::this_thread::sleep_for(60ms);
  b.Tick();
  EXPECT_TRUE(b.IsLeader());
  a.Tick();  // a finds it taken
  EXPECT_FALSE(a.IsLeader());
}

TEST(ReplicaIds, AreUniquePerCall) { EXPECT_NE(NewReplicaId(), NewReplicaId()); }

class ReplicaReaperTest : public berth::testing::LifecyclePartsTest {};

TEST_F(ReplicaReaperTest, ActivityAnotherReplicaFlushedKeepsAnAgentFromTheReaper) {
  const std::string user = NewUser();
  ASSERT_TRUE(Starter().EnsureRunningAndWait(AgentKey::User(user)).ok());
  Reaper reaper(options_, registry_, *records_, Stopper(), *runtime_, *fake_clock_);
  fake_clock_->Advance(31min);
  // Another replica served this agent a minute ago and flushed the stamp.
  auto record = records_->Find(AgentKey::User(user));
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(
      store_->RecordUserActivity({{record->id, ToUnixMillis(fake_clock_->Now()) - 60'000}}).ok());
  EXPECT_TRUE(reaper.Reap()->empty());
  EXPECT_EQ(Entry(AgentKey::User(user)).status, AgentStatus::kRunning);
  // An idle timeout set on another replica counts too.
  ASSERT_TRUE(store_->SetUserContainerIdleTimeout(user, 0, 1).ok());  // never reaped
  fake_clock_->Advance(24h);
  EXPECT_TRUE(reaper.Reap()->empty());
  EXPECT_EQ(Entry(AgentKey::User(user)).idle_timeout_min, 0);
}

}  // namespace
}  // namespace berth::lifecycle
