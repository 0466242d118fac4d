// The pause tier (LifecycleOptions::idle_pause): the reaper pauses an idle agent before its idle
// timeout stops it, the next use resumes it without a new container, and a paused agent is
// neither health-checked nor handed out warm. Time is the fake clock's; the same behaviour on the
// real engine is ChatE2e.AnIdleAgentIsPausedAndTheNextChatResumesIt (tests/chat_e2e), and the
// engine's pause itself is in tests/runtime/docker_runtime_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lifecycle/manager_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using runtime::ContainerState;
using Reaped = std::vector<std::string>;

class IdlePauseTest : public berth::testing::ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    options_.idle_pause = 120s;
  }
  ContainerState StateOf(const std::string& id) { return runtime_->Snapshot().at(id).state; }
  std::string ViewStatus() {
    auto view = Manager().GetAgent(user_);
    EXPECT_TRUE(view.ok());
    return view.ok() ? std::string(view->StatusName()) : "";
  }
  // Until the event watcher has seen what the fake engine emitted.
  void SettleEvents() { std::this_thread::sleep_for(50ms); }
};

TEST_F(IdlePauseTest, IdlePastThePauseItIsPausedThenStoppedPastItsTimeout) {
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  fake_clock_->Advance(119s);
  EXPECT_EQ(*Manager().Reap(), Reaped{});
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kRunning);
  EXPECT_EQ(runtime_->pauses.load(), 0);

  fake_clock_->Advance(2s);
  EXPECT_EQ(*Manager().Reap(), Reaped{});  // paused, not stopped
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kPaused);
  EXPECT_EQ(ViewStatus(), "paused");
  EXPECT_EQ(Manager().pauses_total(), 1);
  EXPECT_EQ(*Manager().Reap(), Reaped{});  // paused once
  EXPECT_EQ(runtime_->pauses.load(), 1);

  fake_clock_->Advance(30min);  // the default idle timeout
  EXPECT_EQ(*Manager().Reap(), Reaped{user_});
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kExited);
  EXPECT_EQ(ViewStatus(), "stopped");
  EXPECT_EQ(Manager().reaps_total(), 1);
}

TEST_F(IdlePauseTest, TheNextUseResumesThePausedContainerWithoutANewOne) {
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  fake_clock_->Advance(5min);
  ASSERT_EQ(*Manager().Reap(), Reaped{});
  ASSERT_EQ(StateOf(started->container_id), ContainerState::kPaused);

  auto resumed = Manager().EnsureRunning(user_);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->container_id, started->container_id);
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kRunning);
  EXPECT_EQ(runtime_->unpauses.load(), 1);
  EXPECT_EQ(runtime_->creates.load(), 1);
  EXPECT_EQ(runtime_->starts.load(), 1);
  EXPECT_EQ(ViewStatus(), "running");
  // Active again: the next pause is idle_pause from now.
  fake_clock_->Advance(60s);
  EXPECT_EQ(*Manager().Reap(), Reaped{});
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kRunning);
}

TEST_F(IdlePauseTest, APausedAgentIsNeverHandedOutWarmEvenWhenPausedOutsideBerth) {
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(runtime_->Pause(started->container_id).ok());  // another replica, an operator
  SettleEvents();
  EXPECT_EQ(ViewStatus(), "paused");
  const int probes = probe_->probes.load();
  auto again = Manager().EnsureRunning(user_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kRunning);
  EXPECT_GT(probe_->probes.load(), probes);  // resumed and checked, not answered from memory
}

