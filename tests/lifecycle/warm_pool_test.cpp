// The warm pool (WarmPool, LifecycleOptions::warm_pool) on the in-memory engine: pooled agents are
// started ahead, a user whose agent never ran takes one (their record, their config pushed), the
// pool refills, a returning user keeps their own container, and a pool of 0 changes nothing. The
// same with the real engine and the real OpenClaw gateway: tests/chat_e2e/warm_pool_e2e_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agentconfig/openclaw_config.hpp"
#include "lifecycle/agent_labels.hpp"
#include "lifecycle/cpu_burst.hpp"
#include "lifecycle/manager_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;
using runtime::ContainerState;

class WarmPoolTest : public berth::testing::ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    options_.pool_refill_delay = 0ms;
    probe_->config = containers_->PoolConfig();  // what a pooled gateway fetched at its start
  }
  // The configs the gateway applied, in order.
  std::vector<nlohmann::json> Applied() {
    std::lock_guard lock(probe_->rpc_mu);
    std::vector<nlohmann::json> configs;
    for (const auto& params : probe_->applied) {
      configs.push_back(nlohmann::json::parse(params.at("raw").get<std::string>()));
    }
    return configs;
  }
  // Waits up to two seconds for the gateway to have applied `n` configs.
  bool AppliedReaches(std::size_t n) {
    for (int i = 0; i < 200 && Applied().size() < n; ++i) std::this_thread::sleep_for(10ms);
    return Applied().size() >= n;
  }
  std::vector<store::SystemContainer> Pooled() {
    auto all = store_->ListSystemContainers();
    EXPECT_TRUE(all.ok());
    std::vector<store::SystemContainer> pooled;
    for (auto& c : *all) {
      if (service::IsPoolName(c.name)) pooled.push_back(c);
    }
    return pooled;
  }
  // Runs the leader's pool pass until `n` pooled agents are ready (their starts run on the start
  // pool), or two seconds pass.
  bool FillTo(int n) {
    for (int i = 0; i < 200; ++i) {
      Manager().KeepWarmPool();
      if (Manager().warm_pool().ready() == n) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // The engine's containers of pooled records and of users, by kind label.
  int Running() {
    int n = 0;
    for (const auto& [id, c] : runtime_->Snapshot()) {
      if (c.state == ContainerState::kRunning) ++n;
    }
    return n;
  }
};

TEST_F(WarmPoolTest, ANewUserTakesAReadyPooledAgentWithTheirConfigAndThePoolRefills) {
  options_.warm_pool = 1;
  ASSERT_TRUE(FillTo(1));
  const std::vector<store::SystemContainer> before = Pooled();
  ASSERT_EQ(before.size(), 1u);
  ASSERT_TRUE(before[0].container_id.has_value());
  ASSERT_EQ(runtime_->creates.load(), 1);
  EXPECT_EQ(probe_->posts.load(), 1);  // its warm-up turn
  // An admin does not see the pool among the system containers.
  EXPECT_TRUE(containers_->ListSystemContainers()->empty());

  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->container_id, *before[0].container_id);
  EXPECT_EQ(started->record_id, before[0].id);
  EXPECT_EQ(Manager().warm_pool().hits_total(), 1);
  EXPECT_EQ(Manager().warm_pool().misses_total(), 0);

  // The record, with the container's id and token, is the user's now.
  auto record = store_->GetUserContainerByUser(user_);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->id, before[0].id);
  EXPECT_EQ(record->token_hash, before[0].token_hash);
  EXPECT_EQ(record->status, "running");
  // Their config went into the container (and its backup), and nothing else did.
  const auto files = runtime_->Snapshot().at(started->container_id).files;
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, options_.contract.config_file_name + ".bak");
  EXPECT_EQ(files[1].name, options_.contract.config_file_name);
  EXPECT_EQ(files[1].content, providers_->BuildUserConfig(user_)->dump(2));
  EXPECT_EQ(files[0].content, files[1].content);
  auto view = Manager().GetAgent(user_);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->StatusName(), "running");
  // Its reload and first turn run with the start's CPU burst.
  ASSERT_TRUE(CpuBurst::Enabled(options_));
  EXPECT_EQ(runtime_->Snapshot().at(started->container_id).nano_cpus, options_.start_nano_cpus);

  // A replacement is made and started by the next passes.
  ASSERT_TRUE(FillTo(1));
  const std::vector<store::SystemContainer> after = Pooled();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].id, before[0].id);
  EXPECT_EQ(runtime_->creates.load(), 2);
  EXPECT_EQ(Running(), 2);

  // The next use is the warm path on the same container.
  auto again = Manager().EnsureRunning(user_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->container_id, started->container_id);
  EXPECT_EQ(Manager().warm_pool().hits_total(), 1);
}

