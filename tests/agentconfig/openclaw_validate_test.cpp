// Checks the configs berth builds against the real OpenClaw validator (`openclaw config validate
// --json`, the same check the gateway applies at start and on hot reload), run through
// scripts/openclaw. Requires scripts/install-openclaw.sh to have run; set BERTH_SKIP_OPENCLAW=1 to
// skip explicitly. The validator runs offline, in a scratch HOME and state dir.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agentconfig/openclaw_config.hpp"
#include "support/openclaw_runner.hpp"
#include "support/temp_dir.hpp"

namespace berth::agentconfig {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using testing::Invocation;
using testing::Member;
using testing::Outcome;

class OpenClawValidate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* skip = std::getenv("BERTH_SKIP_OPENCLAW"); skip && std::string(skip) == "1") {
      GTEST_SKIP() << "BERTH_SKIP_OPENCLAW=1";
    }
    const std::string problem = runner_.CheckInstalled(std::string(kOpenClawVersion));
    ASSERT_TRUE(problem.empty()) << problem;
  }

  // Runs `openclaw config validate --json` on every config, 2 at a time.
  std::vector<Outcome> ValidateAll(const std::vector<std::pair<std::string, Json>>& configs) {
    std::vector<Json> plain;
    for (const auto& labelled : configs) plain.push_back(labelled.second);
    return runner_.ValidateAll(plain);
  }

  // Expects every config to be valid with no warnings.
  void ExpectAllValid(const std::vector<std::pair<std::string, Json>>& configs) {
    const std::vector<Outcome> outcomes = ValidateAll(configs);
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const Outcome& outcome = outcomes[i];
      const std::string context = configs[i].first + "\n" + outcome.Describe();
      EXPECT_EQ(outcome.exit_code, 0) << context;
      EXPECT_EQ(Member(outcome.json, "valid"), Json(true)) << context;
      EXPECT_EQ(Member(outcome.json, "warnings"), Json::array()) << context;
    }
  }

  // Expects every config to be rejected; returns the issues reported for each.
  std::vector<Json> ExpectAllInvalid(const std::vector<std::pair<std::string, Json>>& configs) {
    const std::vector<Outcome> outcomes = ValidateAll(configs);
    std::vector<Json> issues;
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const Outcome& outcome = outcomes[i];
      const std::string context = configs[i].first + "\n" + outcome.Describe();
      EXPECT_EQ(outcome.exit_code, 1) << context;
      EXPECT_EQ(Member(outcome.json, "valid"), Json(false)) << context;
      const Json& reported = Member(outcome.json, "issues");
      EXPECT_TRUE(reported.is_array() && !reported.empty()) << context;
      issues.push_back(reported.is_array() && !reported.empty() ? reported
                                                                : Json::array({Json::object()}));
    }
    return issues;
  }

  static std::vector<std::string> IssuePaths(const Json& issues) {
    std::vector<std::string> paths;
    for (const Json& issue : issues) paths.push_back(Member(issue, "path").dump());
    return paths;
  }

  testing::OpenClawRunner runner_;
};

ProviderInput Provider(std::string name, std::optional<std::string> base_url,
                       std::vector<ModelEntry> models, std::optional<std::string> api_key = {},
                       std::optional<std::string> api_type = {}) {
  ProviderInput provider;
  provider.name = std::move(name);
  provider.type = "openai";
  provider.base_url = std::move(base_url);
  provider.api_key = std::move(api_key);
  provider.api_type = std::move(api_type);
  provider.models = std::move(models);
  return provider;
}

// Inputs as berth's API admits them: every provider must pass ValidateProvider.
std::vector<ProviderInput> Validated(std::vector<ProviderInput> providers) {
  for (const ProviderInput& provider : providers) {
    const Status status = ValidateProvider(provider);
    EXPECT_TRUE(status.ok()) << provider.name << ": " << status.ToString();
  }
  return providers;
}

std::vector<ModelEntry> Strict(const std::string& json) {
  Result<std::vector<ModelEntry>> models = ParseModelsStrict(Json::parse(json));
  EXPECT_TRUE(models.ok()) << models.status().ToString();
  return models.ok() ? std::move(models).value() : std::vector<ModelEntry>{};
}

