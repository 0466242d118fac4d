// The REST API end to end: the built binary, a real socket, a real database: each test runs on
// SQLite and on PostgreSQL (names ending in /sqlite and /postgres).

#include <signal.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "crypto/tokens.hpp"
#include "e2e/e2e_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

using ApiE2e = BerthStoreE2eTest;

TEST_P(ApiE2e, HealthAndReadiness) {
  auto health = berth_->Get("/api/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json(), json({{"status", "ok"}}));
  // This berth has no engine (tests/support/berth_process.hpp): not ready, and it says why.
  // tests/lifecycle_e2e checks the ready answer with a real engine.
  auto ready = berth_->Get("/api/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ErrorCode(ready), "unavailable");
  EXPECT_EQ(ErrorMessage(ready).rfind("engine: ", 0), 0u) << ready.body;
  // Agent operations answer 503 too, in the one error shape, until an engine answers.
  auto [id, user_token] = CreateUser("no-engine");
  auto start = berth_->Post("/api/agent/start", "", user_token);
  EXPECT_EQ(start.status, 503) << start.body;
  EXPECT_EQ(ErrorCode(start), "unavailable");
}

TEST_P(ApiE2e, InternalEndpointLimitsFailedTokenAttemptsPerAddress) {
  auto [uid, token] = CreateUser("target");
  auto provisioned = berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken);
  ASSERT_EQ(provisioned.status, 201) << provisioned.body;
  const std::string path =
      "/api/internal/agent-config/" + provisioned.Json()["id"].get<std::string>();
  // Ten guesses are answered as wrong; then even the right token waits.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(berth_->Get(path, "bc_guess-" + std::to_string(i)).status, 401);
  }
  auto blocked = berth_->Get(path, provisioned.Json()["token"]);
  EXPECT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_EQ(ErrorCode(blocked), "resource_exhausted");
  EXPECT_FALSE(blocked.headers["retry-after"].empty());
  // Only the internal endpoint is limited.
  EXPECT_EQ(berth_->Get("/api/me", token).status, 200);
}

TEST_P(ApiE2e, UnknownRouteAndWrongMethod) {
  auto missing = berth_->Get("/api/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
  auto wrong = berth_->Send("PUT", "/api/health", "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.headers["allow"].find("GET"), std::string::npos);
}

TEST_P(ApiE2e, AdminAuthenticationAndRoles) {
  auto none = berth_->Get("/api/admin/users");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "unauthenticated");
  EXPECT_EQ(ErrorMessage(none), "Missing Bearer token");
  EXPECT_EQ(berth_->Get("/api/admin/users", "bu_not-a-real-token").status, 401);
  auto [id, user_token] = CreateUser("alice");
  auto forbidden = berth_->Get("/api/admin/users", user_token);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(ErrorCode(forbidden), "permission_denied");
  // An admin is not a user: user endpoints refuse admin tokens.
  EXPECT_EQ(berth_->Get("/api/me", kAdminToken).status, 403);
}

TEST_P(ApiE2e, AdminManagesUsers) {
  auto created = berth_->Post(
      "/api/admin/users", R"({"name":"Bob","email":"bob@example.com","id":"bob-1"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  auto body = created.Json();
  EXPECT_EQ(body["user"]["id"], "bob-1");
  EXPECT_EQ(body["user"]["name"], "Bob");
  EXPECT_EQ(body["user"]["email"], "bob@example.com");
  EXPECT_TRUE(body["user"]["createdAt"].is_string());
  std::string token = body["token"];
  EXPECT_EQ(token.rfind("bu_", 0), 0u);

  EXPECT_EQ(berth_->Post("/api/admin/users", R"({"name":"Bob2","id":"bob-1"})", kAdminToken).status,
            409);
  auto generated = berth_->Post("/api/admin/users", R"({"name":"Carol"})", kAdminToken);
  ASSERT_EQ(generated.status, 201);
  EXPECT_EQ(generated.Json()["user"]["email"], nullptr);

  auto list = berth_->Get("/api/admin/users", kAdminToken);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["users"].size(), 2u);
  EXPECT_EQ(list.Json()["users"][0]["id"], "bob-1");

  auto me = berth_->Get("/api/me", token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["user"]["id"], "bob-1");

  auto extra = berth_->Post("/api/admin/users/bob-1/tokens", "", kAdminToken);
  ASSERT_EQ(extra.status, 201);
  EXPECT_EQ(berth_->Get("/api/me", extra.Json()["token"]).status, 200);
  EXPECT_EQ(berth_->Post("/api/admin/users/ghost/tokens", "", kAdminToken).status, 404);

  EXPECT_EQ(berth_->Get("/api/admin/users/bob-1", kAdminToken).status, 200);
  EXPECT_EQ(berth_->Get("/api/admin/users/ghost", kAdminToken).status, 404);
  EXPECT_EQ(berth_->Delete("/api/admin/users/bob-1", kAdminToken).status, 204);
  EXPECT_EQ(berth_->Get("/api/admin/users/bob-1", kAdminToken).status, 404);
  EXPECT_EQ(berth_->Delete("/api/admin/users/bob-1", kAdminToken).status, 404);
  // The deleted user's tokens died with them.
  EXPECT_EQ(berth_->Get("/api/me", token).status, 401);
}

TEST_P(ApiE2e, InvalidUserInputIsA400WithTheErrorShape) {
  for (const std::string& bad :
       {std::string(""), std::string("not json"), std::string("[]"),
        std::string(R"({"email":"x@y"})"), std::string(R"({"name":""})"),
        std::string(R"({"name":5})"), std::string(R"({"name":"a","id":"bad id"})"),
        std::string(R"({"name":"a","id":"-lead"})"), std::string(R"({"name":"a","email":"nope"})"),
        std::string(R"({"name":"a","nmae":"typo"})")}) {
    auto r = berth_->Post("/api/admin/users", bad, kAdminToken);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << bad;
    EXPECT_FALSE(ErrorMessage(r).empty());
  }
}

TEST_P(ApiE2e, OversizedBodyIs413) {
  std::string big = R"({"name":")" + std::string(2 << 20, 'x') + R"("})";
  auto r = berth_->Post("/api/admin/users", big, kAdminToken);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "payload_too_large");
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
}