TEST_F(WarmPoolTest, AGatewayWithAConfigApiAppliesTheUserConfigThroughIt) {
  options_.warm_pool = 1;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  // The warm-up: a turn, then two rehearsals of a config change (config.get, config.apply) each
  // with a turn: to another placeholder name and back.
  EXPECT_EQ(probe_->posts.load(), 3);
  EXPECT_EQ(probe_->rpc_calls.load(), 4);
  {
    std::lock_guard lock(probe_->rpc_mu);
    ASSERT_EQ(probe_->applied.size(), 2u);
    EXPECT_EQ(nlohmann::json::parse(probe_->applied[0].at("raw").get<std::string>()),
              containers_->PoolConfig(/*rehearsal=*/true));
    EXPECT_EQ(nlohmann::json::parse(probe_->applied[1].at("raw").get<std::string>()),
              containers_->PoolConfig());
  }

  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(Manager().warm_pool().hits_total(), 1);
  EXPECT_EQ(probe_->rpc_calls.load(), 6);
  std::lock_guard lock(probe_->rpc_mu);
  ASSERT_EQ(probe_->applied.size(), 3u);
  EXPECT_EQ(probe_->applied[2].at("baseHash"), "h3");
  EXPECT_EQ(nlohmann::json::parse(probe_->applied[2].at("raw").get<std::string>()),
            *providers_->BuildUserConfig(user_));
  // Applied by the gateway itself: only the backup is written, so that the gateway can never
  // restore the pool's config from it.
  const auto files = runtime_->Snapshot().at(started->container_id).files;
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, options_.contract.config_file_name + ".bak");
  EXPECT_EQ(files[0].content, providers_->BuildUserConfig(user_)->dump(2));
}

TEST_F(WarmPoolTest, AnIdleReadyPooledAgentIsKeptWarmByTheRehearsalsChanges) {
  options_.warm_pool = 1;
  options_.pool_keep_warm = 20s;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  ASSERT_EQ(Applied().size(), 2u);  // the warm-up's rehearsal
  const int posts = probe_->posts.load();
  Manager().KeepWarmPool();
  fake_clock_->Advance(19s);
  Manager().KeepWarmPool();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Applied().size(), 2u);  // not due yet
  fake_clock_->Advance(1s);
  Manager().KeepWarmPool();
  ASSERT_TRUE(AppliedReaches(4));
  const auto applied = Applied();
  EXPECT_EQ(applied[2], containers_->PoolConfig(/*rehearsal=*/true));
  EXPECT_EQ(applied[3], containers_->PoolConfig());
  for (int i = 0; i < 200 && Manager().warm_pool().keep_warms_total() < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Manager().warm_pool().keep_warms_total(), 1);
  EXPECT_EQ(probe_->posts.load(), posts);  // the changes alone: no turn reaches any provider
  EXPECT_EQ(Manager().warm_pool().ready(), 1);
}

TEST_F(WarmPoolTest, AKeepWarmOfZeroLeavesAWarmedUpAgentAlone) {
  options_.warm_pool = 1;
  options_.pool_keep_warm = 0s;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  fake_clock_->Advance(1h);
  Manager().KeepWarmPool();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Applied().size(), 2u);  // the warm-up's only
}

