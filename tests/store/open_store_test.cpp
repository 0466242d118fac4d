#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "store/store_fixtures.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace ::berth::store::testing;  // NOLINT: test helpers

// Permission bits of a path, or -1 when it does not exist.
int Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

// Changes the working directory for the scope.
class ScopedChdir {
 public:
  explicit ScopedChdir(const std::filesystem::path& dir) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~ScopedChdir() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

// ---- SqliteStore::Open: the file ----------------------------------------------------------

TEST(SqliteStoreFile, CreatesMissingDirectoriesAndAPrivateFile) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("state/db/berth.db");
  auto store = SqliteStore::Open(path);
  ASSERT_OK(store);
  ASSERT_OK((*store)->CreateUser(MakeUser("u1")));  // make sure the WAL file exists

  EXPECT_EQ(Mode(path), 0600);
  const int wal_mode = Mode(path + "-wal");
  if (wal_mode != -1) {
    EXPECT_EQ(wal_mode, 0600);
  }
  // Created directories are private to the owner (umask may only remove bits).
  EXPECT_EQ(Mode(dir.File("state")) & 077, 0);
  EXPECT_EQ(Mode(dir.File("state/db")) & 077, 0);
}

TEST(SqliteStoreFile, DataPersistsAcrossCloseAndReopen) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("berth.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_OK(store);
    ASSERT_OK((*store)->CreateUser(MakeUser("u1")));
    ASSERT_OK((*store)->CreateProvider(MakeProvider("p1", "u1", "openai")));
    ASSERT_OK((*store)->UpsertAgentConfig({"u1", "openai/gpt-4o", 1, 2}));
    ASSERT_OK((*store)->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
    ASSERT_OK((*store)->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-2")));
    ASSERT_OK((*store)->CreateApiToken(MakeAdminToken("t1", "hash-3")));
  }
  auto store = SqliteStore::Open(path);
  ASSERT_OK(store);
  auto user = (*store)->GetUser("u1");
  ASSERT_OK(user);
  EXPECT_EQ(Tie(*user), Tie(MakeUser("u1")));
  auto provider = (*store)->GetProvider("u1", "p1");
  ASSERT_OK(provider);
  EXPECT_EQ(Tie(*provider), Tie(MakeProvider("p1", "u1", "openai")));
  auto config = (*store)->GetAgentConfig("u1");
  ASSERT_OK(config);
  EXPECT_EQ(config->primary_model, "openai/gpt-4o");
  auto container = (*store)->GetUserContainer("c1");
  ASSERT_OK(container);
  EXPECT_EQ(Tie(*container), Tie(MakeUserContainer("c1", "u1", "hash-1")));
  auto system = (*store)->GetSystemContainer("s1");
  ASSERT_OK(system);
  EXPECT_EQ(Tie(*system), Tie(MakeSystemContainer("s1", "indexer", "hash-2")));
  auto has_admin = (*store)->HasAdminToken();
  ASSERT_OK(has_admin);
  EXPECT_TRUE(*has_admin);
}

TEST(SqliteStoreFile, KeepsUsingTheSamePathAfterAChdir) {
  berth::testing::TempDir dir;
  std::shared_ptr<SqliteStore> store;
  {
    ScopedChdir cd(dir.path());
    SqliteStoreOptions options;
    options.max_connections = 4;
    auto opened = SqliteStore::Open("berth.db", options);
    ASSERT_OK(opened);
    store = *opened;
  }
  // Later connections of the pool are opened lazily; they must find the same file.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      if (!store->CreateUser(MakeUser("u" + std::to_string(t))).ok()) ++failures;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto users = store->ListUsers();
  ASSERT_OK(users);
  EXPECT_EQ(users->size(), 4u);
  EXPECT_EQ(RawQuery(dir.File("berth.db"), "SELECT COUNT(*) FROM users"),
            (std::vector<std::vector<std::string>>{{"4"}}));
}

TEST(SqliteStoreFile, RefusesAFileThatIsNotADatabase) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::ofstream(path) << "these are not the pages you are looking for, not at all, no.\n";
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));
}

TEST(SqliteStoreFile, UncreatableLocationIsUnavailable) {
  berth::testing::TempDir dir;
  std::ofstream(dir.File("plain-file")) << "x";
  // A directory cannot be created under a regular file, even by root.
  auto store = SqliteStore::Open(dir.File("plain-file/sub/berth.db"));
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("cannot create database directory"));
}

TEST(SqliteStoreFile, RejectsEmptyAndInMemoryPaths) {
  EXPECT_CODE(SqliteStore::Open(""), kInvalidArgument);
  EXPECT_CODE(SqliteStore::Open(":memory:"), kInvalidArgument);
}

// ---- OpenStore: URL forms ------------------------------------------------------------------

TEST(OpenStore, SqliteAbsolutePathHasThreeSlashes) {
  berth::testing::TempDir dir;
  const std::string path = dir.File("abs/berth.db");
  ASSERT_EQ(path.front(), '/');
  auto store = OpenStore("sqlite://" + path);  // "sqlite:///tmp/..."
  ASSERT_OK(store);
  EXPECT_OK((*store)->Ping());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(OpenStore, SqliteRelativePathIsAgainstTheWorkingDirectory) {
  berth::testing::TempDir dir;
  ScopedChdir cd(dir.path());
  auto store = OpenStore("sqlite://data/berth.db");
  ASSERT_OK(store);
  ASSERT_OK((*store)->CreateUser(MakeUser("u1")));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "berth.db"));
  EXPECT_EQ(Mode(dir.File("data/berth.db")), 0600);
}

TEST(OpenStore, SchemeIsCaseInsensitive) {
  berth::testing::TempDir dir;
  EXPECT_OK(OpenStore("SQLite://" + dir.File("berth.db")));
}

TEST(OpenStore, AnUnreachablePostgresIsUnavailableWithoutShowingThePassword) {
  // Port 1 on loopback: nothing listens, so the connection is refused at once.
  for (const std::string url : {"postgres://berth:hunter2@127.0.0.1:1/berth",
                                "postgresql://berth:hunter2@127.0.0.1:1/berth?sslmode=disable"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
    EXPECT_THAT(store.status().message(), HasSubstr("berth:***@127.0.0.1:1/berth"));
    EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST(OpenStore, OtherUrlsAreInvalidArgumentsNamingTheAcceptedForms) {
  for (const std::string url : {"mysql://root:hunter2@db/berth", "berth.db", "/var/lib/berth.db",
                                "", "sqlite://", "sqlite:berth.db", "://hunter2"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(store.status().message(), HasSubstr("BERTH_DATABASE_URL")) << url;
    EXPECT_THAT(store.status().message(), HasSubstr("sqlite:///")) << url;
    EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2"))) << url;
  }
}

}  // namespace
}  // namespace berth::store