TEST_P(ApiE2e, ProvidersCrudNeverRevealsKeys) {
  auto [uid, token] = CreateUser("alice");
  json provider = {{"name", "my-zai"},
                   {"displayName", "Z.ai"},
                   {"type", "zai"},
                   {"baseUrl", "https://api.z.ai/v1"},
                   {"apiKey", "sk-canary-provider-key-1"},
                   {"models", json::array({"glm-5", {{"id", "glm-4"}, {"name", "GLM 4"}}})}};
  auto created = berth_->Post("/api/providers", provider.dump(), token);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body.find("sk-canary"), std::string::npos);
  auto p = created.Json()["provider"];
  EXPECT_EQ(p["hasApiKey"], true);
  EXPECT_FALSE(p.contains("apiKey"));
  EXPECT_EQ(p["name"], "my-zai");
  EXPECT_EQ(p["isActive"], true);
  EXPECT_EQ(p["models"][0]["id"], "glm-5");
  EXPECT_EQ(p["models"][1]["name"], "GLM 4");
  std::string pid = p["id"];

  EXPECT_EQ(berth_->Post("/api/providers", provider.dump(), token).status, 409);

  auto list = berth_->Get("/api/providers", token);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["providers"].size(), 1u);
  EXPECT_EQ(list.body.find("sk-canary"), std::string::npos);

  auto patched = berth_->Send("PATCH", "/api/providers/" + pid,
                              R"({"apiKey":null,"isActive":false,"displayName":"Z"})", token);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.Json()["provider"]["hasApiKey"], false);
  EXPECT_EQ(patched.Json()["provider"]["isActive"], false);
  EXPECT_EQ(patched.Json()["provider"]["displayName"], "Z");
  EXPECT_EQ(patched.Json()["provider"]["baseUrl"], "https://api.z.ai/v1");
  EXPECT_EQ(berth_->Get("/api/providers/" + pid, token).Json()["provider"]["isActive"], false);

  // Another user can neither see nor change it.
  auto [uid2, token2] = CreateUser("mallory");
  EXPECT_EQ(berth_->Get("/api/providers/" + pid, token2).status, 404);
  EXPECT_EQ(berth_->Send("PATCH", "/api/providers/" + pid, R"({"isActive":true})", token2).status,
            404);
  EXPECT_EQ(berth_->Delete("/api/providers/" + pid, token2).status, 404);
  EXPECT_EQ(berth_->Get("/api/providers", token2).Json()["providers"].size(), 0u);
  EXPECT_EQ(berth_->Get("/api/providers", kAdminToken).status, 403);
  EXPECT_EQ(berth_->Get("/api/providers").status, 401);

  EXPECT_EQ(berth_->Delete("/api/providers/" + pid, token).status, 204);
  EXPECT_EQ(berth_->Get("/api/providers/" + pid, token).status, 404);
}

