// The store's faults, with the real SQLite file under the built berth: the data directory's disk
// fills up, and another process holds the database's write lock past berth's busy timeout.

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "fault/fault_support.hpp"
#include "support/berth_process.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kAdminToken = "fault-admin-token-0123456789abcdefghijklmnop";

std::string QueryOne(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::string out = "<cannot open>";
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    out = "<no row>";
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return out;
}

class StoreFault : public ::testing::Test {
 protected:
  std::map<std::string, std::string> Env() const {
    return {{"BERTH_DATA_DIR", data_.path().string()},
            {"BERTH_ADMIN_TOKEN", kAdminToken},
            {"BERTH_TOKEN_CACHE_MS", "0"}};
  }
  void StartBerth() {
    std::string error;
    berth_ = BerthProcess::Start(logs_.path().string(), Env(), {}, &error);
    ASSERT_NE(berth_, nullptr) << error;
  }
  HttpResult CreateUser(const std::string& name) {
    return berth_->Post("/api/admin/users", nlohmann::json{{"name", name}}.dump(), kAdminToken);
  }
  size_t ListedUsers() {
    auto r = berth_->Get("/api/admin/users", kAdminToken);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.Json()["users"].size() : 0;
  }
  std::string Db() const { return data_.File("berth.db"); }

  TempDir data_;
  TempDir logs_;  // berth's stdout and stderr: not on the disk that fills up
  std::unique_ptr<BerthProcess> berth_;
};

TEST_F(StoreFault, FullDiskFailsWritesWith503KeepsReadsAndRecoversWhenSpaceIsFreed) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TmpfsMount disk(data_.path().string(), 4 << 20);
  ASSERT_TRUE(disk.ok()) << disk.error();
  StartBerth();
  auto first = CreateUser("before-the-fill");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string user_token = first.Json()["token"];
  size_t created = 1;

  const std::string filler = data_.File("filler");
  const long long filled = FillDisk(filler);
  ASSERT_GT(filled, 0);
  // SQLite may still find room in pages and WAL frames it already has: write until it needs more.
  HttpResult refused;
  for (int i = 0; i < 2000; ++i) {
    refused = CreateUser("while-full-" + std::to_string(i));
    if (refused.status != 201) break;
    ++created;
  }
  ASSERT_TRUE(IsJsonError(refused, 503)) << berth_->Stderr();
  EXPECT_EQ(refused.Json()["error"]["code"], "unavailable");
  Observed("disk full: create user -> " + std::to_string(refused.status) + " " + refused.body +
           " after " + std::to_string(created - 1) + " more writes fit");

  // Reads go on; every write answered 201 is there.
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
  EXPECT_EQ(ListedUsers(), created);
  auto me = berth_->Get("/api/me", user_token);
  EXPECT_EQ(me.status, 200) << me.body;
  auto again = CreateUser("still-full");
  EXPECT_TRUE(IsJsonError(again, 503));
  EXPECT_TRUE(ProcessAlive(berth_->pid()));

  ASSERT_EQ(::unlink(filler.c_str()), 0);
  const auto recovered = TimeUntil(
      [&] {
        if (CreateUser("after-the-fill").status != 201) return false;
        ++created;
        return true;
      },
      milliseconds(10000));
  ASSERT_GE(recovered.count(), 0) << "writes did not work again once space was freed";
  Observed("disk full: writes work again " + std::to_string(recovered.count()) +
           " ms after the space was freed");
  EXPECT_EQ(ListedUsers(), created);

  ASSERT_EQ(berth_->Stop(SIGTERM), 0) << berth_->Stderr();
  EXPECT_EQ(QueryOne(Db(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(QueryOne(Db(), "SELECT count(*) FROM users"), std::to_string(created));
}

TEST_F(StoreFault, AWriteLockHeldPastTheBusyTimeoutGives503ReadsGoOnAndWritesResume) {
  StartBerth();
  auto first = CreateUser("before-the-lock");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string user_token = first.Json()["token"];

  // Another process (this one) takes the write lock and keeps it past berth's 5 s busy timeout.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(Db().c_str(), &other), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");

  const auto t0 = std::chrono::steady_clock::now();
  auto refused = CreateUser("while-locked");
  const auto waited =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_TRUE(IsJsonError(refused, 503)) << berth_->Stderr();
  EXPECT_EQ(refused.Json()["error"]["code"], "unavailable");
  Observed("db locked: create user -> " + std::to_string(refused.status) + " after " +
           std::to_string(waited.count()) + " ms: " + refused.body);

  const auto r0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ListedUsers(), 1u);  // WAL: readers are not blocked by a writer
  auto me = berth_->Get("/api/me", user_token);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
  const auto read_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - r0);
  EXPECT_LT(read_ms.count(), 2000);
  Observed("db locked: reads answered in " + std::to_string(read_ms.count()) + " ms");
  EXPECT_TRUE(ProcessAlive(berth_->pid()));

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, &err), SQLITE_OK);
  sqlite3_close(other);
  auto after = CreateUser("after-the-lock");
  EXPECT_EQ(after.status, 201) << after.body;
  EXPECT_EQ(ListedUsers(), 2u);

  ASSERT_EQ(berth_->Stop(SIGTERM), 0) << berth_->Stderr();
  EXPECT_EQ(QueryOne(Db(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(QueryOne(Db(), "SELECT count(*) FROM users"), "2");
}

}  // namespace
}  // namespace berth::testing
