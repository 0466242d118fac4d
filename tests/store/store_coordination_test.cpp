// The Store contract for several replicas (coordination.hpp), the same assertions on every
// backend: leases with fencing epochs, fenced writes of starts, the change feed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using namespace ::berth::store::testing;  // NOLINT: test helpers

using StoreCoordinationTest = StoreContractTest;

constexpr int64_t kLong = 60'000;

TEST_P(StoreCoordinationTest, ALeaseHasOneHolderUntilReleasedAndEachTakeRaisesTheEpoch) {
  auto a = store_->AcquireLease("leader", "replica-a", kLong);
  ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  auto b = store_->AcquireLease("leader", "replica-b", kLong);
  ASSERT_OK(b);
  EXPECT_FALSE(b->has_value());  // held by a

  const LeaseFence fence_a{"leader", "replica-a", **a};
  auto renewed = store_->RenewLease(fence_a, kLong);
  ASSERT_OK(renewed);
  EXPECT_TRUE(*renewed);
  auto held = store_->ListHeldLeases("lead");
  ASSERT_OK(held);
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ(held->front().holder, "replica-a");
  EXPECT_EQ(held->front().epoch, **a);
  EXPECT_GT(held->front().remaining_ms, kLong - 10'000);

  ASSERT_OK(store_->ReleaseLease(fence_a));
  auto none = store_->ListHeldLeases("lead");
  ASSERT_OK(none);
  EXPECT_THAT(*none, IsEmpty());
  b = store_->AcquireLease("leader", "replica-b", kLong);
  ASSERT_OK(b);
  ASSERT_TRUE(b->has_value());
  EXPECT_GT(**b, **a);
  // The old holder's epoch is fenced off: no renewal, no release of b's lease.
  renewed = store_->RenewLease(fence_a, kLong);
  ASSERT_OK(renewed);
  EXPECT_FALSE(*renewed);
  ASSERT_OK(store_->ReleaseLease(fence_a));
  held = store_->ListHeldLeases("leader");
  ASSERT_OK(held);
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ(held->front().holder, "replica-b");
}

TEST_P(StoreCoordinationTest, AnExpiredLeaseIsTakenOverWithAHigherEpoch) {
  auto a = store_->AcquireLease("start:c1", "replica-a", 1);
  ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the database's clock moves on
  auto b = store_->AcquireLease("start:c1", "replica-b", kLong);
  ASSERT_OK(b);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ(**b, **a + 1);
  auto renewed = store_->RenewLease({"start:c1", "replica-a", **a}, kLong);
  ASSERT_OK(renewed);
  EXPECT_FALSE(*renewed);
  // Other names are other leases.
  auto other = store_->AcquireLease("start:c2", "replica-a", kLong);
  ASSERT_OK(other);
  EXPECT_TRUE(other->has_value());
  auto starts = store_->ListHeldLeases("start:");
  ASSERT_OK(starts);
  EXPECT_THAT(*starts,
              ElementsAre(Field(&Lease::name, "start:c1"), Field(&Lease::name, "start:c2")));
}

TEST_P(StoreCoordinationTest, ConcurrentAcquiresHaveExactlyOneWinner) {
  std::atomic<int> winners{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto got = store_->AcquireLease("start:race", "replica-" + std::to_string(i), kLong);
      if (!got.ok()) {
        ++errors;
      } else if (got->has_value()) {
        ++winners;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(StoreCoordinationTest, AStartWritesOnlyWhileItsLeaseHolds) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
  auto epoch = store_->AcquireLease("start:c1", "replica-a", kLong);
  ASSERT_OK(epoch);
  ASSERT_TRUE(epoch->has_value());
  const LeaseFence fence{"start:c1", "replica-a", **epoch};

  ASSERT_OK(store_->SaveAgentState(ContainerKind::kUser, "c1",
                                   {"running", std::string("engine-1"), 5'000'000}, fence));
  auto row = store_->GetUserContainer("c1");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, "running");
  EXPECT_EQ(row->container_id, "engine-1");
  EXPECT_EQ(row->last_active_at, 5'000'000);
  EXPECT_EQ(row->updated_at, 5'000'000);
  // A later write without a container id keeps it, and never lowers the activity stamp.
  ASSERT_OK(
      store_->SaveAgentState(ContainerKind::kUser, "c1", {"running", std::nullopt, 4'000}, fence));
  row = store_->GetUserContainer("c1");
  ASSERT_OK(row);
  EXPECT_EQ(row->container_id, "engine-1");
  EXPECT_EQ(row->last_active_at, 5'000'000);

  // Taken over: the old holder's writes are refused and change nothing.
  ASSERT_OK(store_->ReleaseLease(fence));
  auto taken = store_->AcquireLease("start:c1", "replica-b", kLong);
  ASSERT_OK(taken);
  ASSERT_TRUE(taken->has_value());
  Status fenced = store_->SaveAgentState(ContainerKind::kUser, "c1",
                                         {"failed", std::string("engine-2"), 6'000'000}, fence);
  EXPECT_EQ(fenced.code(), ErrorCode::kAborted) << fenced.ToString();
  row = store_->GetUserContainer("c1");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, "running");
  EXPECT_EQ(row->container_id, "engine-1");
  // An empty fence writes unconditionally (a stop's write).
  ASSERT_OK(store_->SaveAgentState(ContainerKind::kUser, "c1", {"stopped", std::nullopt, 7'000'000},
                                   LeaseFence{}));
  row = store_->GetUserContainer("c1");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, "stopped");
  EXPECT_EQ(row->container_id, "engine-1");
  EXPECT_EQ(row->last_active_at, 5'000'000);  // raised only for a running agent
  // A record that is gone is kNotFound, not a fencing failure.
  Status gone = store_->SaveAgentState(ContainerKind::kSystem, "missing",
                                       {"running", std::nullopt, 1}, fence);
  EXPECT_EQ(gone.code(), ErrorCode::kNotFound) << gone.ToString();
}

TEST_P(StoreCoordinationTest, AnAgentIsPinnedToOneNodeOnce) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-2")));
  EXPECT_EQ(store_->GetUserContainer("c1")->node_id, std::nullopt);

  ASSERT_OK(store_->PinAgentNode(ContainerKind::kUser, "c1", "id-a", "node-a"));
  auto row = store_->GetUserContainer("c1");
  ASSERT_OK(row);
  EXPECT_EQ(row->node_id, "id-a");
  EXPECT_EQ(row->node_name, "node-a");
  // Again to the same node: ok; to another: refused, naming the node it is pinned to.
  EXPECT_OK(store_->PinAgentNode(ContainerKind::kUser, "c1", "id-a", "node-a"));
  Status other = store_->PinAgentNode(ContainerKind::kUser, "c1", "id-b", "node-b");
  EXPECT_EQ(other.code(), ErrorCode::kAlreadyExists) << other.ToString();
  EXPECT_THAT(other.message(), ::testing::HasSubstr("node-a (id-a)"));
  EXPECT_EQ(store_->GetUserContainer("c1")->node_id, "id-a");
  // The lifecycle's whole-record writes keep the pin.
  UserContainer updated = *row;
  updated.status = "running";
  ASSERT_OK(store_->UpdateUserContainer(updated));
  EXPECT_EQ(store_->GetUserContainer("c1")->node_name, "node-a");

  ASSERT_OK(store_->PinAgentNode(ContainerKind::kSystem, "s1", "id-b", "node-b"));
  EXPECT_EQ(store_->GetSystemContainer("s1")->node_name, "node-b");
  EXPECT_EQ(store_->PinAgentNode(ContainerKind::kUser, "missing", "id-a", "node-a").code(),
            ErrorCode::kNotFound);
}

TEST_P(StoreCoordinationTest, TheChangeFeedListsChangesInOrderSinceAStamp) {
  auto empty = store_->ChangesSince(0, 100);
  ASSERT_OK(empty);
  EXPECT_THAT(empty->changes, IsEmpty());
  EXPECT_GT(empty->db_now_ms, 1'600'000'000'000);  // the database's clock, in Unix ms
  const int64_t before = empty->db_now_ms;

  ASSERT_OK(store_->PublishChange("user_deleted", "u1"));
  ASSERT_OK(store_->PublishChange("token_revoked", "t9"));
  auto batch = store_->ChangesSince(before - 1'000, 100);
  ASSERT_OK(batch);
  ASSERT_EQ(batch->changes.size(), 2u);
  EXPECT_EQ(batch->changes[0].kind, "user_deleted");
  EXPECT_EQ(batch->changes[0].subject, "u1");
  EXPECT_EQ(batch->changes[1].kind, "token_revoked");
  EXPECT_LT(batch->changes[0].seq, batch->changes[1].seq);
  EXPECT_GE(batch->changes[0].at_ms, before - 5);
  EXPECT_GE(batch->db_now_ms, batch->changes[1].at_ms);
  auto limited = store_->ChangesSince(before - 1'000, 1);
  ASSERT_OK(limited);
  EXPECT_EQ(limited->changes.size(), 1u);
  auto later = store_->ChangesSince(batch->db_now_ms + 60'000, 100);
  ASSERT_OK(later);
  EXPECT_THAT(later->changes, IsEmpty());

  // Pruning keeps what is younger than the age given, and drops the rest.
  ASSERT_OK(store_->PruneCoordination(60'000));
  batch = store_->ChangesSince(0, 100);
  ASSERT_OK(batch);
  EXPECT_EQ(batch->changes.size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_OK(store_->PruneCoordination(1));
  batch = store_->ChangesSince(0, 100);
  ASSERT_OK(batch);
  EXPECT_THAT(batch->changes, IsEmpty());
}

// A replica that cached a token must hear of its deletion: the store enters it in the feed in
// the deletion's own transaction, so no separate publish can be lost after it committed.
TEST_P(StoreCoordinationTest, DeletingATokenOrAUserEntersTheChangeInTheFeed) {
  ASSERT_OK(store_->CreateUser(MakeUser("u1")));
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("t1", "u1", "hash-1")));
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("t2", "u1", "hash-2")));
  ASSERT_OK(store_->DeleteApiToken("t1"));
  EXPECT_CODE(store_->DeleteApiToken("t1"), kNotFound);  // nothing deleted, nothing entered
  ASSERT_OK(store_->DeleteUser("u1"));
  EXPECT_CODE(store_->DeleteUser("u1"), kNotFound);
  auto batch = store_->ChangesSince(0, 100);
  ASSERT_OK(batch);
  EXPECT_THAT(
      batch->changes,
      ElementsAre(AllOf(Field(&Change::kind, kChangeTokenRevoked), Field(&Change::subject, "t1")),
                  AllOf(Field(&Change::kind, kChangeUserDeleted), Field(&Change::subject, "u1"))));
}

BERTH_ON_EVERY_BACKEND(StoreCoordinationTest);

}  // namespace
}  // namespace berth::store