TEST_F(WarmPoolTest, AKeepWarmNeverReplacesAConfigThatIsNotAPlaceholder) {
  options_.warm_pool = 1;
  options_.pool_keep_warm = 20s;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  {
    // Another replica handed the agent to a user, and this one has not seen it yet.
    agentconfig::ProviderInput theirs;
    theirs.name = "fakellm";
    theirs.base_url = "http://172.17.0.1:3001/api/internal/llm/fakellm";
    theirs.models = {agentconfig::ModelEntry{"fake-model-1", std::nullopt, std::nullopt}};
    std::lock_guard lock(probe_->rpc_mu);
    probe_->config = agentconfig::BuildUserConfig(std::nullopt, {theirs});
  }
  const int posts = probe_->posts.load();
  fake_clock_->Advance(20s);
  Manager().KeepWarmPool();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(10ms);
    Manager().KeepWarmPool();
  }
  EXPECT_EQ(Applied().size(), 2u);         // the warm-up's only
  EXPECT_EQ(probe_->posts.load(), posts);  // no turn either
  EXPECT_EQ(Manager().warm_pool().keep_warms_total(), 0);
  std::lock_guard lock(probe_->rpc_mu);
  EXPECT_EQ(probe_->config["models"]["providers"].begin().key(), "fakellm");
}

TEST_F(WarmPoolTest, AHandOverWaitsForAKeepWarmStepInFlightAndEndsTheKeepWarm) {
  options_.warm_pool = 1;
  options_.pool_keep_warm = 20s;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  std::thread user;
  Result<AgentEndpoint> started = Unavailable("not started");
  std::atomic<bool> launched{false};
  probe_->on_apply = [&] {
    if (launched.exchange(true)) return;
    // The user comes while the keep-warm's first change is in flight.
    user = std::thread([&] { started = Manager().EnsureRunning(user_); });
    std::this_thread::sleep_for(500ms);
  };
  fake_clock_->Advance(20s);
  Manager().KeepWarmPool();
  for (int i = 0; i < 300 && !launched; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(launched);
  user.join();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(Manager().warm_pool().hits_total(), 1);
  std::this_thread::sleep_for(100ms);  // a keep-warm that went on would have applied by now
  const auto applied = Applied();
  ASSERT_EQ(applied.size(), 4u);  // warm-up's two, the keep-warm's first, the user's
  EXPECT_EQ(applied[2], containers_->PoolConfig(/*rehearsal=*/true));
  EXPECT_EQ(applied[3], *providers_->BuildUserConfig(user_));
}

TEST_F(WarmPoolTest, AHandOverWhoseConfigChangedUnderItReadsItAgain) {
  options_.warm_pool = 1;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  std::atomic<bool> once{false};
  probe_->on_apply = [&] {
    if (once.exchange(true)) return;
    std::lock_guard lock(probe_->rpc_mu);  // another replica's keep-warm, between get and apply
    ++probe_->changed_elsewhere;
  };
  const int calls = probe_->rpc_calls.load();
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(probe_->rpc_calls.load(), calls + 4);  // get, a refused apply, get, apply
  ASSERT_EQ(Applied().size(), 3u);
  EXPECT_EQ(Applied().back(), *providers_->BuildUserConfig(user_));
  const auto files = runtime_->Snapshot().at(started->container_id).files;
  ASSERT_EQ(files.size(), 1u);  // through the API: no file pushed, the backup only
}

TEST_F(WarmPoolTest, AFailedConfigApiCallFallsBackToThePushedFile) {
  options_.warm_pool = 1;
  probe_->rpc_status = 503;
  EXPECT_FALSE(FillTo(1));  // a failed rehearsal is a failed warm-up: not handed out
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  probe_->rpc_status = 503;  // and now the hand-over's call fails
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(Manager().warm_pool().hits_total(), 1);
  const auto files =
      runtime_->Snapshot().at(started->container_id).Written(options_.contract.config_file_name);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].content, providers_->BuildUserConfig(user_)->dump(2));
}

TEST_F(WarmPoolTest, TheRefillWaitsAfterAHandOver) {
  options_.warm_pool = 1;
  options_.pool_refill_delay = 1h;
  ASSERT_TRUE(FillTo(1));  // no hand-over yet: no wait
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_EQ(Manager().warm_pool().hits_total(), 1);
  Manager().KeepWarmPool();
  EXPECT_TRUE(Pooled().empty());  // the user's first turn keeps the CPU
  EXPECT_EQ(runtime_->creates.load(), 1);
}

TEST_F(WarmPoolTest, ARefillPassDuringTheConfigsApplyWaitsToo) {
  options_.warm_pool = 1;
  options_.pool_refill_delay = 1h;
  probe_->rpc_status = 200;
  ASSERT_TRUE(FillTo(1));
  probe_->on_apply = [this] { Manager().KeepWarmPool(); };  // the leader's pass, mid-hand-over
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  ASSERT_EQ(Manager().warm_pool().hits_total(), 1);
  EXPECT_TRUE(Pooled().empty());
  EXPECT_EQ(runtime_->creates.load(), 1);
}

