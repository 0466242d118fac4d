#include "lifecycle/agent_manager.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/manager_fixture.hpp"
#include "support/fd_exhaustion.hpp"

// Unit tests of the manager's logic against an in-memory engine. The same behaviours are proven
// against the real Docker engine in tests/lifecycle_docker.
namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeProbe;
using berth::testing::FakeRuntime;

using AgentManagerTest = berth::testing::ManagerTest;

TEST_F(AgentManagerTest, ColdStartCreatesRecordAndHardenedContainerWithSeedEnv) {
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  auto containers = runtime_->Snapshot();
  ASSERT_EQ(containers.size(), 1u);
  const auto& c = containers.begin()->second;
  EXPECT_EQ(c.spec.name, "mosaic-user-" + user_);
  EXPECT_EQ(c.spec.volume_name, "mosaic-user-" + user_ + "-state");
  EXPECT_EQ(c.spec.volume_target, "/home/node/.openclaw");
  EXPECT_EQ(c.spec.memory_bytes, int64_t{2} << 30);
  std::map<std::string, std::string> env(c.spec.env.begin(), c.spec.env.end());
  EXPECT_EQ(env["MOSAIC_API_URL"], options_.api_url);
  EXPECT_EQ(env["AGENT_TOKEN"], endpoint->token);
  EXPECT_EQ(env["AGENT_ID"], endpoint->record_id);
  EXPECT_EQ(c.spec.labels.at("berth.owner"), user_);
  EXPECT_EQ(c.spec.labels.at("berth.record"), endpoint->record_id);
  EXPECT_EQ(endpoint->host, c.ip);
  EXPECT_EQ(endpoint->port, 18789);

  auto record = store_->GetUserContainerByUser(user_);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->status, "running");
  EXPECT_EQ(record->container_id, std::optional<std::string>(c.id));
  // The token the container got is the one the internal endpoint accepts.
  EXPECT_TRUE(containers_->ConfigForToken(endpoint->token, record->id).ok());
}

TEST_F(AgentManagerTest, WarmPathMakesNoEngineCall) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  const int before = runtime_->calls;
  const int probes = probe_->probes;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  EXPECT_EQ(runtime_->calls, before);
  EXPECT_EQ(probe_->probes, probes);
}

TEST_F(AgentManagerTest, ConcurrentCallersShareOneStart) {
  probe_->delay_ms = 20;  // keep the start in flight while callers pile up
  AgentManager& manager = Manager();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    callers.emplace_back([&] {
      auto endpoint = manager.EnsureRunning(user_);
      EXPECT_TRUE(endpoint.ok()) << endpoint.status().ToString();
      if (endpoint.ok()) ++ok;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(runtime_->creates, 1);
  EXPECT_EQ(runtime_->starts, 1);
  EXPECT_EQ(runtime_->Snapshot().size(), 1u);
}

TEST_F(AgentManagerTest, ExitBeforeReadyFailsFastWithExitCodeAndLogs) {
  runtime_->on_start = [](FakeRuntime::Container& c) {
    c.state = runtime::ContainerState::kExited;
    c.exit_code = 78;
  };
  probe_->status = 0;
  const auto begin = std::chrono::steady_clock::now();
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_FALSE(endpoint.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);  // well before the 2 s timeout
  EXPECT_EQ(endpoint.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(endpoint.status().message().find("exited with code 78"), std::string::npos);
  EXPECT_NE(endpoint.status().message().find("cannot fetch config"), std::string::npos);
  auto view = Manager().GetAgent(user_);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, AgentStatus::kFailed);
  EXPECT_NE(view->error.find("exited with code 78"), std::string::npos);
}

TEST_F(AgentManagerTest, OomKillIsReported) {
  runtime_->on_start = [](FakeRuntime::Container& c) {
    c.state = runtime::ContainerState::kExited;
    c.exit_code = 137;
    c.oom = true;
  };
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("OOM-killed"), std::string::npos);
}

TEST_F(AgentManagerTest, NotReadyInTimeFailsAndStopsTheContainer) {
  options_.start_timeout = 1h;  // ended by moving the clock, not by waiting
  probe_->status = 503;
  AgentManager& manager = Manager();
  Result<AgentEndpoint> endpoint = Internal("not run");
  std::thread starter([&] { endpoint = manager.EnsureRunning(user_); });
  for (int i = 0; i < 1000 && probe_->probes == 0; ++i) std::this_thread::sleep_for(1ms);
  fake_clock_->Advance(1h);
  starter.join();
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("not ready within"), std::string::npos);
  for (const auto& [id, c] : runtime_->Snapshot()) {
    EXPECT_NE(c.state, runtime::ContainerState::kRunning);
  }
}

