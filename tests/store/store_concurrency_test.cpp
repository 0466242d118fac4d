// The Store contract under concurrent callers, on every backend: nothing lost, cascades on
// every pooled connection, callers queueing for a small pool.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using ::testing::IsEmpty;
using namespace ::berth::store::testing;  // NOLINT: test helpers

using StoreConcurrencyTest = StoreContractTest;

// Several threads create and read their own users' rows at once; with `max_connections` below
// the thread count, callers also queue for connections.
void RunConcurrentWorkload(const SnapshotStorePtr& store) {
  ASSERT_NE(store, nullptr);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what, const Status& status) {
    std::lock_guard lock(mu);
    failures.push_back(what + ": " + status.ToString());
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string u = "u" + std::to_string(t) + "-" + std::to_string(i);
        if (Status s = store->CreateUser(MakeUser(u, i)); !s.ok()) fail("CreateUser " + u, s);
        if (Status s = store->CreateProvider(MakeProvider("p-" + u, u, "openai", i)); !s.ok()) {
          fail("CreateProvider " + u, s);
        }
        if (Status s = store->CreateUserContainer(MakeUserContainer("c-" + u, u, "h-" + u, i));
            !s.ok()) {
          fail("CreateUserContainer " + u, s);
        }
        if (Status s = store->UpsertAgentConfig({u, "openai/gpt-4o", i, i}); !s.ok()) {
          fail("UpsertAgentConfig " + u, s);
        }
        if (auto r = store->GetUser(u); !r.ok()) fail("GetUser " + u, r.status());
        if (auto r = store->LoadAgentConfigSource("h-" + u);
            !r.ok() || r->container.id != "c-" + u) {
          fail("LoadAgentConfigSource " + u, r.status());
        }
        if (auto r = store->ListProviders(u, true); !r.ok() || r->size() != 1) {
          fail("ListProviders " + u, r.status());
        }
        if (auto r = store->GetAgentConfig(u); !r.ok()) fail("GetAgentConfig " + u, r.status());
        if (auto r = store->ListUsers(); !r.ok()) fail("ListUsers", r.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, IsEmpty());

  auto users = store->ListUsers();
  ASSERT_OK(users);
  EXPECT_EQ(users->size(), static_cast<std::size_t>(kThreads * kPerThread));
  auto containers = store->ListUserContainers();
  ASSERT_OK(containers);
  EXPECT_EQ(containers->size(), static_cast<std::size_t>(kThreads * kPerThread));
  auto secrets = store->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_EQ(secrets->size(), static_cast<std::size_t>(2 * kThreads * kPerThread));
}

TEST_P(StoreConcurrencyTest, ParallelCreatesAndReadsLoseNothing) {
  RunConcurrentWorkload(OpenThisWithPool(8));
}

TEST_P(StoreConcurrencyTest, CallersQueueForASmallPool) {
  RunConcurrentWorkload(OpenThisWithPool(2));
}

TEST_P(StoreConcurrencyTest, ParallelDeletesCascadeOnEveryConnection) {
  SnapshotStorePtr store = store_;
  constexpr int kUsers = 64;
  for (int i = 0; i < kUsers; ++i) {
    const std::string u = "u" + std::to_string(i);
    ASSERT_OK(store->CreateUser(MakeUser(u)));
    ASSERT_OK(store->CreateProvider(MakeProvider("p-" + u, u, "openai")));
    ASSERT_OK(store->CreateUserContainer(MakeUserContainer("c-" + u, u, "h-" + u)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kUsers; i += 4) {
        if (!store->DeleteUser("u" + std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto containers = store->ListUserContainers();
  ASSERT_OK(containers);
  EXPECT_THAT(*containers, IsEmpty());
  auto secrets = store->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_THAT(*secrets, IsEmpty());
}

// A token hash must resolve to one container across both tables, also when two writers race
// it into different tables (no unique index spans two tables): each round, two threads meet at
// a barrier and insert one hash, one as a user container, one as a system container.
TEST_P(StoreConcurrencyTest, ATokenHashRacedIntoBothContainerTablesHasOneWinner) {
  SnapshotStorePtr store = OpenThisWithPool(8);
  ASSERT_NE(store, nullptr);
  constexpr int kRounds = 60;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_OK(store->CreateUser(MakeUser("u" + std::to_string(i))));
  }
  std::atomic<int> arrived{0};
  std::atomic<int> created{0};
  std::atomic<int> collided{0};
  auto race = [&](bool user_side) {
    for (int i = 0; i < kRounds; ++i) {
      ++arrived;
      while (arrived.load() < 2 * (i + 1)) {
      }
      const std::string n = std::to_string(i);
      const Status st =
          user_side
              ? store->CreateUserContainer(MakeUserContainer("c" + n, "u" + n, "hash-" + n))
              : store->CreateSystemContainer(MakeSystemContainer("s" + n, "sys" + n, "hash-" + n));
      if (st.ok()) ++created;
      if (st.code() == ErrorCode::kAlreadyExists) ++collided;
    }
  };
  std::thread users(race, true);
  std::thread systems(race, false);
  users.join();
  systems.join();
  EXPECT_EQ(created.load(), kRounds);
  EXPECT_EQ(collided.load(), kRounds);
}

BERTH_ON_EVERY_BACKEND(StoreConcurrencyTest);

}  // namespace
}  // namespace berth::store
