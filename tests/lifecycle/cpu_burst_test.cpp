// The start's CPU burst (LifecycleOptions::start_nano_cpus, CpuBurst): an agent started from cold
// gets the higher CPU limit until start_burst after it was ready, then its own; a resume from
// pause gets none. Time is the fake clock's; the engine's part (the limit changed in place) is
// DockerRuntimeTest.SetCpuLimitChangesARunningContainersLimit (tests/runtime).
#include <gtest/gtest.h>

#include <string>

#include "lifecycle/manager_fixture.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;

class CpuBurstTest : public berth::testing::ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    options_.nano_cpus = 1'000'000'000;
    options_.start_nano_cpus = 2'000'000'000;
    options_.start_burst = 60s;
  }
  int64_t CpusOf(const std::string& id) { return runtime_->Snapshot().at(id).nano_cpus; }
};

TEST_F(CpuBurstTest, ANewAgentStartsWithTheBurstAndKeepsItsOwnLimitAfterIt) {
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const std::string id = started->container_id;
  EXPECT_EQ(CpusOf(id), 2'000'000'000);
  // The limit the container is judged by stays its own: the burst is not in the spec's hash.
  EXPECT_EQ(runtime_->Snapshot().at(id).spec.nano_cpus, 1'000'000'000);

  fake_clock_->Advance(59s);
  EXPECT_EQ(Manager().EndCpuBursts(), 0);
  EXPECT_EQ(CpusOf(id), 2'000'000'000);
  fake_clock_->Advance(2s);
  EXPECT_EQ(Manager().EndCpuBursts(), 1);
  EXPECT_EQ(CpusOf(id), 1'000'000'000);
  EXPECT_EQ(Manager().EndCpuBursts(), 0);  // once
}

TEST_F(CpuBurstTest, AStoppedAgentIsRaisedAgainForItsNextStartButAResumeIsNot) {
  auto first = Manager().EnsureRunning(user_);
  ASSERT_TRUE(first.ok());
  fake_clock_->Advance(61s);
  ASSERT_EQ(Manager().EndCpuBursts(), 1);
  ASSERT_TRUE(Manager().StopAgent(user_).ok());

  auto second = Manager().EnsureRunning(user_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->container_id, first->container_id);  // the same container, from cold
  EXPECT_EQ(runtime_->creates.load(), 1);
  EXPECT_EQ(CpusOf(second->container_id), 2'000'000'000);
  fake_clock_->Advance(61s);
  EXPECT_EQ(Manager().EndCpuBursts(), 1);
  EXPECT_EQ(CpusOf(second->container_id), 1'000'000'000);

  // Paused when idle, then used: thawed as it was, at its own limit, with no burst to end.
  fake_clock_->Advance(5min);
  ASSERT_TRUE(Manager().Reap().ok());
  ASSERT_EQ(runtime_->Snapshot().at(second->container_id).state, runtime::ContainerState::kPaused);
  const int updates = runtime_->cpu_updates.load();
  auto resumed = Manager().EnsureRunning(user_);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(runtime_->cpu_updates.load(), updates);
  EXPECT_EQ(CpusOf(resumed->container_id), 1'000'000'000);
  fake_clock_->Advance(2h);
  EXPECT_EQ(Manager().EndCpuBursts(), 0);
}

TEST_F(CpuBurstTest, NoBurstWhenItIsNotAboveTheAgentsOwnLimit) {
  options_.start_nano_cpus = 0;
  auto started = Manager().EnsureRunning(user_);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(CpusOf(started->container_id), 1'000'000'000);
  ASSERT_TRUE(Manager().StopAgent(user_).ok());
  ASSERT_TRUE(Manager().EnsureRunning(user_).ok());
  fake_clock_->Advance(2h);
  EXPECT_EQ(Manager().EndCpuBursts(), 0);
  EXPECT_EQ(runtime_->cpu_updates.load(), 0);
  EXPECT_EQ(CpusOf(started->container_id), 1'000'000'000);
}

}  // namespace
}  // namespace berth::lifecycle
