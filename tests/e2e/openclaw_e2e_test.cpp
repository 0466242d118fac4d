// Every kind of config berth emits over the internal endpoint passes the real gateway's own
// validator (`openclaw config validate`). Users are set up through the public API, so this covers
// the whole path: API validation → store → sealing → assembly → the endpoint's JSON.

#include <nlohmann/json.hpp>

#include "agentconfig/openclaw_schema.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/openclaw_runner.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

class OpenClawE2e : public BerthE2eTest {
 protected:
  void SetUp() override {
    if (const char* skip = std::getenv("BERTH_SKIP_OPENCLAW"); skip && std::string(skip) == "1") {
      GTEST_SKIP() << "BERTH_SKIP_OPENCLAW=1";
    }
    std::string problem = runner_.CheckInstalled(std::string(agentconfig::kOpenClawVersion));
    ASSERT_TRUE(problem.empty()) << problem;
    BerthE2eTest::SetUp();
  }

  // A user with the given providers (and primary model), provisioned; returns its served config.
  json ConfigOf(const std::string& name, const std::vector<json>& providers,
                const json& primary_model = nullptr) {
    auto [uid, token] = CreateUser(name);
    for (const json& p : providers) {
      auto r = berth_->Post("/api/providers", p.dump(), token);
      EXPECT_EQ(r.status, 201) << p.dump() << " -> " << r.body;
    }
    if (!primary_model.is_null()) {
      auto r = berth_->Send("PUT", "/api/agent-config",
                            json{{"primaryModel", primary_model}}.dump(), token);
      EXPECT_EQ(r.status, 200) << r.body;
    }
    auto c = berth_->Post("/api/admin/users/" + uid + "/container", "", kAdminToken);
    EXPECT_EQ(c.status, 201) << c.body;
    return Fetch(c.Json()["id"], c.Json()["token"]);
  }

  json Fetch(const std::string& id, const std::string& token) {
    auto r = berth_->Get("/api/internal/agent-config/" + id, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  OpenClawRunner runner_;
};

TEST_F(OpenClawE2e, EveryEmittedConfigIsValid) {
  std::vector<std::pair<std::string, json>> configs;
  configs.emplace_back("no providers", ConfigOf("empty", {}));
  configs.emplace_back(
      "several providers, keys and none, string and object models, inactive ones",
      ConfigOf("many",
               {
                   {{"name", "openai"},
                    {"type", "openai"},
                    {"apiKey", "sk-a"},
                    {"models", {"gpt-4.1", "gpt-4o-mini"}}},
                   {{"name", "local-llm"},
                    {"type", "custom"},
                    {"baseUrl", "http://127.0.0.1:8000/v1"},
                    {"models", {{{"id", "qwen3"}, {"name", "Qwen 3"}}, {{"id", "llama/3.3:70b"}}}}},
                   {{"name", "anthropic"},
                    {"type", "anthropic"},
                    {"apiKey", "sk-ant"},
                    {"apiType", "anthropic-messages"},
                    {"models", {"claude-x"}}},
                   {{"name", "off"},
                    {"type", "custom"},
                    {"baseUrl", "http://127.0.0.1:9/v1"},
                    {"isActive", false},
                    {"models", {"m"}}},
                   {{"name", "my-zai"},
                    {"type", "zai"},
                    {"baseUrl", "https://api.z.ai/v1"},
                    {"apiKey", "sk-zai"},
                    {"apiType", "openai-responses"},
                    {"models", {"glm-5"}}},
               },
               "local-llm/qwen3"));
  configs.emplace_back("only inactive providers",
                       ConfigOf("inactive", {{{"name", "off"},
                                              {"type", "custom"},
                                              {"baseUrl", "http://127.0.0.1:9/v1"},
                                              {"isActive", false},
                                              {"models", {"m"}}}}));
  configs.emplace_back("empty key omitted, provider without models",
                       ConfigOf("sparse", {{{"name", "openai"}, {"type", "openai"}, {"apiKey", ""}},
                                           {{"name", "x.y_z-1"},
                                            {"type", "custom"},
                                            {"baseUrl", "https://llm.example/v1"},
                                            {"models", json::array()}}}));

  for (const json& primary : {json("ops/model"), json(nullptr)}) {
    json body = {{"name", primary.is_null() ? "plain" : "with-model"}};
    if (!primary.is_null()) body["primaryModel"] = primary;
    auto created = berth_->Post("/api/admin/system-containers", body.dump(), kAdminToken);
    ASSERT_EQ(created.status, 201) << created.body;
    configs.emplace_back("system container " + body.dump(),
                         Fetch(created.Json()["container"]["id"], created.Json()["token"]));
  }

  // The emitted configs differ as intended (a check that the matrix is what it says).
  // No provider, or only inactive ones: the placeholder that says to register one.
  for (int i : {0, 2}) {
    EXPECT_EQ(configs[i].second["models"]["providers"].size(), 1u) << configs[i].first;
    EXPECT_TRUE(configs[i].second["models"]["providers"].contains("berth-no-provider"))
        << configs[i].first;
  }
  EXPECT_EQ(configs[1].second["models"]["providers"].size(), 4u);
  EXPECT_FALSE(configs[1].second["models"]["providers"].contains("off"));
  EXPECT_EQ(configs[1].second["agents"]["defaults"]["model"]["primary"], "local-llm/qwen3");
  // Every provider goes through berth's LLM gateway with the agent's own key, even one without
  // a key of its own; no provider key reaches any config.
  EXPECT_EQ(configs[3].second["models"]["providers"]["openai"]["apiKey"].get<std::string>().rfind(
                "bk_", 0),
            0u);
  for (const auto& [what, config] : configs) {
    EXPECT_EQ(config.dump().find("\"sk-"), std::string::npos) << what;
  }

  std::vector<json> plain;
  for (const auto& c : configs) plain.push_back(c.second);
  auto outcomes = runner_.ValidateAll(plain);
  ASSERT_EQ(outcomes.size(), configs.size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const std::string context =
        configs[i].first + "\n" + configs[i].second.dump(2) + "\n" + outcomes[i].Describe();
    EXPECT_EQ(outcomes[i].exit_code, 0) << context;
    EXPECT_EQ(Member(outcomes[i].json, "valid"), json(true)) << context;
  }
}

}  // namespace
}  // namespace berth::testing