TEST_F(OpenClawValidate, AcceptsUserConfigs) {
  std::vector<std::pair<std::string, Json>> configs;

  configs.emplace_back("no providers", BuildUserConfig(std::nullopt, {}));
  // What berth serves such a user (the one above makes the real gateway exit 78 at start).
  configs.emplace_back(
      "no usable provider",
      BuildNoProviderConfig("http://172.30.0.1:3001/api/internal/llm/berth-no-provider", "bk_a.b"));

  configs.emplace_back(
      "several providers, with and without key and baseUrl, string and object models",
      BuildUserConfig(
          std::nullopt,
          Validated({
              Provider("my-zai", "https://api.z.ai/v1", ParseModelsLenient(R"([{"id": "glm-5"}])"),
                       "secret-zai-key", "openai-completions"),
              Provider("local-vllm", "http://10.0.0.5:8000/v1",
                       Strict(R"(["qwen3-32b", {"id": "llama-3.3-70b", "name": "Llama 3.3"}])")),
              Provider("openai", std::nullopt, Strict(R"(["gpt-4o-mini", "gpt-4.1"])"), "sk-o"),
              Provider("anthropic", std::nullopt, {}, "sk-ant"),
              Provider("empty-custom", "https://empty.example", {}, ""),
          })));

  std::vector<ProviderInput> every_api;
  for (std::size_t i = 0; i < kModelApis.size(); ++i) {
    every_api.push_back(
        Provider("api-" + std::to_string(i), "https://api" + std::to_string(i) + ".example/v1",
                 {ModelEntry{"m", std::nullopt, std::nullopt}}, "k", std::string(kModelApis[i])));
  }
  configs.emplace_back("every accepted api type",
                       BuildUserConfig("api-0/m", Validated(std::move(every_api))));

  configs.emplace_back(
      "primary model not among the providers",
      BuildUserConfig(
          "anthropic/claude-sonnet-4",
          Validated({Provider("acme", "https://acme.example/v1", Strict(R"(["m"])"))})));

  std::vector<ModelEntry> many;
  for (std::size_t i = 0; i < kMaxModelsPerProvider; ++i) {
    many.push_back({"model-" + std::to_string(i), std::nullopt, std::nullopt});
  }
  many.front().id = std::string(kMaxModelIdLength, 'i');
  many.front().name = std::string(kMaxModelNameLength, 'n');
  configs.emplace_back(
      "edge values: env references, unicode, slashes, maximum lengths",
      BuildUserConfig(
          "z.ai/m-${HOME}",
          Validated({
              Provider(
                  "z.ai", "https://x.example/${OPENCLAW_GATEWAY_TOKEN}?k=$HOME",
                  Strict(R"(["m-${HOME}", {"id": "vendor/model:free", "name": "\u6a21\u578b ${X}"},
                                 "$${HOME}"])"),
                  "sk-${AGENT_TOKEN}$$"),
              Provider(std::string(kMaxProviderNameLength, 'p'), "http://[::1]:11434", many,
                       std::string(kMaxApiKeyLength, 'k'), "ollama"),
              Provider("a_b-c.d", "HTTPS://UPPER.EXAMPLE:443/", {}, "$lower"),
          })));

  // Stored rows that break today's rules; the builder must still produce a file the gateway takes.
  ProviderInput bad_api =
      Provider("bad-api", "https://x.example", {}, {}, "openai-codex-responses");
  configs.emplace_back(
      "stored rows that fail validation",
      BuildUserConfig(
          "", {Provider("custom", std::nullopt, {{"m", std::nullopt, std::nullopt}}),
               Provider("Upper Case", "https://x.example", {}), bad_api,
               Provider("__proto__", "https://x.example", {}),
               Provider(
                   "kept", "not a url",
                   {{"", "x", std::nullopt}, {"a", "", std::nullopt}, {"a", "b", std::nullopt}})}));

  ExpectAllValid(configs);
}

TEST_F(OpenClawValidate, AcceptsSystemConfigs) {
  ExpectAllValid({{"default primary", BuildSystemConfig(std::nullopt)},
                  {"configured primary", BuildSystemConfig("anthropic/claude-sonnet-4")},
                  {"warm pool", BuildPoolConfig("http://172.30.0.1:3001/api/internal/warmup/v1")},
                  {"warm-up rehearsal",
                   BuildPoolRehearsalConfig("http://172.30.0.1:3001/api/internal/warmup/v1")}});
}

