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
  const std::string id = key_.owner;
  // Keep() begins a start at once or not at all; whether it began shows right after it returns.
  auto began = [&] {
    const int starts_before = runtime_->calls;
    keeper_->Keep();
    return Entry(key_).start != nullptr || runtime_->calls != starts_before;
  };
  auto backoff_becomes = [&](std::chrono::milliseconds delay) {
    return Eventually([&] { return keeper_->Backoff(id) == delay; });
  };
  runtime_->image_present = false;
  ASSERT_TRUE(began());
  ASSERT_TRUE(backoff_becomes(5s));  // failed; next try in 5 s
  EXPECT_FALSE(began());
  fake_clock_->Advance(5s);
  ASSERT_TRUE(began());
  ASSERT_TRUE(backoff_becomes(10s));  // failed again; doubled
  fake_clock_->Advance(9s);
  EXPECT_FALSE(began());
  fake_clock_->Advance(1s);
  ASSERT_TRUE(began());
  ASSERT_TRUE(backoff_becomes(12s));  // capped at system_backoff_max
  fake_clock_->Advance(12s);
  runtime_->image_present = true;
  ASSERT_TRUE(began());
  ASSERT_TRUE(Eventually([&] { return !keeper_->Backoff(id).has_value(); }));
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
