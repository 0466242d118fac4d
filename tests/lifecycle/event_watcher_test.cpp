#include "lifecycle/event_watcher.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using runtime::ContainerEvent;
using runtime::ContainerEventKind;

class EventWatcherTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    user_ = NewUser();
    auto started = Starter().EnsureRunningAndWait(key());
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    container_id_ = started->container_id;
    notifier_.SetObserver([this](const AgentEvent& e) { last_ = e; });
    watcher_ = std::make_unique<EventWatcher>(*runtime_, registry_, *records_, notifier_, instance_,
                                              [this] { ++resyncs_; });
  }
  AgentKey key() const { return AgentKey::User(user_); }
  ContainerEvent Event(ContainerEventKind kind, std::optional<int> code = std::nullopt) const {
    ContainerEvent e;
    e.container_id = container_id_;
    e.kind = kind;
    e.exit_code = code;
    e.time = std::chrono::system_clock::now();  // the in-memory engine's clock
    return e;
  }

  std::unique_ptr<EventWatcher> watcher_;
  std::string user_;
  std::string container_id_;
  std::optional<AgentEvent> last_;
  std::atomic<int> resyncs_{0};
};

TEST_F(EventWatcherTest, CleanExitIsStoppedAndLosesTheWarmPath) {
  watcher_->Handle(Event(ContainerEventKind::kDied, 0));
  const AgentEntry entry = Entry(key());
  EXPECT_EQ(entry.status, AgentStatus::kStopped);
  EXPECT_FALSE(entry.Warm());
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->status, "stopped");
  ASSERT_TRUE(last_.has_value());
  EXPECT_EQ(last_->status, AgentStatus::kStopped);
}

TEST_F(EventWatcherTest, OomThenDeathIsAFailureThatSaysOom) {
  watcher_->Handle(Event(ContainerEventKind::kOomKilled));
  EXPECT_EQ(Entry(key()).status, AgentStatus::kRunning);  // the death that follows tells
  watcher_->Handle(Event(ContainerEventKind::kDied, 137));
  const AgentEntry entry = Entry(key());
  EXPECT_EQ(entry.status, AgentStatus::kFailed);
  EXPECT_EQ(entry.error, "the agent container exited with code 137 (OOM-killed)");
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->status, "failed");
}

TEST_F(EventWatcherTest, ADeathWithAReasonAndNoExitCodeIsAFailureWithThatReason) {
  // What the swarm runtime reports when the node running the agent was lost.
  ContainerEvent lost = Event(ContainerEventKind::kDied);
  lost.error = "node worker-2 is down: heartbeat failure";
  watcher_->Handle(lost);
  const AgentEntry entry = Entry(key());
  EXPECT_EQ(entry.status, AgentStatus::kFailed);
  EXPECT_EQ(entry.error, "node worker-2 is down: heartbeat failure");
  EXPECT_FALSE(entry.Warm());
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->status, "failed");
}

TEST_F(EventWatcherTest, RemovalOutsideBerthFailsTheAgentAndForgetsTheContainer) {
  watcher_->Handle(Event(ContainerEventKind::kDestroyed));
  EXPECT_EQ(Entry(key()).error, "the agent container was removed outside berth");
  EXPECT_FALSE(registry_.Lock().KeyOfContainer(container_id_).has_value());
}

TEST_F(EventWatcherTest, OtherEventsAndOtherContainersAreIgnored) {
  for (auto kind : {ContainerEventKind::kStarted, ContainerEventKind::kKilled,
                    ContainerEventKind::kStopped, ContainerEventKind::kOther}) {
    watcher_->Handle(Event(kind, 1));
  }
  ContainerEvent foreign = Event(ContainerEventKind::kDied, 1);
  foreign.container_id = "not-ours";
  watcher_->Handle(foreign);
  EXPECT_TRUE(Entry(key()).Warm());
  EXPECT_FALSE(last_.has_value());
}

TEST_F(EventWatcherTest, AnEventFromBeforeTheCurrentRunIsStale) {
  // The die of the stop berth made before it started the container again, delivered late.
  ContainerEvent late = Event(ContainerEventKind::kDied, 0);
  const auto started_at = Entry(key()).container_started_at;
  ASSERT_TRUE(started_at.has_value());
  late.time = *started_at - std::chrono::milliseconds(1);
  watcher_->Handle(late);
  late.kind = ContainerEventKind::kOomKilled;
  watcher_->Handle(late);
  const AgentEntry entry = Entry(key());
  EXPECT_TRUE(entry.Warm());
  EXPECT_FALSE(entry.oom_seen);
  EXPECT_FALSE(last_.has_value());
}

TEST_F(EventWatcherTest, ADeathDuringAStopIsBerthsOwnDoing) {
  {
    auto locked = registry_.Lock();
    locked.Get(key()).SetStatus(AgentStatus::kStopping);
  }
  watcher_->Handle(Event(ContainerEventKind::kDied, 143));
  EXPECT_EQ(Entry(key()).status, AgentStatus::kStopping);
  EXPECT_FALSE(last_.has_value());
}

TEST_F(EventWatcherTest, LiveWhileSubscribedAndResyncsAfterTheStreamReturns) {
  registry_.SetEventsLive(false);
  watcher_->Start();
  ASSERT_TRUE(Eventually([&] { return registry_.events_live(); }));
  EXPECT_EQ(resyncs_, 0);  // the first subscription follows Initialize's reconcile
  runtime_->Crash(container_id_, 1);
  ASSERT_TRUE(Eventually([&] { return Entry(key()).status == AgentStatus::kFailed; }));
  runtime_->DropEventStreams();
  ASSERT_TRUE(Eventually([&] { return resyncs_ == 1 && registry_.events_live(); }));
  watcher_->Stop();
  EXPECT_FALSE(registry_.events_live());
}

}  // namespace
}  // namespace berth::lifecycle
