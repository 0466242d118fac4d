#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "image/agent_contract.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle_e2e/in_process_berth.hpp"
#include "lifecycle_e2e/lifecycle_fixture.hpp"
#include "mocks/counting_runtime.hpp"
#include "mocks/fake_clock.hpp"
#include "runtime/docker_runtime.hpp"

// The manager in-process on the real engine, where a test must count engine calls or drive time:
// services over real SQLite, the internal endpoint served on the agent network's gateway, the
// project's test agent image.
namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::CountingRuntime;
using berth::testing::DockerTest;
using berth::testing::FakeClock;
using berth::testing::InProcessBerth;
using berth::testing::RemoveWhatBerthMade;
using berth::testing::TempDir;
using berth::testing::TestAgentImages;

class ManagerDockerTest : public DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    runtime::DockerRuntimeOptions options;
    options.docker_host = env().docker_host();
    auto docker = runtime::DockerRuntime::Create(options);
    ASSERT_TRUE(docker.ok()) << docker.status().ToString();
    runtime_ = std::make_shared<CountingRuntime>(*docker);

    static std::atomic<int> counter{0};
    options_.network = env().Name("mgr" + std::to_string(counter++));
    options_.image = TestAgentImages::Get().agent();
    options_.contract = image::AgentContract();
    options_.memory_bytes = 64 << 20;
    options_.start_timeout = 60s;
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
  }

  void TearDown() override {
    berth_.Stop();
    if (!env().engine_status().ok()) return;
    auto instance = berth_.store()->InstanceId();
    RemoveWhatBerthMade(env(), instance.ok() ? *instance : "", options_.network);
  }

  AgentManager& Manager() {
    return berth_.started() ? berth_.manager() : berth_.Start(options_, runtime_);
  }
  std::string NewUser(const std::string& name) { return berth_.NewUser(name); }

  TempDir dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  InProcessBerth berth_{dir_.File("berth.db"), clock_};
  std::shared_ptr<CountingRuntime> runtime_;
  LifecycleOptions options_;
};

TEST_F(ManagerDockerTest, HundredConcurrentEnsureRunningMakeOneCreateAndOneStart) {
  AgentManager& manager = Manager();
  const std::string user = NewUser("crowd");
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    callers.emplace_back([&] {
      auto endpoint = manager.EnsureRunning(user);
      if (endpoint.ok()) ++ok;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(runtime_->creates, 1);
  EXPECT_EQ(runtime_->starts, 1);
  // Warm: no engine call at all.
  const int before = runtime_->calls;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(manager.EnsureRunning(user).ok());
  EXPECT_EQ(runtime_->calls, before);
}

TEST_F(ManagerDockerTest, ReaperStopsIdleAgentsOnTheEngine) {
  AgentManager& manager = Manager();
  const std::string idle = NewUser("idle");
  const std::string busy = NewUser("busy");
  auto idle_endpoint = manager.EnsureRunning(idle);
  auto busy_endpoint = manager.EnsureRunning(busy);
  ASSERT_TRUE(idle_endpoint.ok()) << idle_endpoint.status().ToString();
  ASSERT_TRUE(busy_endpoint.ok()) << busy_endpoint.status().ToString();
  clock_->Advance(29min);
  manager.Touch(busy);
  clock_->Advance(2min);  // idle: 31 min without activity (timeout 30); busy: 2 min
  auto reaped = manager.Reap();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, std::vector<std::string>{idle});
  EXPECT_FALSE(client().InspectContainer(idle_endpoint->container_id)->running);
  EXPECT_TRUE(client().InspectContainer(busy_endpoint->container_id)->running);
  EXPECT_EQ(berth_.store()->GetUserContainerByUser(idle)->status, "stopped");
}

TEST_F(ManagerDockerTest, HealthSweepFindsAContainerThatDiedSilently) {
  AgentManager& manager = Manager();
  const std::string user = NewUser("fragile");
  auto endpoint = manager.EnsureRunning(user);
  ASSERT_TRUE(endpoint.ok());
  auto healthy = manager.HealthCheck();
  ASSERT_TRUE(healthy.ok());
  ASSERT_EQ(healthy->size(), 1u);
  EXPECT_TRUE((*healthy)[0].healthy) << (*healthy)[0].error;
  ASSERT_TRUE(client().KillContainer(endpoint->container_id).ok());
  // Whether the event or the sweep sees it first, the agent ends up not running and the next
  // use starts it again.
  (void)manager.HealthCheck();
  EXPECT_NE(manager.GetAgent(user)->status, AgentStatus::kRunning);
  ASSERT_TRUE(manager.EnsureRunning(user).ok());
  EXPECT_TRUE(client().InspectContainer(endpoint->container_id)->running);
}

}  // namespace
}  // namespace berth::lifecycle
