#include "lifecycle/agent_record.hpp"

#include <gtest/gtest.h>

#include "lifecycle/agent_key.hpp"
#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using berth::testing::LifecyclePartsTest;
using AgentRecordsTest = LifecyclePartsTest;

TEST(AgentKey, OrdersByKindThenOwnerAndNamesItself) {
  EXPECT_LT(AgentKey::User("b"), AgentKey::System("a"));
  EXPECT_LT(AgentKey::User("a"), AgentKey::User("b"));
  EXPECT_EQ(AgentKey::User("a"), AgentKey::User("a"));
  EXPECT_NE(AgentKey::User("a"), AgentKey::System("a"));
  EXPECT_EQ(ToString(AgentKey::User("u1")), "user:u1");
  EXPECT_EQ(ToString(AgentKey::System("s1")), "system:s1");
  EXPECT_TRUE(AgentKey::User("u").is_user());
  EXPECT_FALSE(AgentKey::System("s").is_user());
}

TEST(AgentRecord, BothRowKindsTakeOneShape) {
  store::UserContainer u;
  u.id = "r1";
  u.user_id = "u1";
  u.container_name = "mosaic-user-u1";
  u.container_id = "cid";
  u.gateway_token = "enc:v1:...";
  u.status = "running";
  u.last_active_at = 42;
  u.idle_timeout_min = 15;
  const AgentRecord user = AgentRecord::From(u);
  EXPECT_EQ(user.key, AgentKey::User("u1"));
  EXPECT_EQ(user.id, "r1");
  EXPECT_EQ(user.container_id, std::optional<std::string>("cid"));
  EXPECT_EQ(user.sealed_token, "enc:v1:...");
  EXPECT_EQ(user.status, AgentStatus::kRunning);
  EXPECT_EQ(user.last_active_at, std::optional<int64_t>(42));
  EXPECT_EQ(user.idle_timeout_min, 15);
  EXPECT_TRUE(user.name.empty());

  store::SystemContainer s;
  s.id = "s1";
  s.name = "indexer";
  s.container_name = "mosaic-system-indexer";
  s.status = "failed";
  s.config_json = R"({"desiredState":"stopped"})";
  const AgentRecord system = AgentRecord::From(s);
  EXPECT_EQ(system.key, AgentKey::System("s1"));
  EXPECT_EQ(system.name, "indexer");
  EXPECT_EQ(system.status, AgentStatus::kFailed);
  EXPECT_EQ(system.config_json, s.config_json);
  EXPECT_EQ(system.idle_timeout_min, 0);
}

TEST_F(AgentRecordsTest, FindOrProvisionCreatesAUsersRecordOnceAndOnlyForUsers) {
  const std::string user = NewUser();
  EXPECT_EQ(records_->Find(AgentKey::User(user)).status().code(), ErrorCode::kNotFound);
  auto first = records_->FindOrProvision(AgentKey::User(user));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->container_name, "mosaic-user-" + user);
  auto again = records_->FindOrProvision(AgentKey::User(user));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(records_->FindOrProvision(AgentKey::User("nobody")).status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(records_->FindOrProvision(AgentKey::System("none")).status().code(),
            ErrorCode::kNotFound);
}

TEST_F(AgentRecordsTest, SaveStateWritesEitherKindAndStampsRunningAgents) {
  const std::string user = NewUser();
  ASSERT_TRUE(records_->FindOrProvision(AgentKey::User(user)).ok());
  auto system = containers_->CreateSystemContainer("indexer", std::nullopt);
  ASSERT_TRUE(system.ok());
  const AgentKey sys = AgentKey::System(system->record.id);
  for (const AgentKey& key : {AgentKey::User(user), sys}) {
    ASSERT_TRUE(records_->SaveState(key, AgentStatus::kRunning, std::string("cid-1")).ok());
    auto found = records_->Find(key);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->status, AgentStatus::kRunning);
    EXPECT_EQ(found->container_id, std::optional<std::string>("cid-1"));
    EXPECT_EQ(found->last_active_at, std::optional<int64_t>(ToUnixMillis(fake_clock_->Now())));
    // No container id given: the recorded one stays.
    ASSERT_TRUE(records_->SaveState(key, AgentStatus::kStopped, std::nullopt).ok());
    EXPECT_EQ(records_->Find(key)->container_id, std::optional<std::string>("cid-1"));
    EXPECT_EQ(records_->Find(key)->status, AgentStatus::kStopped);
  }
  EXPECT_EQ(store_->GetUserContainerByUser(user)->status, "stopped");
  EXPECT_EQ(store_->GetSystemContainer(sys.owner)->status, "stopped");
}

TEST_F(AgentRecordsTest, SaveObservedSetsTheContainerIdEvenToNone) {
  const std::string user = NewUser();
  auto record = records_->FindOrProvision(AgentKey::User(user));
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(records_->SaveState(record->key, AgentStatus::kRunning, std::string("cid")).ok());
  ASSERT_TRUE(records_
                  ->SaveObserved(store::ContainerKind::kUser, record->id, AgentStatus::kStopped,
                                 std::nullopt)
                  .ok());
  auto after = records_->Find(record->key);
  EXPECT_EQ(after->status, AgentStatus::kStopped);
  EXPECT_FALSE(after->container_id.has_value());
  EXPECT_EQ(
      records_
          ->SaveObserved(store::ContainerKind::kUser, "gone", AgentStatus::kStopped, std::nullopt)
          .code(),
      ErrorCode::kNotFound);
}

TEST_F(AgentRecordsTest, ListGivesUsersThenSystemContainers) {
  const std::string user = NewUser();
  ASSERT_TRUE(records_->FindOrProvision(AgentKey::User(user)).ok());
  ASSERT_TRUE(containers_->CreateSystemContainer("indexer", std::nullopt).ok());
  auto all = records_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE((*all)[0].key.is_user());
  EXPECT_FALSE((*all)[1].key.is_user());
  EXPECT_EQ(records_->ListSystem()->size(), 1u);
  EXPECT_TRUE(records_->CheckUser(user).ok());
  EXPECT_EQ(records_->CheckUser("nobody").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::lifecycle
