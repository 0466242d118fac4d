#include "lifecycle/health_sweeper.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "lifecycle/reconciler.hpp"
#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

// Answers like FakeProbe and remembers which threads probed.
class ThreadRecordingProbe final : public GatewayProbe {
 public:
  Result<int> Get(const std::string&, int, const std::string& path,
                  std::chrono::milliseconds) override {
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    paths.insert(path);
    return status;
  }
  Result<GatewayAnswer> Post(const std::string&, int, const std::string&, const std::string&,
                             const std::string&, std::chrono::milliseconds) override {
    return GatewayAnswer{200, ""};
  }
  std::mutex mu;
  std::set<std::thread::id> threads;  // guarded by mu
  std::set<std::string> paths;        // guarded by mu
  int status = 200;                   // guarded by mu
};

class HealthSweeperTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    options_.health_parallelism = 4;
    reconciler_ =
        std::make_unique<Reconciler>(*runtime_, *records_, registry_, instance_, *fake_clock_);
    sweeper_ = std::make_unique<HealthSweeper>(options_, instance_, *runtime_, *records_, registry_,
                                               *reconciler_, *secrets_, recording_);
  }
  void StartAgents(int n) {
    for (int i = 0; i < n; ++i) {
      users_.push_back(NewUser("u" + std::to_string(i)));
      ASSERT_TRUE(Starter().EnsureRunningAndWait(AgentKey::User(users_.back())).ok());
    }
  }

  ThreadRecordingProbe recording_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<HealthSweeper> sweeper_;
  std::vector<std::string> users_;
};

TEST_F(HealthSweeperTest, ProbesRunOnAPersistentPoolNotOnThreadsMadePerSweep) {
  StartAgents(12);
  for (int round = 0; round < 5; ++round) {
    auto results = sweeper_->Sweep();
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 12u);
    for (const auto& r : *results) EXPECT_TRUE(r.healthy) << r.error;
  }
  std::lock_guard lock(recording_.mu);
  // Three pool threads and the calling thread, over all five sweeps.
  EXPECT_LE(recording_.threads.size(), 4u);
  EXPECT_EQ(recording_.paths, std::set<std::string>{options_.contract.readiness_path});
}

TEST_F(HealthSweeperTest, FailingProbesMarkTheAgentFailedAfterTheThreshold) {
  StartAgents(1);
  const AgentKey key = AgentKey::User(users_[0]);
  {
    std::lock_guard lock(recording_.mu);
    recording_.status = 500;
  }
  auto first = sweeper_->Sweep();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_FALSE((*first)[0].healthy);
  EXPECT_EQ((*first)[0].error, "readiness probe failed: /readyz answered 500");
  EXPECT_EQ(Entry(key).status, AgentStatus::kRunning);  // one failure tolerated
  ASSERT_TRUE(sweeper_->Sweep().ok());
  const AgentEntry entry = Entry(key);
  EXPECT_EQ(entry.status, AgentStatus::kFailed);
  EXPECT_TRUE(entry.needs_restart);
  EXPECT_EQ(store_->GetUserContainerByUser(users_[0])->status, "failed");
  EXPECT_EQ(sweeper_->failures_total(), 2);
}

TEST_F(HealthSweeperTest, AContainerThatExitedSilentlyIsFoundByTheSweepsReconcile) {
  StartAgents(1);
  const AgentKey key = AgentKey::User(users_[0]);
  const std::string id = Entry(key).container_id;
  runtime_->Mutate([&](auto& containers) {  // no event: only the engine's list tells
    containers.at(id).state = runtime::ContainerState::kExited;
    containers.at(id).exit_code = 3;
  });
  auto results = sweeper_->Sweep();
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(results->empty());  // not running by the time of the probes
  EXPECT_EQ(Entry(key).status, AgentStatus::kStopped);
  EXPECT_FALSE(Entry(key).Warm());
  EXPECT_EQ(store_->GetUserContainerByUser(users_[0])->status, "stopped");
}

}  // namespace
}  // namespace berth::lifecycle
