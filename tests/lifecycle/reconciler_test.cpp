#include "lifecycle/reconciler.hpp"

#include <gtest/gtest.h>

#include "lifecycle/agent_labels.hpp"
#include "lifecycle/spec_builder.hpp"
#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

class ReconcilerTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    reconciler_ =
        std::make_unique<Reconciler>(*runtime_, *records_, registry_, instance_, *fake_clock_);
    user_ = NewUser();
    auto record = records_->FindOrProvision(AgentKey::User(user_));
    ASSERT_TRUE(record.ok());
    record_ = *record;
  }
  // A container of this instance for the record, made behind the reconciler's back.
  std::string MakeContainer(const std::string& name, bool running) {
    AgentRecord r = record_;
    r.container_name = name;
    auto id = runtime_->Create(BuildContainerSpec(r, "tok", options_, instance_));
    EXPECT_TRUE(id.ok());
    if (running) {
      EXPECT_TRUE(runtime_->Start(*id).ok());
    }
    return *id;
  }

  std::unique_ptr<Reconciler> reconciler_;
  std::string user_;
  AgentRecord record_;
};

TEST_F(ReconcilerTest, AdoptsTheRecordsRunningContainerAndMarksItRunningUnverified) {
  const std::string id = MakeContainer("mosaic-user-" + user_, /*running=*/true);
  ASSERT_TRUE(reconciler_->Reconcile().ok());
  auto stored = records_->Find(AgentKey::User(user_));
  EXPECT_EQ(stored->container_id, std::optional<std::string>(id));
  EXPECT_EQ(stored->status, AgentStatus::kRunning);
  const AgentEntry entry = Entry(AgentKey::User(user_));
  EXPECT_EQ(entry.status, AgentStatus::kRunning);
  EXPECT_FALSE(entry.verified);  // the next start path or sweep looks first
  EXPECT_EQ(registry_.Lock().KeyOfContainer(id), std::optional<AgentKey>(AgentKey::User(user_)));
}

TEST_F(ReconcilerTest, RemovesADuplicateOfARecordThatHasItsContainer) {
  const std::string kept = MakeContainer("mosaic-user-" + user_, true);
  ASSERT_TRUE(records_->SaveState(record_.key, AgentStatus::kRunning, kept).ok());
  const std::string duplicate = MakeContainer("mosaic-user-" + user_ + "-copy", true);
  ASSERT_TRUE(reconciler_->Reconcile().ok());
  auto containers = runtime_->Snapshot();
  EXPECT_EQ(containers.count(kept), 1u);
  EXPECT_EQ(containers.count(duplicate), 0u);
}

TEST_F(ReconcilerTest, KeepsAFailedRecordFailedAndLeavesStartsInFlightAlone) {
  ASSERT_TRUE(records_->SaveState(record_.key, AgentStatus::kFailed, std::nullopt).ok());
  ASSERT_TRUE(reconciler_->Reconcile().ok());
  EXPECT_EQ(records_->Find(record_.key)->status, AgentStatus::kFailed);
  // A start in flight owns its record: a stray container of it is not adopted meanwhile.
  {
    auto locked = registry_.Lock();
    locked.Get(record_.key).start = std::make_shared<StartOp>(fake_clock_->SteadyNow());
  }
  MakeContainer("mosaic-user-" + user_, true);
  ASSERT_TRUE(reconciler_->Reconcile().ok());
  EXPECT_FALSE(records_->Find(record_.key)->container_id.has_value());
  auto locked = registry_.Lock();
  locked.Get(record_.key).start.reset();
}

}  // namespace
}  // namespace berth::lifecycle
