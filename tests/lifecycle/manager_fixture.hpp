#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_manager.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_leadership.hpp"
#include "mocks/fake_runtime.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {

// An AgentManager over real SQLite services, the in-memory engine (FakeRuntime, FakeProbe) and
// the fake clock, with its scheduler driven by hand (Reap(), HealthCheck()): the fixture of the
// manager's unit tests. Tests may change options_ before the first Manager() call.
class ManagerTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    clock_ = fake_clock_;
    options_.api_url = "http://172.30.0.1:3001/api";
    options_.image = "berth/test-agent:dev";
    options_.contract = image::AgentContract();
    options_.ready_poll_interval = std::chrono::milliseconds(5);
    options_.start_timeout = std::chrono::seconds(2);
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval =
        options_.pool_interval = std::chrono::hours(1);
    user_ = NewUser();
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  // The manager, made, initialized and started (its event stream live) on first use.
  lifecycle::AgentManager& Manager() {
    if (!manager_) {
      manager_ = std::make_unique<lifecycle::AgentManager>(options_, store_, runtime_, containers_,
                                                           providers_, secrets_, probe_, clock_,
                                                           leadership_);
      EXPECT_TRUE(manager_->Initialize().ok());
      manager_->Start();
      for (int i = 0; i < 500 && !manager_->events_live(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      EXPECT_TRUE(manager_->events_live());
    }
    return *manager_;
  }

  std::shared_ptr<FakeClock> fake_clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeRuntime> runtime_ = std::make_shared<FakeRuntime>();
  std::shared_ptr<FakeProbe> probe_ = std::make_shared<FakeProbe>();
  std::shared_ptr<FakeLeadership> leadership_ = std::make_shared<FakeLeadership>();
  lifecycle::LifecycleOptions options_;
  std::unique_ptr<lifecycle::AgentManager> manager_;
  std::string user_;
};

}  // namespace berth::testing
