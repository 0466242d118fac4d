// The built berth on PostgreSQL, and the one-berth rule of SQLite.

#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/e2e_fixture.hpp"
#include "support/postgres_test_cluster.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

class PostgresE2e : public BerthE2eTest {
 protected:
  void SetUp() override {}  // each test starts its own berth

  std::map<std::string, std::string> EnvOn(const std::string& database_url) const {
    auto env = BaseEnv();
    env["BERTH_DATABASE_URL"] = database_url;
    return env;
  }
};

TEST_F(PostgresE2e, ServesFromPostgresAnswers503WhileItIsDownAndRecovers) {
  std::string error;
  auto cluster = PostgresTestCluster::Start(&error);
  ASSERT_NE(cluster, nullptr) << error;
  const std::string url = cluster->Url("postgres", "sslmode=disable&query_timeout_ms=2000");
  auto berth = StartBerth(EnvOn(url));
  ASSERT_NE(berth, nullptr);
  EXPECT_NE(berth->Stderr().find("berth:***@127.0.0.1"), std::string::npos) << berth->Stderr();
  EXPECT_EQ(berth->Stderr().find(cluster->password()), std::string::npos);
  // Several replicas may serve one PostgreSQL database.
  auto replica = StartBerth(EnvOn(url));
  ASSERT_NE(replica, nullptr);

  auto created = berth->Post("/api/admin/users", R"({"name":"alice"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = created.Json()["token"];
  EXPECT_EQ(replica->Get("/api/me", token).status, 200);
  // Ready but for the engine (these berths have none): the store answers.
  EXPECT_EQ(ErrorMessage(berth->Get("/api/ready")).rfind("engine: ", 0), 0u);

  ASSERT_TRUE(cluster->Stop(&error)) << error;
  auto ready = berth->Get("/api/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ErrorMessage(ready).rfind("store: ", 0), 0u) << ready.body;
  EXPECT_EQ(berth->Post("/api/admin/users", R"({"name":"bob"})", kAdminToken).status, 503);

  ASSERT_TRUE(cluster->Restart(&error)) << error;
  EXPECT_EQ(ErrorMessage(berth->Get("/api/ready")).rfind("engine: ", 0), 0u);
  EXPECT_EQ(berth->Post("/api/admin/users", R"({"name":"bob"})", kAdminToken).status, 201);
  EXPECT_EQ(replica->Get("/api/admin/users", kAdminToken).Json()["users"].size(), 2u);
  EXPECT_EQ(berth->Stop(SIGTERM), 0);
  EXPECT_EQ(replica->Stop(SIGTERM), 0);
}

TEST_F(PostgresE2e, ASecondBerthOnOneSqliteFileRefusesToStart) {
  auto first = StartBerth(BaseEnv());
  ASSERT_NE(first, nullptr);
  auto second = RunBerth({"serve", "--listen", "127.0.0.1:0"}, BaseEnv());
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another berth (pid " + std::to_string(first->pid()) + ")"),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("SQLite allows one berth at a time"), std::string::npos);
  EXPECT_EQ(first->Get("/api/health").status, 200);  // the first one is unaffected
  ASSERT_EQ(first->Stop(SIGTERM), 0);
  // Released at exit: the next berth starts.
  auto next = StartBerth(BaseEnv());
  ASSERT_NE(next, nullptr);
}

}  // namespace
}  // namespace berth::testing
