// The built berth on PostgreSQL (waiting at start for a database that is not up yet), moving an
// installation there with `berth db copy`, and the one-berth rule of SQLite.

#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/tokens.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/local_address.hpp"
#include "support/postgres_test_cluster.hpp"
#include "testagent/fake_http_server.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

class PostgresE2e : public BerthE2eTest {
 protected:
  void SetUp() override {}  // each test starts its own berth

  // A provider's stand-in, on an address of this machine's own (berth's LLM gateway never
  // connects to loopback).
  FakeHttpServer provider_{
      [](const FakeRequest&, FakeExchange& x) { x.Respond(200, R"({"object":"list","data":[]})"); },
      LocalAddress()};

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
                   {"baseUrl", provider_.Url() + "/v1"},
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
  const std::string agent_key = crypto::AgentLlmKey(container.Json()["token"].get<std::string>());
  EXPECT_EQ(config.Json()["models"]["providers"]["work"]["apiKey"], agent_key);
  // The provider gets the real key through berth's LLM gateway.
  auto called = pg_berth->Get("/api/internal/llm/work/models", agent_key);
  EXPECT_EQ(called.status, 200) << called.body;
  ASSERT_EQ(provider_.RequestCount(), 1u);
  EXPECT_EQ(provider_.Requests()[0].Header("authorization"), "Bearer sk-canary-copied-4242");

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

TEST_F(PostgresE2e, WaitsAtStartForADatabaseThatComesUpLater) {
  std::string error;
  auto cluster = PostgresTestCluster::Start(&error);
  ASSERT_NE(cluster, nullptr) << error;
  const std::string url = cluster->Url("postgres");
  ASSERT_TRUE(cluster->Stop(&error)) << error;

  auto env = EnvOn(url);
  env["BERTH_DATABASE_WAIT"] = "30";
  auto berth = BerthProcess::Launch(dir_.path().string(), env);
  ASSERT_NE(berth, nullptr);
  ASSERT_TRUE(berth->WaitForStderr("database not reachable yet", 10)) << berth->Stderr();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the database comes up later
  ASSERT_TRUE(cluster->Restart(&error)) << error;
  ASSERT_TRUE(berth->WaitListening(20, &error)) << error;

  EXPECT_NE(berth->Stderr().find("berth:***@127.0.0.1"), std::string::npos) << berth->Stderr();
  EXPECT_EQ(berth->Stderr().find(cluster->password()), std::string::npos);
  EXPECT_EQ(ErrorMessage(berth->Get("/api/ready")).rfind("engine: ", 0), 0u);  // the store is up
  EXPECT_EQ(berth->Post("/api/admin/users", R"({"name":"alice"})", kAdminToken).status, 201);
  EXPECT_EQ(berth->Stop(SIGTERM), 0);
}

TEST_F(PostgresE2e, AWrongPasswordFailsAtOnceWithoutWaiting) {
  std::string error;
  auto* cluster = PostgresTestCluster::Shared(&error);
  ASSERT_NE(cluster, nullptr) << error;
  const std::string url =
      "postgres://berth:wrong-hunter2@127.0.0.1:" + std::to_string(cluster->port()) +
      "/postgres?sslmode=disable";
  const auto start = std::chrono::steady_clock::now();
  auto refused = RunBerth({"serve", "--listen", "127.0.0.1:0"}, EnvOn(url), 30);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_LT(took, std::chrono::seconds(3));  // BERTH_DATABASE_WAIT is 60 s
  EXPECT_NE(refused.err.find("password authentication failed"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("not reachable yet"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("wrong-hunter2"), std::string::npos) << refused.err;
}

// Port 1 of the loopback: nothing listens there.
constexpr const char* kNoDatabase = "postgres://berth:hunter2@127.0.0.1:1/berth?sslmode=disable";

TEST_F(PostgresE2e, SigtermWhileWaitingForTheDatabaseExitsPromptly) {
  auto berth = BerthProcess::Launch(dir_.path().string(), EnvOn(kNoDatabase));
  ASSERT_NE(berth, nullptr);
  // The 4th attempt is followed by a 2 s pause.
  ASSERT_TRUE(berth->WaitForStderr("(attempt 4), trying again in 2 s", 10)) << berth->Stderr();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(berth->Stop(SIGTERM, 10), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));  // not 2 s
  EXPECT_NE(berth->Stderr().find("stopped while waiting for the database"), std::string::npos)
      << berth->Stderr();
  EXPECT_EQ(berth->Stderr().find("hunter2"), std::string::npos) << berth->Stderr();
}

TEST_F(PostgresE2e, GivesUpWaitingAfterTheDatabaseWait) {
  auto env = EnvOn(kNoDatabase);
  env["BERTH_DATABASE_WAIT"] = "1";
  auto waited = RunBerth({"serve", "--listen", "127.0.0.1:0"}, env, 30);
  EXPECT_EQ(waited.exit_code, 1);
  EXPECT_NE(waited.err.find("database not reachable yet (attempt 1)"), std::string::npos)
      << waited.err;
  EXPECT_NE(waited.err.find("berth: BERTH_DATABASE_URL: postgres: cannot connect to "
                            "postgres://berth:***@127.0.0.1:1/berth"),
            std::string::npos)
      << waited.err;
  EXPECT_NE(waited.err.find("(gave up after waiting 1"), std::string::npos) << waited.err;
  EXPECT_EQ(waited.err.find("hunter2"), std::string::npos) << waited.err;

  env["BERTH_DATABASE_WAIT"] = "0";  // one attempt
  auto once = RunBerth({"serve", "--listen", "127.0.0.1:0"}, env, 30);
  EXPECT_EQ(once.exit_code, 1);
  EXPECT_EQ(once.err.find("not reachable yet"), std::string::npos) << once.err;
  EXPECT_NE(once.err.find("cannot connect to"), std::string::npos) << once.err;
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
