#include "store/sqlite_pool.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>

#include "store/sqlite_store.hpp"
#include "store/store_fixtures.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers
using std::chrono::milliseconds;

class SqliteStorePoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(SqliteStore::Open(path_)); }

  std::unique_ptr<SqlitePool> MakePool(std::size_t max_connections, milliseconds acquire_timeout) {
    SqlitePool::Options options;
    options.max_connections = max_connections;
    options.acquire_timeout = acquire_timeout;
    return std::make_unique<SqlitePool>(path_, options, nullptr);
  }

  berth::testing::TempDir dir_;
  std::string path_ = dir_.File("berth.db");
};

TEST_F(SqliteStorePoolTest, ExhaustedPoolIsUnavailableAfterTheAcquireTimeout) {
  auto pool = MakePool(2, milliseconds(0));
  auto first = pool->Acquire();
  ASSERT_OK(first);
  auto second = pool->Acquire();
  ASSERT_OK(second);
  auto third = pool->Acquire();
  EXPECT_CODE(third, kUnavailable);
  EXPECT_EQ(third.status().message(), "database connection pool exhausted: all 2 connections busy");
}

TEST_F(SqliteStorePoolTest, ReturnedConnectionIsReusedMostRecentFirst) {
  auto pool = MakePool(2, milliseconds(0));
  SqliteConnection* used = nullptr;
  {
    auto lease = pool->Acquire();
    ASSERT_OK(lease);
    used = &**lease;
  }
  auto again = pool->Acquire();
  ASSERT_OK(again);
  EXPECT_EQ(&**again, used);
}

TEST_F(SqliteStorePoolTest, LeaseRollsBackATransactionLeftOpen) {
  auto pool = MakePool(1, milliseconds(0));
  {
    auto lease = pool->Acquire();
    ASSERT_OK(lease);
    ASSERT_OK((*lease)->Exec("BEGIN IMMEDIATE"));
    ASSERT_OK((*lease)->ExecScript(
        "INSERT INTO users (id, name, created_at, updated_at) VALUES ('ghost', 'g', 1, 1)"));
  }
  auto lease = pool->Acquire();
  ASSERT_OK(lease);
  EXPECT_TRUE((*lease)->InAutocommit());
  EXPECT_TRUE(RawQuery(path_, "SELECT id FROM users").empty());
}

// Another process holding the write lock past the busy timeout: writes fail with kUnavailable,
// reads keep working (WAL), and writes succeed again once the lock is gone.
TEST(SqliteStoreBusy, WriteLockHeldElsewhereIsUnavailable) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  SqliteStoreOptions options;
  options.busy_timeout = milliseconds(0);
  auto opened = SqliteStore::Open(path, options);
  ASSERT_OK(opened);
  std::shared_ptr<SqliteStore> store = *opened;
  ASSERT_OK(store->CreateUser(MakeUser("u1")));

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  Status blocked = store->CreateUser(MakeUser("u2"));
  EXPECT_EQ(blocked.code(), ErrorCode::kUnavailable) << blocked.ToString();
  EXPECT_OK(store->GetUser("u1"));
  EXPECT_OK(store->Ping());

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_OK(store->CreateUser(MakeUser("u2")));
}

}  // namespace
}  // namespace berth::store
