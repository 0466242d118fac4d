// The container engine's faults, with the real engine behind a proxy on its socket
// (engine_proxy.hpp): very slow answers, an engine that vanishes in the middle of a start and
// comes back, and berth killed (SIGKILL) at each step of a start and started again.

#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <thread>

#include "fault/engine_proxy.hpp"
#include "fault/fault_support.hpp"
#include "lifecycle_e2e/lifecycle_fixture.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

class EngineFault : public LifecycleE2eTest {
 protected:
  void SetUp() override {
    LifecycleE2eTest::SetUp();
    if (HasFatalFailure()) return;
    std::string engine = env().docker_host();
    if (engine.rfind("unix://", 0) != 0) GTEST_SKIP() << "the engine proxy needs a unix socket";
    proxy_ = std::make_unique<EngineProxy>(sockets_.File("engine.sock"), engine.substr(7));
    ASSERT_TRUE(proxy_->ok());
    env_["DOCKER_HOST"] = proxy_->docker_host();
  }
  void TearDown() override {
    if (proxy_) {
      proxy_->Release();
      proxy_->Return();
    }
    LifecycleE2eTest::TearDown();
    proxy_.reset();
  }

  // The user's records as GET /api/admin/containers lists them.
  nlohmann::json RecordsOf(const std::string& user_id) {
    auto listed = berth_->Get("/api/admin/containers", kAdminToken);
    EXPECT_EQ(listed.status, 200) << listed.body;
    nlohmann::json mine = nlohmann::json::array();
    const nlohmann::json body = listed.Json();  // named: a range over a temporary's member dangles
    for (const auto& r : body["containers"]) {
      if (r.value("userId", "") == user_id) mine.push_back(r);
    }
    return mine;
  }

  static milliseconds Since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  }

  TempDir sockets_;
  std::unique_ptr<EngineProxy> proxy_;
};

TEST_F(EngineFault, ASlowEngineSlowsOnlyStartsAndAVanishedOneGives503UntilItReturns) {
  StartBerth();
  auto [slow_id, slow_token] = CreateUser("slow");
  auto [cut_id, cut_token] = CreateUser("cut");

  // Every engine answer is 700 ms late: a start takes longer, nothing else waits for it.
  proxy_->SetDelay(700ms);
  HttpResult slow_start;
  const auto t0 = std::chrono::steady_clock::now();
  milliseconds slow_ms{0};
  std::thread starter([&, t = slow_token] {
    slow_start = berth_->Post("/api/agent/start", "", t);
    slow_ms = Since(t0);
  });
  std::this_thread::sleep_for(300ms);
  const auto r0 = std::chrono::steady_clock::now();
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
  EXPECT_EQ(berth_->Get("/api/me", cut_token).status, 200);
  EXPECT_EQ(berth_->Get("/api/agent", cut_token).status, 200);
  const auto api_ms = Since(r0);
  starter.join();
  EXPECT_EQ(slow_start.status, 200) << slow_start.body;
  EXPECT_LT(api_ms.count(), 1000) << "API calls waited for the slow engine";
  Observed("slow engine (+700 ms per answer): start -> " + std::to_string(slow_start.status) +
           " in " + std::to_string(slow_ms.count()) + " ms; 3 API calls meanwhile in " +
           std::to_string(api_ms.count()) + " ms");
  proxy_->SetDelay(0ms);

  // The engine vanishes while a start waits for its container to be created.
  proxy_->HoldRequests("/containers/create", EngineProxy::Hold::kBeforeEngine);
  HttpResult cut_start;
  std::thread cutter([&, t = cut_token] { cut_start = berth_->Post("/api/agent/start", "", t); });
  const bool held = proxy_->WaitHeld(20s);
  const auto v0 = std::chrono::steady_clock::now();
  held ? proxy_->Vanish() : proxy_->Release();
  cutter.join();
  ASSERT_TRUE(held) << "the start never asked the engine to create its container";
  const auto fail_ms = Since(v0);
  EXPECT_TRUE(IsJsonError(cut_start, 503)) << berth_->Stderr();
  Observed("engine vanished mid-create: start -> " + std::to_string(cut_start.status) + " in " +
           std::to_string(fail_ms.count()) + " ms: " + cut_start.body);

  // berth keeps answering: health, the API, the running agent's state; readiness names the engine.
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
  EXPECT_EQ(berth_->Get("/api/me", cut_token).status, 200);
  auto running = berth_->Get("/api/agent", slow_token);
  EXPECT_EQ(running.status, 200) << running.body;
  auto ready = berth_->Get("/api/ready");
  EXPECT_TRUE(IsJsonError(ready, 503));
  auto refused = berth_->Post("/api/agent/start", "", cut_token);
  EXPECT_TRUE(IsJsonError(refused, 503)) << refused.body;
  Observed("engine gone: /api/ready -> " + ready.body + "; start -> " +
           std::to_string(refused.status) + " " + refused.body);
  EXPECT_TRUE(ProcessAlive(berth_->pid()));

  // The engine returns: berth notices by itself and the interrupted user's agent starts.
  proxy_->Release();
  ASSERT_TRUE(proxy_->Return());
  const auto back =
      TimeUntil([&] { return berth_->Get("/api/ready").status == 200; }, milliseconds(20000));
  ASSERT_GE(back.count(), 0) << berth_->Get("/api/ready").body;
  Observed("engine back: /api/ready 200 after " + std::to_string(back.count()) + " ms");
  auto started = berth_->Post("/api/agent/start", "", cut_token);
  EXPECT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(ContainersOf(cut_id).size(), 1u);
  EXPECT_EQ(ContainersOf(slow_id).size(), 1u);
  EXPECT_EQ(RecordsOf(cut_id).size(), 1u);
  EXPECT_EQ(RecordsOf(slow_id).size(), 1u);
}

