// The built berth on PostgreSQL, moving an installation there with `berth db copy`, and the
// one-berth rule of SQLite.

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

TEST_F(PostgresE2e, DbCopyMovesASqliteInstallationToPostgres) {
  std::string error;
  auto* cluster = PostgresTestCluster::Shared(&error);
  ASSERT_NE(cluster, nullptr) << error;
  PostgresTestDatabase db(cluster, &error);
  ASSERT_FALSE(db.name().empty()) << error;

  auto sqlite_berth = StartBerth(BaseEnv());
  ASSERT_NE(sqlite_berth, nullptr);
  auto user = sqlite_berth->Post("/api/admin/users", R"({"name":"alice"})", kAdminToken).Json();
  const std::string token = user["token"];
  json provider = {{"name", "work"},
                   {"type", "openai"},
                   {"baseUrl", "http://x/v1"},
                   {"apiKey", "sk-canary-copied-4242"},
                   {"models", {"m1"}}};
  ASSERT_EQ(sqlite_berth->Post("/api/providers", provider.dump(), token).status, 201);
  auto container = sqlite_berth->Post(
      "/api/admin/users/" + user["user"]["id"].get<std::string>() + "/container", "", kAdminToken);
  ASSERT_EQ(container.status, 201) << container.body;

  // Refused while that berth serves the SQLite file.
  const std::string from = "sqlite://" + dir_.File("berth.db");
  auto busy = RunBerth({"db", "copy", "--from", from, "--to", db.Url()}, {});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("SQLite allows one berth at a time"), std::string::npos) << busy.err;
  ASSERT_EQ(sqlite_berth->Stop(SIGTERM), 0);

  auto copied = RunBerth({"db", "copy", "--from", from, "--to", db.Url()}, {});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_NE(copied.out.find("now holds 1 users, 1 api tokens, 1 providers"), std::string::npos)
      << copied.out;
  EXPECT_EQ(copied.out.find(cluster->password()), std::string::npos);
  auto again = RunBerth({"db", "copy", "--from", from, "--to", db.Url()}, {});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already holds 1 users"), std::string::npos) << again.out;

  // berth on PostgreSQL, same key: the user's token, and the sealed key decrypts as before.
  auto pg_berth = StartBerth(EnvOn(db.Url()));
  ASSERT_NE(pg_berth, nullptr);
  EXPECT_EQ(pg_berth->Get("/api/me", token).status, 200);
  auto config =
      pg_berth->Get("/api/internal/agent-config/" + container.Json()["id"].get<std::string>(),
                    container.Json()["token"]);
  ASSERT_EQ(config.status, 200) << config.body;
  EXPECT_EQ(config.Json()["models"]["providers"]["work"]["apiKey"], "sk-canary-copied-4242");

  // The copy back into a fresh SQLite file works too, and a non-empty target needs --force.
  const std::string back = "sqlite://" + dir_.File("back.db");
  EXPECT_EQ(RunBerth({"db", "copy", "--from", db.Url(), "--to", back}, {}).exit_code, 0);
  auto same = RunBerth({"db", "copy", "--from", from, "--to", back}, {});
  EXPECT_EQ(same.exit_code, 0) << same.err;  // the same records and instance id: nothing to do
  ASSERT_EQ(pg_berth->Post("/api/admin/users", R"({"name":"bob"})", kAdminToken).status, 201);
  auto differs = RunBerth({"db", "copy", "--from", from, "--to", db.Url()}, {});
  EXPECT_EQ(differs.exit_code, 1);
  EXPECT_NE(differs.err.find("not empty"), std::string::npos) << differs.err;
  EXPECT_NE(differs.err.find("--force"), std::string::npos) << differs.err;
  EXPECT_EQ(pg_berth->Stop(SIGTERM), 0);
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