TEST_F(AgentManagerTest, StartCapRefusesFurtherStartsWithRetryAfter) {
  options_.max_concurrent_starts = 1;
  probe_->status = 503;  // the first start stays in flight
  std::string other = NewUser("bob");
  std::thread first([&] { (void)Manager().EnsureRunning(user_); });
  for (int i = 0; i < 1000 && probe_->probes == 0; ++i) std::this_thread::sleep_for(1ms);
  auto refused = Manager().EnsureRunning(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kResourceExhausted);
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  first.join();
}

TEST_F(AgentManagerTest, StopWhileStartingCancelsTheStart) {
  probe_->status = 503;
  Result<AgentEndpoint> result = Internal("not run");
  std::thread starter([&] { result = Manager().EnsureRunning(user_); });
  for (int i = 0; i < 1000 && probe_->probes == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  starter.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("cancelled"), std::string::npos);
  EXPECT_EQ(Manager().GetAgent(user_)->status, AgentStatus::kStopped);
  for (const auto& [id, c] : runtime_->Snapshot()) {
    EXPECT_NE(c.state, runtime::ContainerState::kRunning);
  }
}

TEST_F(AgentManagerTest, StoppedContainerIsStartedAgainNotRecreated) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->status, "stopped");
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  EXPECT_EQ(runtime_->creates, 1);
  EXPECT_EQ(runtime_->starts, 2);
}

TEST_F(AgentManagerTest, ChangedImageRecreatesTheContainerKeepingItsVolume) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  manager_->Stop();
  manager_.reset();
  options_.image = "berth/test-agent:newer";
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  auto containers = runtime_->Snapshot();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers.begin()->second.spec.image, "berth/test-agent:newer");
  EXPECT_EQ(runtime_->creates, 2);
  EXPECT_TRUE(runtime_->removed_volumes.empty());
}

TEST_F(AgentManagerTest, NameConflictWithAForeignContainerRemovesIt) {
  runtime::ContainerSpec squatter;
  squatter.name = "mosaic-user-" + user_;
  squatter.image = "something/else";
  ASSERT_TRUE(runtime_->Create(squatter).ok());
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  auto containers = runtime_->Snapshot();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers.begin()->second.spec.image, options_.image);
}

TEST_F(AgentManagerTest, MissingImageFailsNamingTheBuildCommand) {
  runtime_->image_present = false;
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("berth image build openclaw --tag " + options_.image),
            std::string::npos);
}

TEST_F(AgentManagerTest, DeathBehindBerthsBackIsSeenAndRecoveredOnNextUse) {
  auto first = Manager().EnsureRunning(user_);
  ASSERT_TRUE(first.ok());
  runtime_->Crash(first->container_id, 137);
  for (int i = 0; i < 1000 && Manager().GetAgent(user_)->status == AgentStatus::kRunning; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  auto view = Manager().GetAgent(user_);
  EXPECT_EQ(view->status, AgentStatus::kFailed);
  EXPECT_NE(view->error.find("137"), std::string::npos);
  auto again = Manager().EnsureRunning(user_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(runtime_->starts, 2);
}

TEST_F(AgentManagerTest, LostEventStreamDisablesTheWarmPathUntilItReturns) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  runtime_->DropEventStreams();
  // Until resubscribed, or after a reconcile, a call must look at the engine again.
  for (int i = 0; i < 1000 && Manager().events_live(); ++i) std::this_thread::sleep_for(1ms);
  const int before = runtime_->calls;
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  EXPECT_GT(runtime_->calls, before);
}

TEST_F(AgentManagerTest, ReaperStopsOnlyIdleAgentsWithoutOpenStreams) {
  std::string bob = NewUser("bob");
  std::string carol = NewUser("carol");
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_TRUE(Manager().EnsureRunning(bob).ok());
  ASSERT_TRUE(Manager().EnsureRunning(carol).ok());
  auto stream = Manager().OpenStream(carol);
  fake_clock_->Advance(20min);
  Manager().Touch(bob);
  fake_clock_->Advance(11min);  // alice idle 31 min, bob 11 min, carol streaming
  auto reaped = Manager().Reap();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, std::vector<std::string>{user_});
  EXPECT_EQ(Manager().GetAgent(user_)->status, AgentStatus::kStopped);
  EXPECT_EQ(Manager().GetAgent(bob)->status, AgentStatus::kRunning);
  EXPECT_EQ(Manager().GetAgent(carol)->status, AgentStatus::kRunning);
  stream = {};  // closing the stream is activity too
  fake_clock_->Advance(29min);
  EXPECT_EQ(Manager().Reap()->size(), 1u);  // bob (40 min idle); carol only 29
  EXPECT_EQ(Manager().GetAgent(carol)->status, AgentStatus::kRunning);
}

