#include "lifecycle/config_pusher.hpp"

#include <gtest/gtest.h>

#include "lifecycle_parts.hpp"

namespace berth::lifecycle {
namespace {

using namespace std::chrono_literals;

class ConfigPusherTest : public berth::testing::LifecyclePartsTest {
 protected:
  void SetUp() override {
    LifecyclePartsTest::SetUp();
    user_ = NewUser();
    auto started = Starter().EnsureRunningAndWait(AgentKey::User(user_));
    ASSERT_TRUE(started.ok());
    container_id_ = started->container_id;
    pusher_ = std::make_unique<ConfigPusher>(options_.contract, registry_, *records_, *providers_,
                                             *runtime_, *fake_clock_);
  }
  // The config's writes; each push writes the backup before it, with the same content.
  std::vector<runtime::ContainerRuntime::FileSpec> Files() {
    const auto container = runtime_->Snapshot().at(container_id_);
    const auto configs = container.Written(options_.contract.config_file_name);
    const auto backups = container.Written(options_.contract.config_file_name + ".bak");
    EXPECT_EQ(container.files.size(), configs.size() + backups.size());
    EXPECT_EQ(backups.size(), configs.size());
    for (std::size_t i = 0; i < std::min(configs.size(), backups.size()); ++i) {
      EXPECT_EQ(backups[i].content, configs[i].content);
      EXPECT_EQ(backups[i].dir, configs[i].dir);
    }
    return configs;
  }

  std::unique_ptr<ConfigPusher> pusher_;
  std::string user_;
  std::string container_id_;
};

TEST_F(ConfigPusherTest, WritesTheConfigWhereTheContractSaysWithANewerMtimeEachTime) {
  ASSERT_TRUE(pusher_->Push(user_).ok());
  ASSERT_TRUE(pusher_->Push(user_).ok());  // same second on the clock: still a newer mtime
  auto files = Files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].dir, options_.contract.state_dir);
  EXPECT_EQ(files[0].name, options_.contract.config_file_name);
  EXPECT_EQ(files[0].uid, options_.contract.uid);
  EXPECT_EQ(files[0].gid, options_.contract.gid);
  EXPECT_EQ(files[0].mode, 0600);
  EXPECT_EQ(files[1].mtime - files[0].mtime, 1s);
  EXPECT_NE(files[0].content.find("\"gateway\""), std::string::npos);
}

TEST_F(ConfigPusherTest, AnAgentRunningForAnotherReplicaGetsItThroughItsRecord) {
  {
    // Unknown here (another replica started it); its record says running in this container.
    auto locked = registry_.Lock();
    locked.Get(AgentKey::User(user_)).SetStatus(AgentStatus::kStopped);
  }
  ASSERT_TRUE(pusher_->Push(user_).ok());
  EXPECT_EQ(Files().size(), 1u);
}

TEST_F(ConfigPusherTest, NothingIsSentToAnAgentThatIsNotRunningAnywhere) {
  {
    auto locked = registry_.Lock();
    locked.Get(AgentKey::User(user_)).SetStatus(AgentStatus::kStopped);
  }
  auto row = store_->GetUserContainerByUser(user_);
  ASSERT_TRUE(row.ok());
  row->status = "stopped";
  ASSERT_TRUE(store_->UpdateUserContainer(*row).ok());
  ASSERT_TRUE(pusher_->Push(user_).ok());
  ASSERT_TRUE(pusher_->Push("never-seen").ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(ConfigPusherTest, ChangesAreQueuedAndPushedByItsThread) {
  pusher_->Start();
  pusher_->Changed(user_);
  ASSERT_TRUE(Eventually([&] { return Files().size() == 1; }));
  pusher_->Stop();
}

}  // namespace
}  // namespace berth::lifecycle
