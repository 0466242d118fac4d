// Store::ClaimPoolAgent on every backend: a pooled agent's system record becomes a user's
// record in one transaction, never for a user whose agent has run, never twice.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers

using StorePoolClaimTest = StoreContractTest;

constexpr int64_t kNow = 5'000;

SystemContainer Pooled(const std::string& id, const std::string& hash) {
  SystemContainer s = MakeSystemContainer(id, "berth-pool-" + id, hash);
  s.node_id = "node-id";
  s.node_name = "node-a";
  return s;
}

// A record made for the user (an idle timeout set, say) whose agent never ran.
UserContainer NeverRan(const std::string& id, const std::string& user_id, const std::string& hash) {
  UserContainer c = MakeUserContainer(id, user_id, hash);
  c.container_id.reset();
  c.last_active_at.reset();
  c.status = "stopped";
  c.idle_timeout_min = 7;
  return c;
}

TEST_P(StorePoolClaimTest, APooledRecordBecomesTheUsersWithItsContainerAndToken) {
  CreateTwoUsers();
  const SystemContainer pooled = Pooled("p1", "hash-p1");
  ASSERT_OK(store_->CreateSystemContainer(pooled));

  auto claimed = store_->ClaimPoolAgent("p1", "u1", kNow, 30);
  ASSERT_OK(claimed);
  EXPECT_EQ(claimed->id, "p1");
  EXPECT_EQ(claimed->user_id, "u1");
  EXPECT_EQ(claimed->status, "running");
  EXPECT_EQ(claimed->idle_timeout_min, 30);
  EXPECT_EQ(claimed->last_active_at, kNow);
  EXPECT_EQ(claimed->config_json, "{}");
  auto stored = store_->GetUserContainerByUser("u1");
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, *claimed);
  EXPECT_EQ(stored->container_id, pooled.container_id);
  EXPECT_EQ(stored->container_name, pooled.container_name);
  EXPECT_EQ(stored->gateway_token, pooled.gateway_token);
  EXPECT_EQ(stored->token_hash, "hash-p1");
  EXPECT_EQ(stored->node_name, "node-a");
  EXPECT_EQ(store_->GetSystemContainer("p1").status().code(), ErrorCode::kNotFound);
  // The token now opens the user's config.
  auto source = store_->LoadAgentConfigSource("hash-p1");
  ASSERT_OK(source);
  EXPECT_EQ(source->container.kind, ContainerKind::kUser);
  EXPECT_EQ(source->container.id, "p1");

  // Taken: a second claim of it finds nothing.
  EXPECT_EQ(store_->ClaimPoolAgent("p1", "u2", kNow, 30).status().code(), ErrorCode::kNotFound);
}

TEST_P(StorePoolClaimTest, ARecordThatNeverRanIsReplacedAndKeepsItsIdleTimeout) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(NeverRan("c1", "u1", "hash-c1")));
  ASSERT_OK(store_->CreateSystemContainer(Pooled("p1", "hash-p1")));

  auto claimed = store_->ClaimPoolAgent("p1", "u1", kNow, 30);
  ASSERT_OK(claimed);
  EXPECT_EQ(claimed->id, "p1");
  EXPECT_EQ(claimed->idle_timeout_min, 7);
  EXPECT_EQ(store_->GetUserContainer("c1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->LoadAgentConfigSource("hash-c1").status().code(), ErrorCode::kNotFound);
}

TEST_P(StorePoolClaimTest, AUserWhoseAgentRanKeepsTheirRecordAndThePoolKeepsItsAgent) {
  CreateTwoUsers();
  const UserContainer ran = MakeUserContainer("c1", "u1", "hash-c1");  // has a container
  ASSERT_OK(store_->CreateUserContainer(ran));
  UserContainer stopped = NeverRan("c2", "u2", "hash-c2");
  stopped.last_active_at = 1'234;  // ran once; its container has gone since
  ASSERT_OK(store_->CreateUserContainer(stopped));
  ASSERT_OK(store_->CreateSystemContainer(Pooled("p1", "hash-p1")));

  EXPECT_EQ(store_->ClaimPoolAgent("p1", "u1", kNow, 30).status().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->ClaimPoolAgent("p1", "u2", kNow, 30).status().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(*store_->GetUserContainer("c1"), ran);
  EXPECT_EQ(*store_->GetUserContainer("c2"), stopped);
  EXPECT_OK(store_->GetSystemContainer("p1"));
}

TEST_P(StorePoolClaimTest, ConcurrentClaimsOfOneAgentHaveOneWinner) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateSystemContainer(Pooled("p1", "hash-p1")));
  auto other = OpenThisWithPool(2);
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  auto claim = [&](Store& store, const std::string& user) {
    auto r = store.ClaimPoolAgent("p1", user, kNow, 30);
    if (r.ok()) {
      ++won;
    } else if (r.status().code() == ErrorCode::kNotFound) {
      ++lost;
    } else {
      ADD_FAILURE() << r.status().ToString();
    }
  };
  std::thread a([&] { claim(*store_, "u1"); });
  std::thread b([&] { claim(*other, "u2"); });
  a.join();
  b.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 1);
  const bool u1 = store_->GetUserContainerByUser("u1").ok();
  const bool u2 = store_->GetUserContainerByUser("u2").ok();
  EXPECT_NE(u1, u2);
}

BERTH_ON_EVERY_BACKEND(StorePoolClaimTest);

}  // namespace
}  // namespace berth::store