TEST_P(ApiE2e, ProviderInputThatCouldNotYieldAValidConfigIs400) {
  auto [uid, token] = CreateUser("alice");
  for (const std::string& bad : {
           std::string(R"({"type":"openai","models":["m"]})"),                 // no name
           std::string(R"({"name":"Upper","type":"openai","models":["m"]})"),  // bad name
           std::string(R"({"name":"has space","type":"openai"})"),
           std::string(R"({"name":")" + std::string(64, 'a') + R"(","type":"openai"})"),
           std::string(R"({"name":"p","models":["m"]})"),                // no type
           std::string(R"({"name":"p","type":"openai","models":"m"})"),  // not an array
           std::string(R"({"name":"p","type":"openai","models":[5]})"),
           std::string(R"({"name":"p","type":"openai","models":[{"name":"x"}]})"),
           std::string(R"({"name":"p","type":"openai","models":[""]})"),
           std::string(R"({"name":"p","type":"openai","apiType":"carrier-pigeon"})"),
           std::string(R"({"name":"p","type":"openai","baseUrl":"ftp://x"})"),
           std::string(R"({"name":"p","type":"openai","isActive":"yes"})"),
           std::string(R"({"name":"p","type":"openai","apiKey":7})"),
       }) {
    auto r = berth_->Post("/api/providers", bad, token);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << bad;
  }
  EXPECT_EQ(berth_->Get("/api/providers", token).Json()["providers"].size(), 0u);
}

TEST_P(ApiE2e, AgentConfigPrimaryModelChain) {
  auto [uid, token] = CreateUser("alice");
  auto initial = berth_->Get("/api/agent-config", token);
  ASSERT_EQ(initial.status, 200);
  EXPECT_EQ(initial.Json(),
            json({{"primaryModel", nullptr},
                  {"effectivePrimaryModel", "berth-no-provider/register-a-provider"}}));
  ASSERT_EQ(berth_
                ->Post("/api/providers",
                       R"({"name":"work","type":"openai","baseUrl":"http://127.0.0.1:9/v1",
                             "models":["gpt-4.1","gpt-5"]})",
                       token)
                .status,
            201);
  EXPECT_EQ(berth_->Get("/api/agent-config", token).Json()["effectivePrimaryModel"],
            "work/gpt-4.1");
  auto set = berth_->Send("PUT", "/api/agent-config", R"({"primaryModel":"work/gpt-5"})", token);
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.Json(),
            json({{"primaryModel", "work/gpt-5"}, {"effectivePrimaryModel", "work/gpt-5"}}));
  EXPECT_EQ(
      berth_->Send("PUT", "/api/agent-config", R"({"primaryModel":"no-slash"})", token).status,
      400);
  EXPECT_EQ(berth_->Send("PUT", "/api/agent-config", R"({})", token).status, 400);
  auto cleared = berth_->Send("PUT", "/api/agent-config", R"({"primaryModel":null})", token);
  ASSERT_EQ(cleared.status, 200);
  EXPECT_EQ(cleared.Json()["effectivePrimaryModel"], "work/gpt-4.1");
}