TEST_F(WarmPoolTest, AUserWhoseAgentRanKeepsTheirOwnContainer) {
  options_.warm_pool = 1;
  auto first = Manager().EnsureRunning(user_);  // the pool is still empty: a miss
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Manager().warm_pool().misses_total(), 1);
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  ASSERT_TRUE(FillTo(1));

  auto again = Manager().EnsureRunning(user_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->container_id, first->container_id);  // their state's container
  EXPECT_EQ(Manager().warm_pool().hits_total(), 0);
  EXPECT_EQ(Manager().warm_pool().misses_total(), 1);  // a returning user is no miss
  EXPECT_EQ(Pooled().size(), 1u);
  EXPECT_EQ(Manager().warm_pool().ready(), 1);
}

TEST_F(WarmPoolTest, AnEmptyPoolMeansTheNormalStart) {
  options_.warm_pool = 1;
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const auto labels = runtime_->Snapshot().at(started->container_id).spec.labels;
  EXPECT_EQ(LabelOf(labels, kLabelKind), "user");
  EXPECT_EQ(LabelOf(labels, kLabelOwner), user_);
  EXPECT_EQ(Manager().warm_pool().misses_total(), 1);
}

TEST_F(WarmPoolTest, APoolOfZeroStartsNothingAndRemovesPooledAgentsLeftOver) {
  ASSERT_TRUE(containers_->CreatePoolContainer().ok());  // from when there was a pool
  Manager().KeepWarmPool();
  EXPECT_TRUE(Pooled().empty());
  EXPECT_EQ(runtime_->creates.load(), 0);

  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(runtime_->creates.load(), 1);
  EXPECT_EQ(Manager().warm_pool().hits_total(), 0);
  EXPECT_EQ(Manager().warm_pool().misses_total(), 0);
}

TEST_F(WarmPoolTest, SurplusPooledRecordsAreRemoved) {
  options_.warm_pool = 1;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(containers_->CreatePoolContainer().ok());
  ASSERT_TRUE(FillTo(1));
  EXPECT_EQ(Pooled().size(), 1u);
  EXPECT_EQ(runtime_->creates.load(), 1);
}

TEST_F(WarmPoolTest, APooledAgentThatDiesIsStartedAgain) {
  options_.warm_pool = 1;
  ASSERT_TRUE(FillTo(1));
  const std::string id = *Pooled().at(0).container_id;
  runtime_->Crash(id, 137);
  // The event watcher hears of it; the next pass starts it again (it never served anyone).
  // The new process's warm-up turn follows its readiness on the pool's own time: waited for too.
  bool restarted = false;
  for (int i = 0; i < 200 && !restarted; ++i) {
    Manager().KeepWarmPool();
    restarted = runtime_->starts.load() == 2 && Manager().warm_pool().ready() == 1 &&
                probe_->posts.load() >= 2;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(restarted);
  EXPECT_EQ(runtime_->Snapshot().at(id).state, ContainerState::kRunning);
  EXPECT_EQ(probe_->posts.load(), 2);  // the new process had a warm-up turn of its own
}

TEST_F(WarmPoolTest, APooledAgentIsHandedOutOnlyAfterItsWarmUpTurn) {
  options_.warm_pool = 1;
  probe_->post_status = 500;
  for (int i = 0; i < 20; ++i) {
    Manager().KeepWarmPool();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(probe_->posts.load(), 1);
  EXPECT_EQ(Manager().warm_pool().ready(), 0);
  auto started = Manager().EnsureRunning(user_);  // a normal start: a new container
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(runtime_->creates.load(), 2);
  EXPECT_EQ(Manager().warm_pool().misses_total(), 1);

  probe_->post_status = 200;
  EXPECT_TRUE(FillTo(1));
}

TEST_F(WarmPoolTest, AdminsCannotNameASystemContainerAsThePoolDoes) {
  auto made = containers_->CreateSystemContainer("berth-pool-mine", std::nullopt);
  EXPECT_EQ(made.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::lifecycle