TEST_F(AgentManagerTest, ActivityIsFlushedToTheStoreInOneBatch) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  fake_clock_->Advance(5min);
  Manager().Touch(user_);
  Manager().Stop();  // the final flush
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->last_active_at,
            std::optional<int64_t>(ToUnixMillis(fake_clock_->Now())));
}

TEST_F(AgentManagerTest, ReconcileRemovesOrphansAndFixesLyingRecords) {
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_TRUE(endpoint.ok());
  // An orphan: labelled as this instance's, for a record that does not exist.
  runtime::ContainerSpec orphan;
  orphan.name = "mosaic-user-ghost";
  orphan.labels = {{"berth.managed", "true"},
                   {"berth.instance", *store_->InstanceId()},
                   {"berth.kind", "user"},
                   {"berth.owner", "ghost"},
                   {"berth.record", "no-such-record"}};
  ASSERT_TRUE(runtime_->Create(orphan).ok());
  // Not ours (another instance): never touched.
  runtime::ContainerSpec foreign = orphan;
  foreign.name = "someone-elses";
  foreign.labels["berth.instance"] = "another-instance";
  ASSERT_TRUE(runtime_->Create(foreign).ok());
  // The user's container vanishes behind berth's back without an event.
  runtime_->Mutate([&](auto& containers) { containers.erase(endpoint->container_id); });

  ASSERT_TRUE(Manager().Reconcile().ok());
  auto containers = runtime_->Snapshot();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers.begin()->second.spec.name, "someone-elses");
  EXPECT_EQ(runtime_->removed_volumes, std::vector<std::string>{"mosaic-user-ghost-state"});
  EXPECT_EQ(store_->GetUserContainerByUser(user_)->status, "stopped");
  EXPECT_EQ(Manager().GetAgent(user_)->status, AgentStatus::kStopped);
}

TEST_F(AgentManagerTest, AReplicaThatDoesNotLeadLeavesTheFleetToTheLeader) {
  runtime::ContainerSpec orphan;
  orphan.name = "mosaic-user-ghost";
  orphan.labels = {{"berth.managed", "true"},
                   {"berth.instance", *store_->InstanceId()},
                   {"berth.record", "no-such-record"}};
  ASSERT_TRUE(runtime_->Create(orphan).ok());
  leadership_->leader = false;
  Manager();  // initialized without reconciling
  EXPECT_EQ(runtime_->Snapshot().size(), 1u);
  // Per-request work goes on: it starts its users' agents.
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  leadership_->leader = true;
  ASSERT_TRUE(Manager().Reconcile().ok());  // an admin's (or a new leader's) pass
  EXPECT_EQ(runtime_->Snapshot().size(), 1u);
  EXPECT_EQ(runtime_->Snapshot().begin()->second.spec.name, "mosaic-user-" + user_);
}