TEST_P(ApiE2e, InternalEndpointServesEachContainerItsOwnConfig) {
  auto [uid, token] = CreateUser("alice");
  ASSERT_EQ(berth_
                ->Post("/api/providers",
                       R"({"name":"my-zai","type":"zai","baseUrl":"https://api.z.ai/v1",
                             "apiKey":"sk-zai-secret","models":[{"id":"glm-5"}]})",
                       token)
                .status,
            201);
  auto provisioned = berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken);
  ASSERT_EQ(provisioned.status, 201) << provisioned.body;
  std::string cid = provisioned.Json()["id"];
  std::string ctoken = provisioned.Json()["token"];
  EXPECT_EQ(provisioned.Json()["containerName"], "mosaic-user-" + uid);
  EXPECT_EQ(ctoken.rfind("bc_", 0), 0u);

  auto config = berth_->Get("/api/internal/agent-config/" + cid, ctoken);
  ASSERT_EQ(config.status, 200) << config.body;
  auto c = config.Json();
  EXPECT_EQ(c["gateway"]["port"], 18789);
  EXPECT_EQ(c["gateway"]["mode"], "local");
  EXPECT_EQ(c["agents"]["defaults"]["model"]["primary"], "my-zai/glm-5");
  // The provider through berth's LLM gateway with the agent's own key; its key stays in berth.
  EXPECT_EQ(c["models"]["providers"]["my-zai"]["apiKey"], crypto::AgentLlmKey(ctoken));
  EXPECT_EQ(c["models"]["providers"]["my-zai"]["baseUrl"],
            "http://berth.test:3000/api/internal/llm/my-zai");
  EXPECT_EQ(config.body.find("sk-zai-secret"), std::string::npos);
  EXPECT_EQ(config.body.find("api.z.ai"), std::string::npos);
  ASSERT_TRUE(c["models"]["providers"]["my-zai"]["models"].is_array());
  EXPECT_EQ(c["models"]["providers"]["my-zai"]["models"][0]["id"], "glm-5");
  // The gateway token never goes into the file (it reaches the gateway through env).
  EXPECT_EQ(config.body.find(ctoken), std::string::npos);

  // Seed semantics: 401 missing / invalid, 409 on a second provision.
  auto missing = berth_->Get("/api/internal/agent-config/" + cid);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(ErrorMessage(missing), "Missing Bearer token");
  auto malformed =
      HttpRequest("GET", "127.0.0.1", berth_->port(), "/api/internal/agent-config/" + cid, "",
                  {{"Authorization", "Basic abc"}});
  EXPECT_EQ(malformed.status, 401);
  EXPECT_EQ(ErrorMessage(malformed), "Missing Bearer token");
  auto invalid = berth_->Get("/api/internal/agent-config/" + cid, "bc_wrong");
  EXPECT_EQ(invalid.status, 401);
  EXPECT_EQ(ErrorMessage(invalid), "Invalid container token");
  EXPECT_EQ(berth_->Get("/api/internal/agent-config/" + cid, token).status, 401);  // user token
  EXPECT_EQ(berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken).status, 409);
  EXPECT_EQ(berth_->Post("/api/admin/users/ghost/container", "", kAdminToken).status, 404);

  // 403: a token for another container.
  auto [uid2, token2] = CreateUser("bob");
  auto other = berth_->Post("/api/admin/users/" + uid2 + "/container", "", kAdminToken);
  ASSERT_EQ(other.status, 201);
  auto cross = berth_->Get("/api/internal/agent-config/" + cid, other.Json()["token"]);
  EXPECT_EQ(cross.status, 403);
  EXPECT_EQ(ErrorMessage(cross), "Token is not authorized for the requested container");
  // bob has no providers: only the placeholder that says to register one, on berth's gateway.
  auto bob = berth_->Get("/api/internal/agent-config/" + other.Json()["id"].get<std::string>(),
                         other.Json()["token"]);
  ASSERT_EQ(bob.status, 200);
  EXPECT_EQ(bob.Json()["agents"]["defaults"]["model"]["primary"],
            "berth-no-provider/register-a-provider");
  ASSERT_EQ(bob.Json()["models"]["providers"].size(), 1u);
  EXPECT_NE(
      bob.Json()["models"]["providers"]["berth-no-provider"]["baseUrl"].get<std::string>().find(
          "/internal/llm/berth-no-provider"),
      std::string::npos)
      << bob.body;

  // Rotation: same record, new token, old token dead at once.
  auto rotated =
      berth_->Post("/api/admin/users/" + uid + "/container?rotate=true", "", kAdminToken);
  ASSERT_EQ(rotated.status, 201);
  EXPECT_EQ(rotated.Json()["id"], cid);
  EXPECT_NE(rotated.Json()["token"], ctoken);
  EXPECT_EQ(berth_->Get("/api/internal/agent-config/" + cid, ctoken).status, 401);
  EXPECT_EQ(berth_->Get("/api/internal/agent-config/" + cid, rotated.Json()["token"]).status, 200);
  EXPECT_EQ(
      berth_->Post("/api/admin/users/" + uid + "/container?rotate=maybe", "", kAdminToken).status,
      400);

  // Deleting the user removes the record: its token opens nothing.
  EXPECT_EQ(berth_->Delete("/api/admin/users/" + uid, kAdminToken).status, 204);
  EXPECT_EQ(berth_->Get("/api/internal/agent-config/" + cid, rotated.Json()["token"]).status, 401);
}

