#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "http/api.hpp"
#include "http/server.hpp"
#include "image/agent_contract.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle_e2e/in_process_berth.hpp"
#include "lifecycle_restart/private_dockerd.hpp"
#include "mocks/counting_runtime.hpp"
#include "runtime/docker_runtime.hpp"
#include "support/berth_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

// "dockerd restarted" (issue 3): the manager in-process on an engine this test starts itself, so
// that restarting it disturbs nobody. Services over real SQLite, the internal endpoint served on
// the agent network's gateway, the public API (for /api/ready) on loopback, the project's test
// agent image built into the private engine with `berth image build test-agent`. The program runs
// in a network namespace of its own (main() below): the private engine's bridges and rules exist
// only there, where berth (this process) reaches its containers as on a host.
namespace berth::lifecycle {
namespace {

Status g_isolated = Internal("main() did not run");

using namespace std::chrono_literals;
using berth::testing::CountingRuntime;
using berth::testing::InProcessBerth;
using berth::testing::PrivateDockerd;
using berth::testing::TempDir;

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Observed(const std::string& what) {
  std::printf("[ observed ] %s\n", what.c_str());
  std::fflush(stdout);
}

void Observed(const std::string& what, double seconds) {
  char took[32];
  std::snprintf(took, sizeof took, "%.2f s", seconds);
  Observed(what + ": " + took);
}

enum class Outage;

class DockerdRestartTest : public ::testing::Test {
 protected:
  // Two agents running; the engine goes down (`outage`) and comes back; see the definition.
  void RunScenario(Outage outage);

  void SetUp() override {
    ASSERT_TRUE(g_isolated.ok()) << "the test needs a network namespace of its own: "
                                 << g_isolated.ToString();
    const auto start = std::chrono::steady_clock::now();
    auto engine = PrivateDockerd::Start(60s);
    ASSERT_TRUE(engine.ok()) << "a private dockerd cannot run here: " << engine.status().ToString();
    engine_ = std::move(*engine);
    Observed("private dockerd up (" + engine_->storage_driver() + ")", SecondsSince(start));

    // The test agent image, built straight into the private engine: nothing is taken from or
    // left on the machine's shared engine.
    const auto build_start = std::chrono::steady_clock::now();
    image_ = "berth-test-agent:restart";
    auto built = berth::testing::RunBerth({"image", "build", "test-agent", "--tag", image_},
                                          {{"DOCKER_HOST", engine_->docker_host()}}, 300);
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    Observed("test agent image built into it", SecondsSince(build_start));

    runtime::DockerRuntimeOptions options;
    options.docker_host = engine_->docker_host();
    auto docker = runtime::DockerRuntime::Create(options);
    ASSERT_TRUE(docker.ok()) << docker.status().ToString();
    runtime_ = std::make_shared<CountingRuntime>(*docker);

    options_.network = "berth-restart-agents";
    options_.image = image_;
    options_.contract = image::AgentContract();
    options_.memory_bytes = 64 << 20;
    options_.start_timeout = 60s;
    // Only the event stream and its reconcile may notice the restart: no sweep runs meanwhile.
    options_.reap_interval = options_.health_interval = options_.activity_flush_interval = 1h;
  }

  void TearDown() override {
    berth_.Stop();
    if (api_) api_->Stop();
    if (api_thread_.joinable()) api_thread_.join();
    api_.reset();
    // Removes every container and network of the private engine, stops it and deletes its
    // directory, pass or fail.
    if (engine_) {
      if (HasFailure())
        std::printf("private dockerd log (tail):\n%s\n", engine_->LogTail().c_str());
      engine_->Destroy();
    }
  }

  // The manager and its internal endpoint (InProcessBerth), plus the public API (for
  // /api/ready) on loopback.
  AgentManager& Manager() {
    if (berth_.started()) return berth_.manager();
    AgentManager& manager = berth_.Start(options_, runtime_);
    http::RegisterApiRoutes(api_router_, berth_.services());
    http::ServerOptions so;
    so.host = "127.0.0.1";
    so.port = 0;
    so.threads = 2;
    api_ = std::make_unique<http::Server>(so, api_router_);
    Status listening = api_->Listen();
    EXPECT_TRUE(listening.ok()) << listening.ToString();
    api_thread_ = std::thread([this] { api_->Run(); });
    return manager;
  }

