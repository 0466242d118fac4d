// What only the PostgreSQL backend has: migrations shared by replicas, the pool, deadlines,
// sslmode, and recovery from a server that goes away. The Store contract itself is checked on
// both backends by the store_*_test.cpp suites.
#include "store/postgres_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_pool.hpp"
#include "store/store.hpp"
#include "store/store_fixtures.hpp"
#include "support/postgres_test_cluster.hpp"

namespace berth::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace ::berth::store::testing;  // NOLINT: test helpers
using berth::testing::PostgresTestCluster;
using berth::testing::PostgresTestDatabase;
using Clock = std::chrono::steady_clock;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    cluster_ = PostgresTestCluster::Shared(&error);
    ASSERT_NE(cluster_, nullptr) << error;
    db_ = std::make_unique<PostgresTestDatabase>(cluster_, &error);
    ASSERT_FALSE(db_->name().empty()) << error;
  }
  std::vector<std::vector<std::string>> Sql(const std::string& sql) {
    return cluster_->Query(db_->name(), sql);
  }

  PostgresTestCluster* cluster_ = nullptr;
  std::unique_ptr<PostgresTestDatabase> db_;
};

// A session of its own on the test database, outside the store (libpq, blocking).
class RawSession {
 public:
  explicit RawSession(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~RawSession() { PQfinish(conn_); }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  }

 private:
  PGconn* conn_;
};

TEST_F(PostgresStoreTest, MigratesAnEmptyDatabaseOnceAndRecordsTheVersion) {
  ASSERT_OK(OpenStore(db_->Url()));
  ASSERT_OK(OpenStore(db_->Url()));  // idempotent
  EXPECT_EQ(Sql("SELECT version, name FROM schema_migrations ORDER BY version"),
            (std::vector<std::vector<std::string>>{{"3", "initial schema (sqlite versions 1-3)"},
                                                   {"4", "leases and change feed"},
                                                   {"5", "bulk copy without a lock per container"},
                                                   {"6", "agent nodes"},
                                                   {"7", "llm usage and budgets"},
                                                   {"8", "llm request log"}}));
}

TEST_F(PostgresStoreTest, ReplicasStartingTogetherOnAnEmptyDatabaseAllSucceed) {
  constexpr int kReplicas = 8;
  std::vector<Result<StorePtr>> opened(kReplicas, Status(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([&, i] { opened[i] = OpenStore(db_->Url()); });
  }
  for (auto& t : replicas) t.join();
  std::string instance;
  for (const auto& store : opened) {
    ASSERT_OK(store);
    auto id = (*store)->InstanceId();
    ASSERT_OK(id);
    if (instance.empty()) instance = *id;
    EXPECT_EQ(*id, instance);  // one database, one fleet
  }
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM schema_migrations"),
            (std::vector<std::vector<std::string>>{{"6"}}));  // each migration once
}

TEST_F(PostgresStoreTest, ADatabaseFromANewerBerthIsRefused) {
  ASSERT_OK(OpenStore(db_->Url()));
  Sql("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)");
  auto store = OpenStore(db_->Url());
  EXPECT_CODE(store, kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 99 is newer"));
}

TEST_F(PostgresStoreTest, AWrongPasswordIsUnavailableAndNeverShown) {
  const std::string url =
      "postgres://berth:wrong-hunter2@127.0.0.1:" + std::to_string(cluster_->port()) + "/" +
      db_->name() + "?sslmode=disable";
  auto store = OpenStore(url);
  EXPECT_CODE(store, kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("berth:***@127.0.0.1"));
  EXPECT_THAT(store.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("wrong-hunter2")));
}

TEST_F(PostgresStoreTest, TheProbeTellsAServerThatRefusesUsFromNoServer) {
  const std::string at = "@127.0.0.1:" + std::to_string(cluster_->port()) + "/" + db_->name();
  EXPECT_TRUE(PgServerAnswers(db_->Url()));
  // Up but refusing: waiting would not help (berth serve fails at once, wait_for_store.hpp).
  EXPECT_TRUE(PgServerAnswers("postgres://berth:wrong-hunter2" + at + "?sslmode=disable"));
  EXPECT_TRUE(PgServerAnswers("postgres://nobody:x" + at + "?sslmode=disable"));
  EXPECT_TRUE(PgServerAnswers(db_->Url("sslmode=require")));  // this server speaks no TLS
  EXPECT_TRUE(PgServerAnswers(cluster_->Url("no_such_database")));
  EXPECT_FALSE(PgServerAnswers("postgres://berth:x@127.0.0.1:1/berth?sslmode=disable"));
}