TEST_P(ApiE2e, SystemContainers) {
  auto created =
      berth_->Post("/api/admin/system-containers",
                   R"({"name":"ops-bot","primaryModel":"anthropic/claude-x"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = created.Json()["container"];
  EXPECT_EQ(c["name"], "ops-bot");
  EXPECT_EQ(c["primaryModel"], "anthropic/claude-x");
  EXPECT_EQ(c["status"], "stopped");
  std::string id = c["id"];
  std::string token = created.Json()["token"];
  EXPECT_EQ(
      berth_->Post("/api/admin/system-containers", R"({"name":"ops-bot"})", kAdminToken).status,
      409);
  EXPECT_EQ(
      berth_->Post("/api/admin/system-containers", R"({"name":"Bad Name"})", kAdminToken).status,
      400);
  EXPECT_EQ(berth_
                ->Post("/api/admin/system-containers", R"({"name":"x","primaryModel":"bad"})",
                       kAdminToken)
                .status,
            400);

  auto config = berth_->Get("/api/internal/agent-config/" + id, token);
  ASSERT_EQ(config.status, 200) << config.body;
  EXPECT_EQ(config.Json()["agents"]["defaults"]["model"]["primary"], "anthropic/claude-x");
  EXPECT_EQ(config.Json()["gateway"]["port"], 18789);

  auto list = berth_->Get("/api/admin/system-containers", kAdminToken);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["containers"].size(), 1u);
  EXPECT_EQ(list.Json()["containers"][0]["id"], id);
  EXPECT_EQ(list.body.find(token), std::string::npos);

  EXPECT_EQ(berth_->Delete("/api/admin/system-containers/" + id, kAdminToken).status, 204);
  EXPECT_EQ(berth_->Delete("/api/admin/system-containers/" + id, kAdminToken).status, 404);
  EXPECT_EQ(berth_->Get("/api/internal/agent-config/" + id, token).status, 401);
}

TEST_P(ApiE2e, GracefulShutdownOnSigtermAndSigint) {
  EXPECT_EQ(berth_->Stop(SIGTERM), 0) << berth_->Stderr();
  auto again = StartBerth(BaseEnv());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get("/api/health").status, 200);
  EXPECT_EQ(again->Stop(SIGINT), 0) << again->Stderr();
}

TEST_P(ApiE2e, LogsAreJsonLinesUnlessTextIsAsked) {
  EXPECT_EQ(berth_->Get("/api/health").status, 200);
  ASSERT_EQ(berth_->Stop(SIGTERM), 0);
  std::istringstream json_log(berth_->Stderr());
  int events = 0;
  bool listening = false, access = false;
  for (std::string line; std::getline(json_log, line); ++events) {
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(event.is_object()) << line;
    ASSERT_TRUE(event["ts"].is_string() && event["level"].is_string() && event["msg"].is_string())
        << line;
    const std::string msg = event["msg"];
    listening = listening || msg.rfind("berth listening on 127.0.0.1:", 0) == 0;
    access = access || msg.rfind("http GET /api/health 200 ", 0) == 0;
  }
  EXPECT_GT(events, 1);
  EXPECT_TRUE(listening) << berth_->Stderr();
  EXPECT_TRUE(access) << berth_->Stderr();

  auto env = BaseEnv();
  env["BERTH_LOG_FORMAT"] = "text";
  auto text = StartBerth(env);
  ASSERT_NE(text, nullptr);
  ASSERT_EQ(text->Stop(SIGTERM), 0);
  const std::string text_log = text->Stderr();
  EXPECT_NE(text_log.rfind('{', 0), 0u) << text_log;
  EXPECT_NE(text_log.find("Z info berth listening on 127.0.0.1:"), std::string::npos) << text_log;

  // The flag beats the environment.
  std::string error;
  auto flagged = BerthProcess::Start(dir_.path().string(), env, {"--log-format", "json"}, &error);
  ASSERT_NE(flagged, nullptr) << error;
  ASSERT_EQ(flagged->Stop(SIGTERM), 0);
  EXPECT_EQ(flagged->Stderr().rfind("{\"ts\":", 0), 0u) << flagged->Stderr();
}

BERTH_E2E_ON_EVERY_STORE(ApiE2e);

}  // namespace
}  // namespace berth::testing
