#include "lifecycle/agent_views.hpp"

#include <gtest/gtest.h>

#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

TEST(ViewOf, MergesTheLiveStateAndTheNewerActivity) {
  AgentRecord record;
  record.key = AgentKey::User("u1");
  record.id = "r1";
  record.container_name = "mosaic-user-u1";
  record.status = AgentStatus::kRunning;
  record.last_active_at = 2000;
  record.idle_timeout_min = 30;
  AgentView stored = ViewOf(record, nullptr);
  EXPECT_EQ(stored.status, AgentStatus::kRunning);
  EXPECT_EQ(stored.owner, "u1");
  EXPECT_EQ(stored.last_active_at, std::optional<int64_t>(2000));

  AgentEntry entry;
  entry.SetStatus(AgentStatus::kStarting, "waiting_for_ready");
  entry.open_streams = 2;
  entry.last_active_ms = 1000;  // older than the record's: the record's stays
  AgentView live = ViewOf(record, &entry);
  EXPECT_EQ(live.status, AgentStatus::kStarting);
  EXPECT_EQ(live.phase, "waiting_for_ready");
  EXPECT_EQ(live.open_streams, 2);
  EXPECT_EQ(live.last_active_at, std::optional<int64_t>(2000));
  entry.last_active_ms = 3000;
  EXPECT_EQ(ViewOf(record, &entry).last_active_at, std::optional<int64_t>(3000));
}

using AgentViewsTest = berth::testing::LifecyclePartsTest;

TEST_F(AgentViewsTest, AUserWithoutARecordIsStoppedAndAnUnknownOneIsNotFound) {
  AgentViews views(*records_, registry_);
  const std::string user = NewUser();
  auto view = views.Get(user);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, AgentStatus::kStopped);
  EXPECT_EQ(view->kind, store::ContainerKind::kUser);
  EXPECT_EQ(view->owner, user);
  EXPECT_EQ(views.Get("nobody").status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(containers_->CreateSystemContainer("indexer", std::nullopt).ok());
  auto all = views.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);  // the user has no record yet
  EXPECT_EQ((*all)[0].name, "indexer");
}

}  // namespace
}  // namespace berth::lifecycle