  std::string NewUser(const std::string& name) { return berth_.NewUser(name); }

  int ReadyStatus() {
    return berth::testing::HttpRequest("GET", "127.0.0.1", api_->port(), "/api/ready").status;
  }

  std::string RecordStatus(const std::string& user) {
    auto record = berth_.store()->GetUserContainerByUser(user);
    return record.ok() ? record->status : "<" + record.status().ToString() + ">";
  }

  std::unique_ptr<PrivateDockerd> engine_;
  std::string image_;
  TempDir dir_;
  InProcessBerth berth_{dir_.File("berth.db"), std::make_shared<SystemClock>()};
  std::shared_ptr<CountingRuntime> runtime_;
  LifecycleOptions options_;
  http::Router api_router_;
  std::unique_ptr<http::Server> api_;
  std::thread api_thread_;
};

// How the engine goes down.
enum class Outage {
  // SIGTERM: without live-restore the engine stops its containers while it shuts down. (Observed
  // with 20.10: their die events still reach berth before the event stream closes.)
  kGracefulStop,
  // SIGKILL: its containerd dies with it, the containers outlive it, and the engine kills them
  // when it comes back, while it restores its state and before its API answers: no event of it
  // reaches berth.
  kCrash,
};

void DockerdRestartTest::RunScenario(Outage outage) {
  AgentManager& manager = Manager();
  // `probed` is asked for while the engine is down; `quiet` is not, so only what berth learns
  // from the engine (events, or the reconcile after it resubscribed) changes its record.
  const std::string probed = NewUser("probed");
  const std::string quiet = NewUser("quiet");

  // ---- before: both running, the warm path makes no engine call -------------------------------
  auto probed_before = manager.EnsureRunning(probed);
  ASSERT_TRUE(probed_before.ok()) << probed_before.status().ToString();
  auto quiet_before = manager.EnsureRunning(quiet);
  ASSERT_TRUE(quiet_before.ok()) << quiet_before.status().ToString();
  EXPECT_EQ(RecordStatus(probed), "running");
  EXPECT_EQ(RecordStatus(quiet), "running");
  {
    const int calls = runtime_->calls;
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(manager.EnsureRunning(probed).ok());
    EXPECT_EQ(runtime_->calls, calls) << "the warm path called the engine";
  }
  EXPECT_EQ(ReadyStatus(), 200);
  const int creates_before = runtime_->creates;
  const int starts_before = runtime_->starts;

  // ---- the engine goes down ------------------------------------------------------------------
  const auto stop_start = std::chrono::steady_clock::now();
  if (outage == Outage::kGracefulStop) {
    Status stopped = engine_->Stop(45s);
    ASSERT_TRUE(stopped.ok()) << stopped.ToString();
    Observed("dockerd SIGTERM to exit", SecondsSince(stop_start));
  } else {
    Status killed = engine_->Kill();
    ASSERT_TRUE(killed.ok()) << killed.ToString();
    Observed("dockerd and its containerd SIGKILLed; container shims still alive: " +
                 std::to_string(engine_->Descendants().size()),
             SecondsSince(stop_start));
  }
  ASSERT_TRUE(Eventually([&] { return !manager.events_live(); }, 5s))
      << "berth did not notice that the event stream ended";
  Observed("quiet's record while the engine is down: " + RecordStatus(quiet));

  for (int i = 0; i < 3; ++i) {
    const auto call_start = std::chrono::steady_clock::now();
    auto down = manager.EnsureRunning(probed);
    const double took = SecondsSince(call_start);
    ASSERT_FALSE(down.ok()) << "EnsureRunning answered ok while the engine was down";
    EXPECT_EQ(down.status().code(), ErrorCode::kUnavailable) << down.status().ToString();
    // Promptly: far below the engine call deadline (30 s) and the start timeout (60 s).
    EXPECT_LT(took, 5.0) << down.status().ToString();
    if (i == 0) {
      Observed("EnsureRunning while the engine is down (" + down.status().message() + ")", took);
    }
  }
  EXPECT_EQ(ReadyStatus(), 503);
  EXPECT_NE(manager.GetAgent(probed)->status, AgentStatus::kRunning);
  EXPECT_FALSE(manager.events_live());

  // ---- the engine comes back -----------------------------------------------------------------
  const auto restart_start = std::chrono::steady_clock::now();
  Status restarted = engine_->Restart(60s);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  Observed("dockerd restart until it answers", SecondsSince(restart_start));
  ASSERT_TRUE(Eventually([&] { return manager.events_live(); }, 20s))
      << "berth did not resubscribe to the engine's events";
  Observed("dockerd restart until berth's event stream is live again", SecondsSince(restart_start));
  EXPECT_TRUE(Eventually([&] { return ReadyStatus() == 200; }, 5s));

  // Without live-restore the containers did not survive the outage.
  auto quiet_engine = engine_->client().InspectContainer(quiet_before->container_id);
  ASSERT_TRUE(quiet_engine.ok()) << quiet_engine.status().ToString();
  ASSERT_FALSE(quiet_engine->running) << "the engine kept the container running";
  // berth knows it: from the die events of a graceful shutdown; after a crash only from the
  // reconcile it runs before the stream counts as live again.
  EXPECT_EQ(RecordStatus(quiet), "stopped");
  EXPECT_NE(manager.GetAgent(quiet)->status, AgentStatus::kRunning);
  EXPECT_NE(RecordStatus(probed), "running");
  EXPECT_NE(manager.GetAgent(probed)->status, AgentStatus::kRunning);

  // ---- the next use starts them again --------------------------------------------------------
  auto probed_after = manager.EnsureRunning(probed);
  ASSERT_TRUE(probed_after.ok()) << probed_after.status().ToString();
  auto quiet_after = manager.EnsureRunning(quiet);
  ASSERT_TRUE(quiet_after.ok()) << quiet_after.status().ToString();
  EXPECT_EQ(RecordStatus(probed), "running");
  EXPECT_EQ(RecordStatus(quiet), "running");
  // Their containers are started again, not recreated.
  EXPECT_EQ(probed_after->container_id, probed_before->container_id);
  EXPECT_EQ(quiet_after->container_id, quiet_before->container_id);
  EXPECT_EQ(runtime_->creates, creates_before);
  EXPECT_EQ(runtime_->starts, starts_before + 2);
  HttpGatewayProbe probe;
  for (const auto* endpoint : {&*probed_after, &*quiet_after}) {
    auto readyz = probe.Get(endpoint->host, endpoint->port, "/readyz", 2s);
    ASSERT_TRUE(readyz.ok()) << readyz.status().ToString();
    EXPECT_EQ(*readyz, 200);
  }
  {
    const int calls = runtime_->calls;
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(manager.EnsureRunning(quiet).ok());
    EXPECT_EQ(runtime_->calls, calls) << "the warm path is not warm again after the restart";
  }

  // No orphans: the private engine holds exactly the two agents' containers, both running.
  auto all = engine_->client().ListContainers({}, /*all=*/true);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::set<std::string> ids;
  for (const auto& c : *all) {
    ids.insert(c.id);
    EXPECT_EQ(c.state, "running") << c.name;
  }
  EXPECT_EQ(ids, (std::set<std::string>{probed_after->container_id, quiet_after->container_id}));
}

TEST_F(DockerdRestartTest, AgentsComeBackAfterAGracefulEngineRestart) {
  RunScenario(Outage::kGracefulStop);
}

TEST_F(DockerdRestartTest, AgentsComeBackAfterTheEngineCrashedAndRestarted) {
  RunScenario(Outage::kCrash);
}

}  // namespace
}  // namespace berth::lifecycle

// Isolates the process (network namespace, subreaper) before gtest or anything else starts a
// thread.
int main(int argc, char** argv) {
  berth::lifecycle::g_isolated = berth::testing::IsolateTestProcess();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
