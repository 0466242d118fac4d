// A user's idle timeout set by an admin (ContainerService::SetIdleTimeout) reaches the running
// lifecycle through the hooks at once: the reaper's next pass judges the agent by it. Time is the
// fake clock's; nothing sleeps for a timeout.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_hooks_impl.hpp"
#include "lifecycle/agent_manager.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_runtime.hpp"
#include "service/service_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeProbe;
using berth::testing::FakeRuntime;
using Reaped = std::vector<std::string>;

class IdleTimeoutTest : public berth::testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    LifecycleOptions options;
    options.api_url = "http://172.30.0.1:3001/api";
    options.image = "berth/test-agent:dev";
    options.contract = image::AgentContract();
    options.ready_poll_interval = 5ms;
    options.start_timeout = 2s;
    // The scheduler is driven by hand: Reap() below is the reaper's pass.
    options.reap_interval = options.health_interval = options.activity_flush_interval = 1h;
    manager_ = std::make_shared<AgentManager>(options, store_, runtime_, containers_, providers_,
                                              secrets_, probe_, fake_clock_);
    ASSERT_TRUE(manager_->Initialize().ok());
    manager_->Start();
    for (int i = 0; i < 500 && !manager_->events_live(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(manager_->events_live());
    // As `berth serve` wires them (src/cli/main.cpp).
    hooks_ = std::make_shared<AgentHooksImpl>(manager_);
    containers_->SetAgentHooks(hooks_);
    user_ = NewUser();
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void SetTimeout(const std::string& user_id, int64_t minutes) {
    auto set = containers_->SetIdleTimeout(user_id, minutes);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_EQ(set->idle_timeout_min, minutes);
  }

  std::shared_ptr<berth::testing::FakeClock> fake_clock_ =
      std::make_shared<berth::testing::FakeClock>();
  std::shared_ptr<FakeRuntime> runtime_ = std::make_shared<FakeRuntime>();
  std::shared_ptr<FakeProbe> probe_ = std::make_shared<FakeProbe>();
  std::shared_ptr<AgentManager> manager_;
  std::shared_ptr<AgentHooksImpl> hooks_;
  std::string user_;
};

TEST_F(IdleTimeoutTest, AShorterTimeoutReapsTheRunningAgentAtTheNextPass) {
  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());
  SetTimeout(user_, 5);
  EXPECT_EQ(manager_->GetAgent(user_)->idle_timeout_min, 5);
  fake_clock_->Advance(4min);
  EXPECT_EQ(*manager_->Reap(), Reaped{});
  fake_clock_->Advance(1min);
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});
  EXPECT_EQ(manager_->GetAgent(user_)->status, AgentStatus::kStopped);
}

TEST_F(IdleTimeoutTest, ALongerTimeoutKeepsTheRunningAgentPastTheDefault) {
  const std::string bob = NewUser("bob");
  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());
  ASSERT_TRUE(manager_->EnsureRunning(bob).ok());
  SetTimeout(user_, 120);
  fake_clock_->Advance(31min);
  EXPECT_EQ(*manager_->Reap(), Reaped{bob});  // bob keeps the default, 30
  fake_clock_->Advance(88min);
  EXPECT_EQ(*manager_->Reap(), Reaped{});
  fake_clock_->Advance(1min);
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});
}

TEST_F(IdleTimeoutTest, ZeroNeverReapsUntilATimeoutIsSetAgain) {
  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());
  SetTimeout(user_, 0);
  fake_clock_->Advance(std::chrono::minutes(2 * service::kMaxIdleTimeoutMin));
  EXPECT_EQ(*manager_->Reap(), Reaped{});
  EXPECT_EQ(manager_->GetAgent(user_)->status, AgentStatus::kRunning);
  SetTimeout(user_, 30);  // idle for two weeks already
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});
}

TEST_F(IdleTimeoutTest, TheTimeoutHoldsThroughReconcileAndRestart) {
  SetTimeout(user_, 5);  // before the first start: the record is made with it
  ASSERT_TRUE(store_->GetUserContainerByUser(user_).ok());
  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());
  ASSERT_TRUE(manager_->Reconcile().ok());  // reads every record into the warm view again
  fake_clock_->Advance(5min);
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});

  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());  // started again: reads the record
  SetTimeout(user_, 10);
  ASSERT_TRUE(manager_->RestartAgent(user_).ok());  // the lifecycle writes its state meanwhile
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->idle_timeout_min, 10);
  fake_clock_->Advance(9min);
  EXPECT_EQ(*manager_->Reap(), Reaped{});
  fake_clock_->Advance(1min);
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});
}

TEST_F(IdleTimeoutTest, RefusedValuesChangeNothing) {
  ASSERT_TRUE(manager_->EnsureRunning(user_).ok());
  for (int64_t bad : {int64_t{-1}, int64_t{service::kMaxIdleTimeoutMin} + 1, int64_t{1} << 40}) {
    auto set = containers_->SetIdleTimeout(user_, bad);
    EXPECT_EQ(set.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(containers_->SetIdleTimeout("nobody", 5).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->idle_timeout_min, 30);
  fake_clock_->Advance(29min);
  EXPECT_EQ(*manager_->Reap(), Reaped{});
  fake_clock_->Advance(1min);
  EXPECT_EQ(*manager_->Reap(), Reaped{user_});
}

}  // namespace
}  // namespace berth::lifecycle