TEST_F(AgentManagerTest, HealthSweepMarksUnhealthyAgentsAndRestartsThemOnNextUse) {
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  probe_->status = 500;
  auto first = Manager().HealthCheck();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_FALSE((*first)[0].healthy);
  EXPECT_EQ(Manager().GetAgent(user_)->status, AgentStatus::kRunning);  // one failure tolerated
  auto second = Manager().HealthCheck();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Manager().GetAgent(user_)->status, AgentStatus::kFailed);
  probe_->status = 200;
  const int starts = runtime_->starts;
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  EXPECT_EQ(runtime_->starts, starts + 1);  // restarted, not just re-probed
  auto healthy = Manager().HealthCheck();
  ASSERT_TRUE(healthy.ok());
  ASSERT_EQ(healthy->size(), 1u);
  EXPECT_TRUE((*healthy)[0].healthy);
}

TEST_F(AgentManagerTest, SystemContainersAreKeptRunningUnlessAnAdminStoppedThem) {
  auto system = containers_->CreateSystemContainer("indexer", std::nullopt);
  ASSERT_TRUE(system.ok());
  const std::string id = system->record.id;
  ASSERT_TRUE(Manager().HealthCheck().ok());
  for (int i = 0; i < 2000; ++i) {
    auto agents = Manager().ListAgents();
    bool running = false;
    for (const auto& a : *agents) running |= a.owner == id && a.status == AgentStatus::kRunning;
    if (running) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(store_->GetSystemContainer(id)->status, "running");
  ASSERT_TRUE(Manager().StopSystemContainer(id).ok());
  const int starts = runtime_->starts;
  ASSERT_TRUE(Manager().HealthCheck().ok());
  // The keeper decides within HealthCheck: a start it began would show at once.
  auto agents = Manager().ListAgents();
  ASSERT_TRUE(agents.ok());
  for (const auto& a : *agents) {
    if (a.owner == id) {
      EXPECT_EQ(a.status, AgentStatus::kStopped);
    }
  }
  EXPECT_EQ(runtime_->starts, starts);
  EXPECT_EQ(store_->GetSystemContainer(id)->status, "stopped");
  ASSERT_TRUE(Manager().StartSystemContainer(id).ok());
  EXPECT_EQ(store_->GetSystemContainer(id)->status, "running");
}

TEST_F(AgentManagerTest, ConfigPushWritesOpenclawJsonOwnedByTheNodeUser) {
  auto endpoint = Manager().EnsureRunning(user_);
  ASSERT_TRUE(endpoint.ok());
  ASSERT_TRUE(Manager().PushConfig(user_).ok());
  ASSERT_TRUE(Manager().PushConfig(user_).ok());
  const auto files = runtime_->Snapshot().at(endpoint->container_id).Written("openclaw.json");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].dir, "/home/node/.openclaw");
  EXPECT_EQ(files[0].uid, 1000);
  EXPECT_EQ(files[0].mode, 0600);
  EXPECT_GT(files[1].mtime, files[0].mtime);  // the watcher needs a newer mtime each time
  EXPECT_NE(files[0].content.find("\"gateway\""), std::string::npos);
  // A stopped agent gets nothing: it fetches its config when it starts.
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  ASSERT_TRUE(Manager().PushConfig(user_).ok());
  EXPECT_EQ(runtime_->Snapshot().at(endpoint->container_id).Written("openclaw.json").size(), 2u);
}

TEST_F(AgentManagerTest, UnknownUserIsNotFound) {
  auto endpoint = Manager().EnsureRunning("nobody");
  ASSERT_FALSE(endpoint.ok());
  EXPECT_EQ(endpoint.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(runtime_->Snapshot().empty());
}

// Out of descriptors, a readiness or health probe fails like an unreachable gateway; it does
// not abort berth (the io_context it needs cannot be made).
TEST(HttpGatewayProbe, OutOfDescriptorsIsAFailedProbeNotAnAbort) {
  HttpGatewayProbe probe;
  Result<int> got = 0;
  bool exhausted = false;
  {
    berth::testing::FdExhaustion no_fds;
    exhausted = no_fds.exhausted();
    got = probe.Get("127.0.0.1", 9, "/readyz", 500ms);
  }
  ASSERT_TRUE(exhausted);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(got.status().message().find("Too many open files"), std::string::npos)
      << got.status().message();
}

}  // namespace
}  // namespace berth::lifecycle
