// Secrets at rest end to end: restart persistence, key rotation, tamper detection, and that no
// plaintext key or token reaches the database file or the logs.

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/tokens.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/local_address.hpp"
#include "testagent/fake_http_server.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

const std::string kKeyA(64, 'a');
const std::string kKeyB(64, 'b');

class SecretsE2e : public BerthE2eTest {
 protected:
  // Not started by SetUp: each test chooses its keys.
  void SetUp() override {}

  struct Fixture {
    std::string user_id, user_token, container_id, container_token;
  };

  // A user with two keyed providers (at the fake provider) and a container record.
  Fixture Populate(BerthProcess& b) {
    Fixture f;
    auto r = b.Post("/api/admin/users", R"({"name":"alice"})", kAdminToken);
    EXPECT_EQ(r.status, 201) << r.body;
    f.user_id = r.Json()["user"]["id"];
    f.user_token = r.Json()["token"];
    for (const auto& [name, key] :
         {std::pair{"alpha", "sk-canary-alpha-4242"}, std::pair{"beta", "sk-canary-beta-4343"}}) {
      json p = {{"name", name},
                {"type", "openai"},
                {"baseUrl", provider_.Url() + "/v1"},
                {"apiKey", key},
                {"models", {"m1"}}};
      EXPECT_EQ(b.Post("/api/providers", p.dump(), f.user_token).status, 201);
    }
    auto c = b.Post("/api/admin/users/" + f.user_id + "/container", "", kAdminToken);
    EXPECT_EQ(c.status, 201);
    f.container_id = c.Json()["id"];
    f.container_token = c.Json()["token"];
    return f;
  }

  // One call of the agent's through berth's LLM gateway to its provider `name`.
  static HttpResult CallProvider(BerthProcess& b, const Fixture& f, const std::string& name) {
    return b.Get("/api/internal/llm/" + name + "/models", crypto::AgentLlmKey(f.container_token));
  }