TEST_F(PostgresStoreTest, SslModeIsHonoured) {
  // The test server speaks no TLS: "require" must refuse it, "prefer" falls back, "disable" works.
  auto required = OpenStore(db_->Url("sslmode=require"));
  EXPECT_CODE(required, kUnavailable);
  EXPECT_THAT(required.status().message(), HasSubstr("SSL"));
  EXPECT_OK(OpenStore(db_->Url("sslmode=prefer")));
  EXPECT_OK(OpenStore(db_->Url("sslmode=disable")));
}

TEST_F(PostgresStoreTest, AQueryPastItsDeadlineIsUnavailableAndTheStoreRecovers) {
  auto opened = OpenStore(db_->Url("sslmode=disable&query_timeout_ms=500"));
  ASSERT_OK(opened);
  StorePtr store = *opened;
  ASSERT_OK(store->CreateUser(MakeUser("u1")));
  {
    RawSession locker(db_->Url());
    locker.Exec("BEGIN");
    locker.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
    const auto start = Clock::now();
    auto blocked = store->ListUsers();
    const auto waited = Clock::now() - start;
    EXPECT_CODE(blocked, kUnavailable);
    EXPECT_GE(waited, std::chrono::milliseconds(400));
    EXPECT_LT(waited, std::chrono::milliseconds(3000));
    locker.Exec("ROLLBACK");
  }
  auto users = store->ListUsers();
  ASSERT_OK(users);
  EXPECT_EQ(users->size(), 1u);
}

TEST_F(PostgresStoreTest, ThePoolIsBoundedAndWaitersGiveUpAtTheirDeadline) {
  auto first = PgConnection::Open(db_->Url(), "test", std::chrono::seconds(5),
                                  Clock::now() + std::chrono::seconds(5));
  ASSERT_OK(first);
  PgPool pool({.conninfo = db_->Url(), .display = "test", .max_connections = 1}, std::move(*first));
  auto held = pool.Acquire(Clock::now() + std::chrono::seconds(1));
  ASSERT_OK(held);
  const auto start = Clock::now();
  auto waiting = pool.Acquire(Clock::now() + std::chrono::milliseconds(200));
  EXPECT_CODE(waiting, kUnavailable);
  EXPECT_THAT(waiting.status().message(), HasSubstr("pool exhausted"));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(190));
  EXPECT_EQ(pool.open(), 1u);
}

TEST_F(PostgresStoreTest, AConnectionTheServerClosedIsReplacedWithoutAFailedCall) {
  auto opened = OpenStore(db_->Url());
  ASSERT_OK(opened);
  StorePtr store = *opened;
  ASSERT_OK(store->CreateUser(MakeUser("u1")));
  // An administrator (or a failover) ends every session of the store.
  Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_OK(store->Ping());
  EXPECT_OK(store->GetUser("u1"));
}

// The server stops mid-use: calls answer kUnavailable at once (no crash, no hang), Ping fails
// (so /api/ready says 503), and everything works again once it is back, with the data.
TEST(PostgresOutage, CallsAreUnavailableWhileTheServerIsDownAndRecoverAfter) {
  std::string error;
  auto cluster = PostgresTestCluster::Start(&error);
  ASSERT_NE(cluster, nullptr) << error;
  auto opened = OpenStore(cluster->Url("postgres", "sslmode=disable&query_timeout_ms=2000"));
  ASSERT_OK(opened);
  StorePtr store = *opened;
  ASSERT_OK(store->CreateUser(MakeUser("u1")));
  ASSERT_OK(store->Ping());

  ASSERT_TRUE(cluster->Stop(&error)) << error;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    EXPECT_CODE(store->Ping(), kUnavailable);
    EXPECT_CODE(store->GetUser("u1"), kUnavailable);
    EXPECT_CODE(store->CreateUser(MakeUser("u2")), kUnavailable);
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(6000));
  }

  ASSERT_TRUE(cluster->Restart(&error)) << error;
  EXPECT_OK(store->Ping());
  auto user = store->GetUser("u1");
  ASSERT_OK(user);
  EXPECT_EQ(Tie(*user), Tie(MakeUser("u1")));
  EXPECT_OK(store->CreateUser(MakeUser("u2")));
}

}  // namespace
}  // namespace berth::store
