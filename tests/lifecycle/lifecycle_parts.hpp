#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_notifier.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/starter.hpp"
#include "lifecycle/stopper.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_runtime.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {

// The lifecycle's shared parts wired by hand over real SQLite services and the in-memory engine,
// for unit tests of one part at a time (no AgentManager, no background loops). Options are read
// when a part is made: set them in SetUp before calling Starter()/Stopper().
class LifecyclePartsTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    options_.api_url = "http://172.30.0.1:3001/api";
    options_.image = "berth/test-agent:dev";
    options_.contract = image::AgentContract();
    options_.ready_poll_interval = std::chrono::milliseconds(5);
    options_.start_timeout = std::chrono::hours(1);  // tests end waits with the fake clock
    auto instance = store_->InstanceId();
    ASSERT_TRUE(instance.ok());
    instance_ = {*instance, options_.api_url, "replica-under-test"};
    records_ = std::make_unique<lifecycle::AgentRecords>(store_, containers_, fake_clock_);
    registry_.SetEventsLive(true);  // as if the watcher were subscribed
  }

  lifecycle::AgentStarter& Starter() {
    if (!starter_) {
      starter_ = std::make_unique<lifecycle::AgentStarter>(options_, instance_, registry_,
                                                           *records_, *runtime_, *secrets_, *probe_,
                                                           notifier_, *fake_clock_);
    }
    return *starter_;
  }
  lifecycle::AgentStopper& Stopper() {
    if (!stopper_) {
      stopper_ = std::make_unique<lifecycle::AgentStopper>(options_, registry_, *records_,
                                                           *runtime_, notifier_);
    }
    return *stopper_;
  }

  // Waits (bounded) until `done` holds: for background events, never for a timeout.
  template <typename F>
  static bool Eventually(F done) {
    for (int i = 0; i < 2000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
  }

  lifecycle::AgentEntry Entry(const lifecycle::AgentKey& key) {
    auto locked = registry_.Lock();
    return locked.Get(key);
  }

  std::shared_ptr<FakeClock> fake_clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeRuntime> runtime_ = std::make_shared<FakeRuntime>();
  std::shared_ptr<FakeProbe> probe_ = std::make_shared<FakeProbe>();
  lifecycle::LifecycleOptions options_;
  lifecycle::InstanceInfo instance_;
  lifecycle::AgentRegistry registry_;
  lifecycle::AgentNotifier notifier_;
  std::unique_ptr<lifecycle::AgentRecords> records_;
  std::unique_ptr<lifecycle::AgentStarter> starter_;
  std::unique_ptr<lifecycle::AgentStopper> stopper_;
};

}  // namespace berth::testing