// Where berth dies: the engine request it is waiting on, and whether the engine has acted; no
// request: while it waits for the agent's /readyz (also in lifecycle_e2e_test's
// KillNineMidStartIsReconciledWithoutOrphans, here with the stricter checks of the other steps).
struct KillStep {
  const char* name;
  const char* request;
  EngineProxy::Hold when;
};

void PrintTo(const KillStep& step, std::ostream* os) { *os << step.name; }

class KillNineMidStart : public EngineFault, public ::testing::WithParamInterface<KillStep> {};

TEST_P(KillNineMidStart, RestartLeavesOneContainerOneRecordAndNothingOrphaned) {
  const KillStep step = GetParam();
  const bool at_ready = std::string(step.request).empty();
  if (at_ready) {
    // No engine call to hold: an agent that takes a while to become ready.
    env_["OPENCLAW_IMAGE"] =
        TestAgentImages::Get().Variant("slow", {"BERTH_TEST_AGENT_READY_DELAY_MS=4000"});
  }
  StartBerth();
  auto [user_id, token] = CreateUser("crash");
  if (!at_ready) proxy_->HoldRequests(step.request, step.when);
  // The start's client holds no reference to berth_, which KillBerth() destroys.
  std::thread starter([port = berth_->port(), t = token] {
    (void)HttpRequest("POST", "127.0.0.1", port, "/api/agent/start", "",
                      {{"Authorization", "Bearer " + t}});
  });
  const bool reached = at_ready ? Eventually([&] {
    auto c = ContainersOf(user_id);
    return !c.empty() && c[0].state == "running";
  })
                                : proxy_->WaitHeld(30s);
  if (!reached) {
    proxy_->Release();
    starter.join();
    FAIL() << "the start never reached '" << step.name << "'\n" << berth_->Stderr();
  }
  KillBerth();
  starter.join();
  // What berth asked for dies with it (kBeforeEngine: the engine never sees the request).
  proxy_->Vanish();
  ASSERT_TRUE(proxy_->Return());
  proxy_->Release();
  const size_t before = ContainersOf(user_id).size();

  const auto t0 = std::chrono::steady_clock::now();
  StartBerth();  // reconciles at start
  const auto reconciled = Since(t0);
  auto containers = ContainersOf(user_id);
  auto records = RecordsOf(user_id);
  ASSERT_EQ(records.size(), 1u) << records.dump();
  EXPECT_NE(records[0]["status"], "starting") << records.dump();
  EXPECT_LE(containers.size(), 1u);
  if (!containers.empty() && records[0]["containerId"].is_string()) {
    EXPECT_EQ(records[0]["containerId"], containers[0].id) << "the record must own the container";
  }
  Observed(std::string("kill -9 at '") + step.name + "': " + std::to_string(before) +
           " container(s) left; restart ready in " + std::to_string(reconciled.count()) +
           " ms; then " + std::to_string(containers.size()) + " container(s), record " +
           records[0].value("status", "?"));

  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body;
  containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  records = RecordsOf(user_id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "running");
  // No volume or container of this berth lies about without its record.
  auto all = client().ListContainers({{"berth.instance", InstanceId()}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Steps, KillNineMidStart,
    ::testing::Values(
        KillStep{"record claimed", "/containers/create", EngineProxy::Hold::kBeforeEngine},
        KillStep{"container created", "/containers/create", EngineProxy::Hold::kAfterEngine},
        KillStep{"container started", "/start ", EngineProxy::Hold::kAfterEngine},
        KillStep{"waiting for ready", "", EngineProxy::Hold::kAfterEngine}),
    [](const ::testing::TestParamInfo<KillStep>& info) {
      std::string name = info.param.name;
      for (char& c : name) c = c == ' ' ? '_' : c;
      return name;
    });

}  // namespace
}  // namespace berth::testing