  // The keys the providers receive from berth's gateway, by provider: the agent's config holds
  // only its own key (checked here too), so this is where berth's secrets are read.
  std::map<std::string, std::string> KeysSentUpstream(BerthProcess& b, const Fixture& f) {
    auto r = b.Get("/api/internal/agent-config/" + f.container_id, f.container_token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::map<std::string, std::string> keys;
    const json config = r.Json();
    if (!config.is_object()) return keys;
    for (const auto& [name, p] : config["models"]["providers"].items()) {
      EXPECT_EQ(p.value("apiKey", ""), crypto::AgentLlmKey(f.container_token)) << name;
      const std::size_t before = provider_.RequestCount();
      auto answered = CallProvider(b, f, name);
      EXPECT_EQ(answered.status, 200) << name << ": " << answered.body;
      if (provider_.RequestCount() != before + 1) continue;
      const std::string sent = provider_.Requests().back().Header("authorization");
      keys[name] = sent.rfind("Bearer ", 0) == 0 ? sent.substr(7) : sent;
    }
    return keys;
  }

  // The providers' stand-in, on an address of this machine's own (the gateway never connects to
  // loopback; BerthProcess allows the private ranges).
  FakeHttpServer provider_{
      [](const FakeRequest&, FakeExchange& x) { x.Respond(200, R"({"object":"list","data":[]})"); },
      LocalAddress()};

  std::string DbPath() const { return dir_.File("berth.db"); }

  // Everything SQLite may hold on disk: the file, its WAL and journal.
  std::string DbBytes() const {
    return ReadFile(DbPath()) + ReadFile(DbPath() + "-wal") + ReadFile(DbPath() + "-journal");
  }

  static void ExecSql(const std::string& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(h);
  }

  static std::string QueryOne(const std::string& db, const std::string& sql) {
    sqlite3* h = nullptr;
    sqlite3_open(db.c_str(), &h);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  }

  std::map<std::string, std::string> EnvWithKey(const std::string& key,
                                                const std::string& previous = "") const {
    auto env = BaseEnv();
    env["BERTH_ENCRYPTION_KEY"] = key;
    if (!previous.empty()) env["BERTH_ENCRYPTION_KEY_PREVIOUS"] = previous;
    return env;
  }
};

TEST_F(SecretsE2e, SameDataDirAfterRestartKeepsSecretsAndTokens) {
  // Key-file mode: no BERTH_ENCRYPTION_KEY; berth creates <data dir>/encryption.key.
  auto first = StartBerth(BaseEnv());
  ASSERT_NE(first, nullptr);
  Fixture f = Populate(*first);
  auto before = KeysSentUpstream(*first, f);
  ASSERT_EQ(before["alpha"], "sk-canary-alpha-4242");
  ASSERT_EQ(first->Stop(SIGTERM), 0);

  struct stat st {};
  ASSERT_EQ(stat(dir_.File("encryption.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string key_file = ReadFile(dir_.File("encryption.key"));

  auto second = StartBerth(BaseEnv());
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(ReadFile(dir_.File("encryption.key")), key_file);
  EXPECT_EQ(second->Get("/api/me", f.user_token).status, 200);
  EXPECT_EQ(KeysSentUpstream(*second, f), before);
}

TEST_F(SecretsE2e, FirstAdminTokenIsPrintedOnceStoredHashedAndKeepsWorking) {
  auto env = BaseEnv();
  env.erase("BERTH_ADMIN_TOKEN");
  auto first = StartBerth(env);
  ASSERT_NE(first, nullptr);
  std::string out = first->Stdout();
  auto pos = out.find("ba_");
  ASSERT_NE(pos, std::string::npos) << out;
  std::string admin = out.substr(pos, out.find('\n', pos) - pos);
  EXPECT_EQ(first->Get("/api/admin/users", admin).status, 200);
  EXPECT_EQ(first->Stderr().find(admin), std::string::npos) << "admin token in the log";
  ASSERT_EQ(first->Stop(SIGTERM), 0);
  EXPECT_EQ(DbBytes().find(admin), std::string::npos) << "admin token stored in plaintext";

  auto second = StartBerth(env);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->Stdout().find("ba_"), std::string::npos) << "printed a second time";
  EXPECT_EQ(second->Get("/api/admin/users", admin).status, 200);
}

TEST_F(SecretsE2e, NoPlaintextKeyOrTokenInDatabaseOrLogs) {
  auto env = EnvWithKey(kKeyA);
  env["BERTH_LOG_LEVEL"] = "trace";
  auto b = StartBerth(env);
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  ASSERT_EQ(KeysSentUpstream(*b, f)["beta"], "sk-canary-beta-4343");
  // Also exercise failing requests, which log too.
  b->Get("/api/internal/agent-config/" + f.container_id, f.container_token + "x");
  b->Get("/api/me?token=" + f.user_token);
  ASSERT_EQ(b->Stop(SIGTERM), 0);

  std::string db = DbBytes();
  std::string logs = b->Stdout() + b->Stderr();
  ASSERT_FALSE(db.empty());
  ASSERT_FALSE(logs.empty());
  for (const std::string& secret :
       {std::string("sk-canary-alpha-4242"), std::string("sk-canary-beta-4343"), f.user_token,
        f.container_token, std::string(kAdminToken)}) {
    EXPECT_EQ(db.find(secret), std::string::npos) << "in the database: " << secret;
    EXPECT_EQ(logs.find(secret), std::string::npos) << "in the logs: " << secret;
  }
  // Sanity: the check can see what is really in the file.
  EXPECT_NE(db.find("alpha"), std::string::npos);
  EXPECT_EQ(QueryOne(DbPath(), "SELECT api_key FROM llm_providers LIMIT 1").rfind("enc:v1:", 0),
            0u);
}

TEST_F(SecretsE2e, RotateKeyReencryptsEverythingAndIsSafeToRerun) {
  auto b = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  auto before = KeysSentUpstream(*b, f);
  ASSERT_EQ(b->Stop(SIGTERM), 0);
  std::string sealed_before = QueryOne(DbPath(), "SELECT api_key FROM llm_providers LIMIT 1");

  // Without the old key, berth refuses to start and says which key it needs.
  auto refused = RunBerth({"serve", "--listen", "127.0.0.1:0"}, EnvWithKey(kKeyB));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("BERTH_ENCRYPTION_KEY"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("not configured"), std::string::npos) << refused.err;

  auto rotated = RunBerth({"rotate-key"}, EnvWithKey(kKeyB, kKeyA));
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  // 2 provider keys + 1 container token.
  EXPECT_NE(rotated.out.find("rotated 3 of 3"), std::string::npos) << rotated.out;
  EXPECT_NE(QueryOne(DbPath(), "SELECT api_key FROM llm_providers LIMIT 1"), sealed_before);

  auto rerun = RunBerth({"rotate-key"}, EnvWithKey(kKeyB, kKeyA));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("rotated 0 of 3"), std::string::npos) << rerun.out;

  // The new key alone now reads everything; the old key alone no longer starts.
  auto after = StartBerth(EnvWithKey(kKeyB));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(KeysSentUpstream(*after, f), before);
  EXPECT_EQ(after->Get("/api/me", f.user_token).status, 200);
  ASSERT_EQ(after->Stop(SIGTERM), 0);
  EXPECT_NE(RunBerth({"serve", "--listen", "127.0.0.1:0"}, EnvWithKey(kKeyA)).exit_code, 0);
}

TEST_F(SecretsE2e, RotateKeyFinishesAnInterruptedRun) {
  auto b = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  auto before = KeysSentUpstream(*b, f);
  ASSERT_EQ(b->Stop(SIGTERM), 0);

  // Simulate a crash part-way: re-seal one value under B by running a full rotation on a copy,
  // then copy that single value back, leaving the others under A.
  std::filesystem::copy_file(DbPath(), dir_.File("copy.db"));
  if (std::filesystem::exists(DbPath() + "-wal")) {
    std::filesystem::copy_file(DbPath() + "-wal", dir_.File("copy.db-wal"));
  }
  auto env = EnvWithKey(kKeyB, kKeyA);
  env["BERTH_DATABASE_URL"] = "sqlite://" + dir_.File("copy.db");
  ASSERT_EQ(RunBerth({"rotate-key"}, env).exit_code, 0);
  std::string alpha_b =
      QueryOne(dir_.File("copy.db"), "SELECT api_key FROM llm_providers WHERE name='alpha'");
  ExecSql(DbPath(), "UPDATE llm_providers SET api_key='" + alpha_b + "' WHERE name='alpha'");

  auto finish = RunBerth({"rotate-key"}, EnvWithKey(kKeyB, kKeyA));
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  EXPECT_NE(finish.out.find("rotated 2 of 3"), std::string::npos) << finish.out;
  auto after = StartBerth(EnvWithKey(kKeyB));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(KeysSentUpstream(*after, f), before);
}

TEST_F(SecretsE2e, GeneratedKeyFileRotation) {
  auto b = StartBerth(BaseEnv());
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  auto before = KeysSentUpstream(*b, f);
  ASSERT_EQ(b->Stop(SIGTERM), 0);
  std::string old_key = ReadFile(dir_.File("encryption.key"));

  auto rotated = RunBerth({"rotate-key", "--generate"}, BaseEnv());
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("rotated 3 of 3"), std::string::npos) << rotated.out;
  EXPECT_NE(ReadFile(dir_.File("encryption.key")), old_key);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("encryption.key.previous")));

  auto after = StartBerth(BaseEnv());
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(KeysSentUpstream(*after, f), before);
}

