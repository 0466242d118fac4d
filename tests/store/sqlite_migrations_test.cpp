#include "store/sqlite_migrations.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_connection.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_fixtures.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using ::testing::HasSubstr;
using namespace ::berth::store::testing;  // NOLINT: test helpers

std::vector<std::vector<std::string>> KnownMigrationRows() {
  std::vector<std::vector<std::string>> rows;
  for (const SqliteMigration& m : SqliteMigrations()) {
    rows.push_back({std::to_string(m.version), m.name});
  }
  return rows;
}

constexpr const char* kMigrationRows =
    "SELECT version, name FROM schema_migrations ORDER BY version";

TEST(SqliteStoreMigrations, VersionsStrictlyIncrease) {
  auto migrations = SqliteMigrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_GT(migrations.front().version, 0);
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    EXPECT_GT(migrations[i].version, migrations[i - 1].version);
  }
}

TEST(SqliteStoreMigrations, AppliedOnceAndRecordedAndReopenIsIdempotent) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
  }
  EXPECT_EQ(RawQuery(path, kMigrationRows), KnownMigrationRows());
  const auto applied_at = RawQuery(path, "SELECT applied_at FROM schema_migrations");
  ASSERT_FALSE(applied_at.empty());
  EXPECT_GT(std::stoll(applied_at[0][0]), 1'600'000'000'000LL);  // Unix ms

  for (int i = 0; i < 3; ++i) {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
    EXPECT_OK((*store)->Ping());
  }
  EXPECT_EQ(RawQuery(path, kMigrationRows), KnownMigrationRows());
  EXPECT_EQ(RawQuery(path, "SELECT applied_at FROM schema_migrations"), applied_at);
}

TEST(SqliteStoreMigrations, CreatesEveryTableWithWalJournal) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  auto store = SqliteStore::Open(path);
  ASSERT_OK(store);
  EXPECT_EQ(RawQuery(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            (std::vector<std::vector<std::string>>{{"api_tokens"},
                                                   {"berth_meta"},
                                                   {"changes"},
                                                   {"leases"},
                                                   {"llm_budget"},
                                                   {"llm_limits"},
                                                   {"llm_providers"},
                                                   {"llm_request_log"},
                                                   {"llm_usage"},
                                                   {"schema_migrations"},
                                                   {"sqlite_sequence"},
                                                   {"system_containers"},
                                                   {"user_agent_configs"},
                                                   {"user_containers"},
                                                   {"users"}}));
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"),
            (std::vector<std::vector<std::string>>{{"wal"}}));
  // The file is consistent as far as SQLite can tell, foreign keys included.
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"),
            (std::vector<std::vector<std::string>>{{"ok"}}));
  EXPECT_TRUE(RawQuery(path, "PRAGMA foreign_key_check").empty());
}

TEST(SqliteStoreMigrations, ConcurrentOpenersApplyEachMigrationOnce) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  std::vector<Status> results(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      auto store = SqliteStore::Open(path);
      results[i] = store.ok() ? (*store)->Ping() : store.status();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(RawQuery(path, kMigrationRows), KnownMigrationRows());
}

TEST(SqliteStoreMigrations, RefusesADatabaseFromTheFuture) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
    ASSERT_OK((*store)->CreateUser(MakeUser("u1")));
  }
  const int64_t known = SqliteMigrations().back().version;
  const int64_t future = known + 1000;
  RawQuery(path, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (" +
                     std::to_string(future) + ", 'from a newer berth', 1)");

  auto reopened = SqliteStore::Open(path);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(reopened.status().message(),
              HasSubstr("database schema version " + std::to_string(future)));
  EXPECT_THAT(reopened.status().message(), HasSubstr("(" + std::to_string(known) + ")"));
  // Refusing touched nothing.
  EXPECT_EQ(RawQuery(path, "SELECT id FROM users"),
            (std::vector<std::vector<std::string>>{{"u1"}}));
}

TEST(SqliteStoreMigrations, AFailedMigrationLeavesNoTrace) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
  }
  std::vector<SqliteMigration> migrations(SqliteMigrations().begin(), SqliteMigrations().end());
  const int64_t next = migrations.back().version + 1;
  migrations.push_back(
      {next, "half broken",
       "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"});
  migrations.push_back({next + 1, "never reached", "CREATE TABLE never (x INTEGER);"});

  auto conn = SqliteConnection::Open(path, std::chrono::milliseconds(1000));
  ASSERT_OK(conn);
  Status applied = ApplySqliteMigrations(**conn, migrations);
  EXPECT_EQ(applied.code(), ErrorCode::kInternal);
  EXPECT_THAT(applied.message(), HasSubstr("schema migration " + std::to_string(next)));
  EXPECT_THAT(applied.message(), HasSubstr("no such table: no_such_table"));
  EXPECT_TRUE((*conn)->InAutocommit());

  EXPECT_EQ(RawQuery(path, kMigrationRows), KnownMigrationRows());
  EXPECT_TRUE(RawQuery(path, "SELECT name FROM sqlite_master WHERE name IN ('half_done', 'never')")
                  .empty());

  // A fixed migration list then applies cleanly on the same connection.
  migrations[migrations.size() - 2].sql = "CREATE TABLE half_done (x INTEGER);";
  ASSERT_OK(ApplySqliteMigrations(**conn, migrations));
  EXPECT_EQ(RawQuery(path, "SELECT MAX(version) FROM schema_migrations"),
            (std::vector<std::vector<std::string>>{{std::to_string(next + 1)}}));
}

TEST(SqliteStoreMigrations, RejectsAnUnorderedList) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
  }
  auto conn = SqliteConnection::Open(path, std::chrono::milliseconds(1000));
  ASSERT_OK(conn);
  const SqliteMigration unordered[] = {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
  EXPECT_CODE(ApplySqliteMigrations(**conn, unordered), kInternal);
}

}  // namespace
}  // namespace berth::store
