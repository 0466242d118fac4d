// The pause tier (LifecycleOptions::idle_pause): the reaper pauses an idle agent before its idle
// timeout stops it, the next use resumes it without a new container, and a paused agent is
// neither health-checked nor handed out warm. Time is the fake clock's; the same behaviour on the
// real engine is in tests/lifecycle_docker/idle_pause_docker_test.cpp.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_manager.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_runtime.hpp"
#include "service/service_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeProbe;
using berth::testing::FakeRuntime;
using runtime::ContainerState;
using Reaped = std::vector<std::string>;

class IdlePauseTest : public berth::testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    options_.api_url = "http://172.30.0.1:3001/api";
    options_.image = "berth/test-agent:dev";
    options_.contract = image::AgentContract();
    options_.ready_poll_interval = 5ms;
    options_.start_timeout = 2s;
    options_.idle_pause = 120s;
    // The scheduler is driven by hand: Reap() and HealthCheck() below are its passes.
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
    user_ = NewUser();
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
  }
  AgentManager& Manager() {
    if (!manager_) {
      manager_ = std::make_shared<AgentManager>(options_, store_, runtime_, containers_, providers_,
                                                secrets_, probe_, fake_clock_);
      EXPECT_TRUE(manager_->Initialize().ok());
      manager_->Start();
      for (int i = 0; i < 500 && !manager_->events_live(); ++i) std::this_thread::sleep_for(1ms);
      EXPECT_TRUE(manager_->events_live());
    }
    return *manager_;
  }
  ContainerState StateOf(const std::string& id) { return runtime_->Snapshot().at(id).state; }
  std::string ViewStatus() {
    auto view = Manager().GetAgent(user_);
    EXPECT_TRUE(view.ok());
    return view.ok() ? std::string(view->StatusName()) : "";
  }
  // Until the event watcher has seen what the fake engine emitted.
  void SettleEvents() { std::this_thread::sleep_for(50ms); }

  std::shared_ptr<berth::testing::FakeClock> fake_clock_ =
      std::make_shared<berth::testing::FakeClock>();
  std::shared_ptr<FakeRuntime> runtime_ = std::make_shared<FakeRuntime>();
  std::shared_ptr<FakeProbe> probe_ = std::make_shared<FakeProbe>();
  LifecycleOptions options_;
  std::shared_ptr<AgentManager> manager_;
  std::string user_;
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
