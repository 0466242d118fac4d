// The Store contract for a user's idle timeout, on every backend: the admin's setting has its own
// write, and the lifecycle's whole-record updates never undo it.
#include <gtest/gtest.h>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers

using StoreIdleTimeoutTest = StoreContractTest;

TEST_P(StoreIdleTimeoutTest, SetUserContainerIdleTimeoutWritesOnlyItAndUpdatedAt) {
  CreateTwoUsers();
  const UserContainer original = MakeUserContainer("c1", "u1", "hash-1", 1000);
  const UserContainer other = MakeUserContainer("c2", "u2", "hash-2", 1000);
  ASSERT_OK(store_->CreateUserContainer(original));
  ASSERT_OK(store_->CreateUserContainer(other));

  ASSERT_OK(store_->SetUserContainerIdleTimeout("u1", 0, 5000));
  auto got = store_->GetUserContainerByUser("u1");
  ASSERT_OK(got);
  UserContainer expected = original;
  expected.idle_timeout_min = 0;
  expected.updated_at = 5000;
  EXPECT_EQ(Tie(*got), Tie(expected));
  got = store_->GetUserContainerByUser("u2");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(other));

  ASSERT_OK(store_->SetUserContainerIdleTimeout("u1", 10080, 6000));
  EXPECT_EQ(store_->GetUserContainerByUser("u1")->idle_timeout_min, 10080);
}

TEST_P(StoreIdleTimeoutTest, AWholeRecordUpdateKeepsTheIdleTimeout) {
  CreateTwoUsers();
  UserContainer record = MakeUserContainer("c1", "u1", "hash-1", 1000);
  ASSERT_OK(store_->CreateUserContainer(record));  // read by the lifecycle with 45 min
  ASSERT_OK(store_->SetUserContainerIdleTimeout("u1", 7, 2000));
  record.status = "stopped";  // the lifecycle writes back what it read
  record.updated_at = 3000;
  ASSERT_OK(store_->UpdateUserContainer(record));
  auto got = store_->GetUserContainerByUser("u1");
  ASSERT_OK(got);
  EXPECT_EQ(got->status, "stopped");
  EXPECT_EQ(got->idle_timeout_min, 7);
}

TEST_P(StoreIdleTimeoutTest, SetUserContainerIdleTimeoutWithoutARecordIsNotFound) {
  CreateTwoUsers();
  EXPECT_CODE(store_->SetUserContainerIdleTimeout("u1", 10, 2000), kNotFound);
  EXPECT_CODE(store_->SetUserContainerIdleTimeout("nobody", 10, 2000), kNotFound);
  EXPECT_CODE(store_->GetUserContainerByUser("u1"), kNotFound);  // nothing was created
}

BERTH_ON_EVERY_BACKEND(StoreIdleTimeoutTest);

}  // namespace
}  // namespace berth::store