TEST_F(SecretsE2e, TamperedSecretIsAClearErrorNotACrash) {
  auto b = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  ASSERT_EQ(b->Stop(SIGTERM), 0);

  std::string sealed = QueryOne(DbPath(), "SELECT api_key FROM llm_providers WHERE name='beta'");
  ASSERT_EQ(sealed.rfind("enc:v1:", 0), 0u);
  std::string tampered = sealed;
  char& c = tampered[tampered.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  ExecSql(DbPath(), "UPDATE llm_providers SET api_key='" + tampered + "' WHERE name='beta'");

  auto after = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(after, nullptr);
  // The agent's config opens no provider key: it is served. The gateway's call with the
  // tampered key fails, naming the provider; the other provider still works.
  EXPECT_EQ(after->Get("/api/internal/agent-config/" + f.container_id, f.container_token).status,
            200);
  EXPECT_EQ(CallProvider(*after, f, "alpha").status, 200);
  auto r = CallProvider(*after, f, "beta");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(ErrorCode(r), "data_loss");
  EXPECT_NE(ErrorMessage(r).find("beta"), std::string::npos) << r.body;
  EXPECT_NE(ErrorMessage(r).find("authentication"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("sk-canary"), std::string::npos);
  EXPECT_EQ(after->Get("/api/health").status, 200);
  // Other users' data is unaffected.
  EXPECT_EQ(after->Get("/api/providers", f.user_token).status, 200);
}

TEST_F(SecretsE2e, UnsealedImportedValuesAreStillRead) {
  auto b = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(b, nullptr);
  Fixture f = Populate(*b);
  ASSERT_EQ(b->Stop(SIGTERM), 0);
  ExecSql(DbPath(), "UPDATE llm_providers SET api_key='sk-imported-plain' WHERE name='alpha'");
  auto after = StartBerth(EnvWithKey(kKeyA));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(KeysSentUpstream(*after, f)["alpha"], "sk-imported-plain");
  ASSERT_EQ(after->Stop(SIGTERM), 0);
  // rotate-key seals it.
  auto rotated = RunBerth({"rotate-key"}, EnvWithKey(kKeyA));
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("rotated 1 of 3"), std::string::npos) << rotated.out;
  EXPECT_EQ(DbBytes().find("sk-imported-plain"), std::string::npos);
}

TEST_F(SecretsE2e, InvalidSettingsFailAtStartNamingTheSetting) {
  struct Case {
    std::string name, value;
  };
  for (const auto& c : std::vector<Case>{{"BERTH_LISTEN", "not-an-address"},
                                         {"BERTH_ENCRYPTION_KEY", "short"},
                                         {"BERTH_DATABASE_URL", "mysql://x"},
                                         {"BERTH_DATABASE_URL", "postgres://localhost:1/berth"},
                                         {"BERTH_ADMIN_TOKEN", "weak"},
                                         {"DOCKER_HOST", "ssh://x"},
                                         {"BERTH_LOG_FORMAT", "xml"}}) {
    auto env = BaseEnv();
    env[c.name] = c.value;
    auto r = RunBerth({"serve"}, env);
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_NE(r.err.find(c.name), std::string::npos) << c.name << ": " << r.err;
  }
  // A port in use is a start failure too.
  auto b = StartBerth(BaseEnv());
  ASSERT_NE(b, nullptr);
  // (On a database of its own: a second berth on the first one's SQLite file is refused earlier.)
  auto other_db = BaseEnv();
  other_db["BERTH_DATABASE_URL"] = "sqlite://" + dir_.File("other.db");
  auto taken = RunBerth({"serve", "--listen", "127.0.0.1:" + std::to_string(b->port())}, other_db);
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.err.find("BERTH_LISTEN"), std::string::npos) << taken.err;
}

}  // namespace
}  // namespace berth::testing
