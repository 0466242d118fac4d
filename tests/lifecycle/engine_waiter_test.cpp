#include "lifecycle/engine_waiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "image/agent_contract.hpp"
#include "mocks/fake_clock.hpp"
#include "mocks/fake_runtime.hpp"
#include "service/service_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;

class EngineWaiterTest : public berth::testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    options_.api_url = "http://172.30.0.1:3001/api";
    options_.image = "berth/test-agent:dev";
    options_.contract = image::AgentContract();
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
    agents_ =
        std::make_unique<AgentManager>(options_, store_, runtime_, containers_, providers_,
                                       secrets_, std::make_shared<berth::testing::FakeProbe>(),
                                       std::make_shared<berth::testing::FakeClock>());
  }
  void TearDown() override { agents_->Stop(); }

  // Polls (the waiter works on its own thread) until `done` or 5 s.
  template <typename F>
  bool Eventually(F done) {
    for (int i = 0; i < 500; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }

  LifecycleOptions options_;
  std::shared_ptr<berth::testing::FakeRuntime> runtime_ =
      std::make_shared<berth::testing::FakeRuntime>();
  std::unique_ptr<AgentManager> agents_;
};

TEST_F(EngineWaiterTest, InitializesOnceTheEngineAnswersAndStartsTheLoops) {
  runtime_->SetNetworkError(Unavailable("engine down"));
  EngineWaiter waiter(*agents_, 10ms);
  waiter.Start();
  // It keeps trying while the engine is down; agent operations stay unavailable.
  const int before = runtime_->calls.load();
  ASSERT_TRUE(Eventually([&] { return runtime_->calls.load() >= before + 3; }));
  EXPECT_FALSE(agents_->initialized());
  runtime_->SetNetworkError(std::nullopt);
  ASSERT_TRUE(Eventually([&] { return agents_->initialized() && agents_->events_live(); }));
  waiter.Stop();
}

TEST_F(EngineWaiterTest, StopEndsTheWaitWithoutInitializing) {
  runtime_->SetNetworkError(Unavailable("engine down"));
  EngineWaiter waiter(*agents_, std::chrono::hours(1));
  waiter.Start();
  ASSERT_TRUE(Eventually([&] { return runtime_->calls.load() > 0; }));
  waiter.Stop();  // returns although the next try is an hour away
  EXPECT_FALSE(agents_->initialized());
}

}  // namespace
}  // namespace berth::lifecycle
