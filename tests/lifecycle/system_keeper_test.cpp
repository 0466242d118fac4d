#include "lifecycle/system_keeper.hpp"

#include <gtest/gtest.h>

#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;

class SystemKeeperTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    options_.system_backoff_initial = 5s;
    options_.system_backoff_max = 12s;
    auto system = containers_->CreateSystemContainer("indexer", std::nullopt);
    ASSERT_TRUE(system.ok());
    key_ = AgentKey::System(system->record.id);
    keeper_ = std::make_unique<SystemKeeper>(options_, *records_, registry_, Starter(), Stopper(),
                                             *fake_clock_);
  }
  // Keep() only begins a start; this waits for it to end.
  void KeepAndSettle() {
    keeper_->Keep();
    ASSERT_TRUE(Eventually([&] { return Entry(key_).start == nullptr; }));
  }

  AgentKey key_;
  std::unique_ptr<SystemKeeper> keeper_;
};

TEST_F(SystemKeeperTest, StartsAStoppedSystemContainerAndLeavesARunningOneAlone) {
  KeepAndSettle();
  EXPECT_EQ(Entry(key_).status, AgentStatus::kRunning);
  EXPECT_EQ(runtime_->starts, 1);
  KeepAndSettle();
  EXPECT_EQ(runtime_->starts, 1);
}

TEST_F(SystemKeeperTest, FailedStartsAreRetriedWithDoublingBackoffOnTheClock) {
  runtime_->image_present = false;
  KeepAndSettle();  // fails; next try in 5 s
  const int creates_tried = runtime_->calls;
  KeepAndSettle();
  EXPECT_EQ(runtime_->calls, creates_tried);  // still backing off
  fake_clock_->Advance(5s);
  KeepAndSettle();  // fails again; next try in 10 s
  const int second = runtime_->calls;
  EXPECT_GT(second, creates_tried);
  fake_clock_->Advance(9s);
  KeepAndSettle();
  EXPECT_EQ(runtime_->calls, second);
  fake_clock_->Advance(1s);
  runtime_->image_present = true;
  KeepAndSettle();
  EXPECT_EQ(Entry(key_).status, AgentStatus::kRunning);
}

TEST_F(SystemKeeperTest, AnAdminsStopIsRememberedUntilAnAdminsStart) {
  KeepAndSettle();
  ASSERT_TRUE(keeper_->Stop(key_.owner).ok());
  EXPECT_NE(records_->Find(key_)->config_json.find("stopped"), std::string::npos);
  KeepAndSettle();
  EXPECT_EQ(Entry(key_).status, AgentStatus::kStopped);
  EXPECT_EQ(runtime_->starts, 1);
  ASSERT_TRUE(keeper_->Start(key_.owner).ok());
  EXPECT_EQ(records_->Find(key_)->config_json, "{}");
  EXPECT_EQ(Entry(key_).status, AgentStatus::kRunning);
  EXPECT_EQ(keeper_->Start("no-such-id").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::lifecycle