// kBuiltInProviderIds is what lets ValidateProvider accept a provider without baseUrl.
TEST_F(OpenClawValidate, AcceptsEveryBundledProviderWithoutBaseUrl) {
  std::vector<ProviderInput> bundled;
  for (std::string_view id : kBuiltInProviderIds) {
    bundled.push_back(Provider(std::string(id), std::nullopt, {{"m", std::nullopt, std::nullopt}}));
  }
  const Json config = BuildUserConfig(std::nullopt, Validated(bundled));
  ASSERT_EQ(config["models"]["providers"].size(), kBuiltInProviderIds.size());
  ExpectAllValid({{"every bundled provider id without baseUrl", config}});
}

// Negative controls: the check can fail. It fails on the seed's models map (the defect that
// crashes the gateway) and on an unknown key; it also pins two facts berth's rules rest on: custom
// providers need baseUrl (ValidateProvider requires it, the builder drops stored rows without
// it), and the accepted api values are exactly kModelApis.
TEST_F(OpenClawValidate, RejectsWhatTheGatewayRefuses) {
  const ProviderInput acme =
      Provider("acme", "https://acme.example", {{"m", std::nullopt, std::nullopt}});

  Json seed_map = BuildUserConfig(std::nullopt, {acme});
  seed_map["models"]["providers"]["acme"]["models"] = {{"m", Json::object()}};
  Json unknown_key = BuildUserConfig(std::nullopt, {});
  unknown_key["gateway"]["berthManaged"] = true;
  Json no_base_url = BuildUserConfig(std::nullopt, {acme});
  no_base_url["models"]["providers"]["acme"].erase("baseUrl");
  Json bad_api = BuildUserConfig(std::nullopt, {acme});
  bad_api["models"]["providers"]["acme"]["api"] = "not-an-api";

  const std::vector<Json> issues =
      ExpectAllInvalid({{"the seed's models map", seed_map},
                        {"an unknown key", unknown_key},
                        {"a custom provider without baseUrl", no_base_url},
                        {"an unknown api", bad_api}});
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_THAT(IssuePaths(issues[0]), ::testing::ElementsAre(R"("models.providers.acme.models")"));
  EXPECT_THAT(IssuePaths(issues[1]), ::testing::ElementsAre(R"("gateway")"));
  EXPECT_THAT(Member(issues[1][0], "message").dump(), HasSubstr("berthManaged"));
  EXPECT_THAT(IssuePaths(issues[2]), ::testing::ElementsAre(R"("models.providers.acme.baseUrl")"));
  EXPECT_THAT(IssuePaths(issues[3]), ::testing::ElementsAre(R"("models.providers.acme.api")"));
  const std::vector<std::string> expected_apis(kModelApis.begin(), kModelApis.end());
  EXPECT_EQ(Member(issues[3][0], "allowedValues"), Json(expected_apis));
}

// Escaped user text comes out of OpenClaw's env substitution exactly as the user wrote it.
TEST_F(OpenClawValidate, ReadsEscapedTextLiterally) {
  const Json config =
      BuildUserConfig("acme/m-${HOME}", {Provider("acme", "https://x.example/${HOME}/$${HOME}",
                                                  {{"m-${HOME}", "n-${PATH}", std::nullopt}})});
  const std::string text = config.dump();
  const std::vector<Outcome> got =
      runner_.RunAll({{{"config", "get", "models.providers.acme", "--json"}, text},
                      {{"config", "get", "agents.defaults.model.primary", "--json"}, text}});
  ASSERT_EQ(got[0].exit_code, 0) << got[0].Describe();
  ASSERT_EQ(got[1].exit_code, 0) << got[1].Describe();
  const Json& provider = got[0].json;
  EXPECT_EQ(Member(provider, "baseUrl"), Json("https://x.example/${HOME}/$${HOME}"));
  const Json& models = Member(provider, "models");
  ASSERT_TRUE(models.is_array() && models.size() == 1) << got[0].Describe();
  EXPECT_EQ(Member(models[0], "id"), Json("m-${HOME}"));
  EXPECT_EQ(Member(models[0], "name"), Json("n-${PATH}"));
  EXPECT_EQ(got[1].json, Json("acme/m-${HOME}"));
}

}  // namespace
}  // namespace berth::agentconfig
