#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "http/api.hpp"
#include "http/server.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle_e2e/lifecycle_fixture.hpp"
#include "mocks/counting_runtime.hpp"
#include "mocks/fake_clock.hpp"
#include "runtime/docker_runtime.hpp"
#include "service/accounts.hpp"

// The manager in-process on the real engine, where a test must count engine calls or drive time:
// services over real SQLite, the internal endpoint served on the agent network's gateway, the
// project's test agent image.
namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::CountingRuntime;
using berth::testing::DockerTest;
using berth::testing::FakeClock;
using berth::testing::TempDir;
using berth::testing::TestAgentImages;

class ManagerDockerTest : public DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    auto opened = store::OpenStore("sqlite://" + dir_.File("berth.db"));
    ASSERT_TRUE(opened.ok());
    store_ = *opened;
    secrets_ = std::make_shared<crypto::SecretBox>(
        std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'k')));
    accounts_ = std::make_shared<service::AccountService>(store_, clock_, std::nullopt);
    providers_ = std::make_shared<service::ProviderService>(store_, secrets_, clock_);
    containers_ = std::make_shared<service::ContainerService>(store_, secrets_, providers_, clock_);

    runtime::DockerRuntimeOptions options;
    options.docker_host = env().docker_host();
    auto docker = runtime::DockerRuntime::Create(options);
    ASSERT_TRUE(docker.ok()) << docker.status().ToString();
    runtime_ = std::make_shared<CountingRuntime>(*docker);

    static std::atomic<int> counter{0};
    options_.network = env().Name("mgr" + std::to_string(counter++));
    options_.image = TestAgentImages::Get().agent();
    options_.memory_bytes = 64 << 20;
    options_.start_timeout = 60s;
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
  }

  void TearDown() override {
    if (manager_) manager_->Stop();
    manager_.reset();
    if (internal_) internal_->Stop();
    if (internal_thread_.joinable()) internal_thread_.join();
    if (!env().engine_status().ok() || !store_) return;
    auto instance = store_->InstanceId();
    if (instance.ok()) {
      auto containers = client().ListContainers({{"berth.instance", *instance}});
      if (containers.ok()) {
        for (const auto& c : *containers) (void)client().RemoveContainer(c.id, true);
      }
      auto volumes = client().ListVolumes({{"berth.instance", *instance}});
      if (volumes.ok()) {
        for (const auto& v : *volumes) (void)client().RemoveVolume(v.name, true);
      }
    }
    auto network = client().InspectNetwork(options_.network);
    if (network.ok()) (void)client().RemoveNetwork(network->id);
  }

  AgentManager& Manager() {
    if (manager_) return *manager_;
    http::ApiServices services{store_, accounts_, providers_, containers_, nullptr, nullptr};
    http::RegisterInternalRoutes(router_, services);
    manager_ =
        std::make_unique<AgentManager>(options_, store_, runtime_, containers_, providers_,
                                       secrets_, std::make_shared<HttpGatewayProbe>(), clock_);
    manager_->SetApiUrlResolver([this](const runtime::NetworkInfo& net) -> Result<std::string> {
      http::ServerOptions so;
      so.host = net.gateway;
      so.port = 0;
      so.threads = 1;
      internal_ = std::make_unique<http::Server>(so, router_);
      BERTH_RETURN_IF_ERROR(internal_->Listen());
      internal_thread_ = std::thread([this] { internal_->Run(); });
      return "http://" + net.gateway + ":" + std::to_string(internal_->port()) + "/api";
    });
    Status initialized = manager_->Initialize();
    EXPECT_TRUE(initialized.ok()) << initialized.ToString();
    manager_->Start();
    for (int i = 0; i < 500 && !manager_->events_live(); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(manager_->events_live());
    return *manager_;
  }

  std::string NewUser(const std::string& name) {
    auto u = accounts_->CreateUser({name, std::nullopt, std::nullopt});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->user.id : "";
  }

  TempDir dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  store::StorePtr store_;
  std::shared_ptr<crypto::SecretBox> secrets_;
  std::shared_ptr<service::AccountService> accounts_;
  std::shared_ptr<service::ProviderService> providers_;
  std::shared_ptr<service::ContainerService> containers_;
  std::shared_ptr<CountingRuntime> runtime_;
  LifecycleOptions options_;
  http::Router router_;
  std::unique_ptr<http::Server> internal_;
  std::thread internal_thread_;
  std::unique_ptr<AgentManager> manager_;
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
  EXPECT_EQ(store_->GetUserContainerByUser(idle)->status, "stopped");
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