TEST_F(IdlePauseTest, APauseNoEngineEventTellsOfReachesTheOtherReplicasThroughTheListener) {
  runtime_->pause_events = false;  // as on Swarm
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  std::vector<std::string> told;  // what berth publishes on the change feed (cli/main.cpp)
  Manager().SetPauseListener([&](const std::string& user_id) { told.push_back(user_id); });
  fake_clock_->Advance(5min);
  ASSERT_EQ(*Manager().Reap(), Reaped{});
  ASSERT_EQ(StateOf(started->container_id), ContainerState::kPaused);
  EXPECT_EQ(told, std::vector<std::string>{user_});

  // Here as another replica: resumed by a use, then paused silently by the leader elsewhere.
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_TRUE(runtime_->Pause(started->container_id).ok());
  SettleEvents();
  EXPECT_EQ(ViewStatus(), "running") << "nothing has told this replica yet";
  // The leader's notice arrives: the next use resumes the agent instead of answering from memory
  // to a frozen gateway.
  Manager().PausedElsewhere(user_);
  EXPECT_EQ(ViewStatus(), "paused");
  const int unpauses = runtime_->unpauses.load();
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  EXPECT_EQ(runtime_->unpauses.load(), unpauses + 1);
  EXPECT_EQ(StateOf(started->container_id), ContainerState::kRunning);
  EXPECT_EQ(told.size(), 1u) << "only the reaper's own pauses are told";
}

TEST_F(IdlePauseTest, APausedAgentIsNotHealthCheckedAndNotFailed) {
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  fake_clock_->Advance(5min);
  ASSERT_EQ(*Manager().Reap(), Reaped{});
  probe_->status = 0;  // a frozen gateway answers nothing
  const int probes = probe_->probes.load();
  for (int i = 0; i < 3; ++i) {
    auto checked = Manager().HealthCheck();
    ASSERT_TRUE(checked.ok());
    EXPECT_TRUE(checked->empty());
  }
  EXPECT_EQ(probe_->probes.load(), probes);
  EXPECT_EQ(ViewStatus(), "paused");
}

TEST_F(IdlePauseTest, WatchersHearOfThePauseAndOfTheResume) {
  std::mutex mu;
  std::vector<std::string> heard;  // "status[/phase]", "paused"
  Manager().SetObserver([&](const AgentEvent& e) {
    std::lock_guard lock(mu);
    heard.push_back(e.paused ? "paused"
                             : std::string(AgentStatusName(e.status)) +
                                   (e.phase.empty() ? "" : "/" + e.phase));
  });
  auto heard_now = [&] {
    std::lock_guard lock(mu);
    return heard;
  };
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  fake_clock_->Advance(5min);
  ASSERT_EQ(*Manager().Reap(), Reaped{});
  SettleEvents();
  ASSERT_FALSE(heard_now().empty());
  EXPECT_EQ(heard_now().back(), "paused");

  auto resumed = Manager().EnsureRunning(user_);
  ASSERT_TRUE(resumed.ok());
  SettleEvents();
  const auto all = heard_now();
  const auto pause = std::find(all.begin(), all.end(), "paused");
  ASSERT_NE(pause, all.end());
  const std::vector<std::string> after(pause + 1, all.end());
  ASSERT_GE(after.size(), 2u);
  EXPECT_EQ(after.front(), "starting/resuming");
  EXPECT_EQ(after.back(), "running");
  EXPECT_EQ(std::count(after.begin(), after.end(), "paused"), 0);
}

TEST_F(IdlePauseTest, ZeroNeverPausesAndNeitherDoesAnAgentWithoutAnIdleTimeout) {
  options_.idle_pause = 0s;
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  fake_clock_->Advance(29min);
  EXPECT_EQ(*Manager().Reap(), Reaped{});
  EXPECT_EQ(runtime_->pauses.load(), 0);

  manager_->Stop();
  manager_.reset();
  options_.idle_pause = 60s;
  const std::string bob = NewUser("bob");
  ASSERT_TRUE(containers_->SetIdleTimeout(bob, 0).ok());  // kept running on purpose
  ASSERT_TRUE(Manager().EnsureRunning(bob).ok());
  fake_clock_->Advance(2h);
  EXPECT_EQ(*Manager().Reap(), Reaped{user_});  // the default timeout; bob has none
  EXPECT_EQ(runtime_->Snapshot().size(), 2u);
  for (const auto& [id, c] : runtime_->Snapshot()) {
    if (c.spec.name == "mosaic-user-" + bob) {
      EXPECT_EQ(c.state, ContainerState::kRunning);
    }
  }
  EXPECT_EQ(runtime_->pauses.load(), 0);
}

}  // namespace
}  // namespace berth::lifecycle
