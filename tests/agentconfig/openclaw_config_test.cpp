#include "agentconfig/openclaw_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::agentconfig {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

ProviderInput Provider(std::string name, std::optional<std::string> base_url,
                       std::vector<ModelEntry> models) {
  ProviderInput provider;
  provider.name = std::move(name);
  provider.type = "openai";
  provider.base_url = std::move(base_url);
  provider.models = std::move(models);
  return provider;
}

ModelEntry Model(std::string id, std::optional<std::string> name = std::nullopt) {
  return ModelEntry{std::move(id), std::move(name), std::nullopt};
}

Json ModelJson(const std::string& id, const std::string& name) {
  return {{"id", id}, {"name", name}, {"compat", {{"supportsUsageInStreaming", true}}}};
}

// The parts of every config that do not depend on the user.
Json Skeleton(const std::string& primary, Json providers) {
  return {
      {"meta", {{"lastTouchedVersion", "2026.9.6"}}},
      {"gateway",
       {{"mode", "local"},
        {"port", 18789},
        {"bind", "lan"},
        {"auth", {{"mode", "token"}}},
        {"http", {{"endpoints", {{"chatCompletions", {{"enabled", true}}}}}}},
        {"controlUi", {{"enabled", false}}}}},
      {"agents",
       {{"defaults", {{"model", {{"primary", primary}}}, {"heartbeat", {{"every", "0m"}}}}}}},
      {"models", {{"providers", std::move(providers)}, {"catalogRefresh", {{"enabled", false}}}}},
      {"cron", {{"enabled", false}}},
      {"update", {{"checkOnStart", false}}},
      {"plugins", {{"entries", {{"admin-http-rpc", {{"enabled", true}}}}}}},
  };
}

// --- Assembly (ported from the seed's AgentConfigService spec, fixed for the real gateway) ------

TEST(BuildUserConfig, ProducesTheSeedStructureWithModelsAsAnArray) {
  ProviderInput zai = Provider("my-zai", "https://api.z.ai/v1", {Model("glm-5")});
  zai.type = "zai";
  zai.api_key = "secret-zai-key";  // decrypted by the caller
  zai.api_type = "openai-completions";

  const Json config = BuildUserConfig("my-zai/glm-5", {zai});

  const Json expected = Skeleton("my-zai/glm-5", {{"my-zai",
                                                   {{"apiKey", "secret-zai-key"},
                                                    {"baseUrl", "https://api.z.ai/v1"},
                                                    {"api", "openai-completions"},
                                                    {"models", {ModelJson("glm-5", "glm-5")}}}}});
  EXPECT_EQ(config, expected) << config.dump(2);
}

TEST(BuildUserConfig, CarriesTheDecryptedKey) {
  ProviderInput openai = Provider("openai-work", "https://api.openai.com/v1", {Model("gpt-4.1")});
  openai.api_key = "encrypted-openai-key";
  const Json config = BuildUserConfig("openai-work/gpt-4.1", {openai});
  EXPECT_EQ(config["models"]["providers"]["openai-work"]["apiKey"], "encrypted-openai-key");
}

TEST(BuildUserConfig, OmitsAnEmptyOrAbsentKey) {
  ProviderInput empty_key = Provider("a", "https://a.example/v1", {Model("m")});
  empty_key.api_key = "";
  ProviderInput no_key = Provider("b", "https://b.example/v1", {Model("m")});
  const Json providers = BuildUserConfig(std::nullopt, {empty_key, no_key})["models"]["providers"];
  EXPECT_FALSE(providers["a"].contains("apiKey"));
  EXPECT_FALSE(providers["b"].contains("apiKey"));
}

TEST(BuildUserConfig, SetsBaseUrlOnlyWhenSet) {
  // "openai" is bundled with OpenClaw, so it may go without a base URL.
  const ProviderInput absent = Provider("openai", std::nullopt, {Model("gpt-4o")});
  ProviderInput empty = Provider("anthropic", "", {Model("claude")});
  const ProviderInput set = Provider("acme", "http://10.0.0.5:8000/v1", {Model("m")});
  const Json providers = BuildUserConfig(std::nullopt, {absent, empty, set})["models"]["providers"];
  EXPECT_FALSE(providers["openai"].contains("baseUrl"));
  EXPECT_FALSE(providers["anthropic"].contains("baseUrl"));
  EXPECT_EQ(providers["acme"]["baseUrl"], "http://10.0.0.5:8000/v1");
}

TEST(BuildUserConfig, ApiDefaultsToOpenAiCompletionsAndFollowsApiType) {
  ProviderInput plain = Provider("plain", "https://p.example/v1", {Model("m")});
  ProviderInput claude = Provider("claude", "https://c.example", {Model("m")});
  claude.api_type = "anthropic-messages";
  const Json providers = BuildUserConfig(std::nullopt, {plain, claude})["models"]["providers"];
  EXPECT_EQ(providers["plain"]["api"], "openai-completions");
  EXPECT_EQ(providers["claude"]["api"], "anthropic-messages");
}

TEST(BuildUserConfig, LeavesABundledProvidersApiToOpenClawUnlessSet) {
  const ProviderInput anthropic = Provider("anthropic", std::nullopt, {Model("claude-sonnet-4")});
  ProviderInput openai = Provider("openai", "https://api.openai.com/v1", {Model("gpt-4o")});
  openai.api_type = "openai-completions";
  const Json providers = BuildUserConfig(std::nullopt, {anthropic, openai})["models"]["providers"];
  EXPECT_FALSE(providers["anthropic"].contains("api"));
  EXPECT_EQ(providers["openai"]["api"], "openai-completions");
}

TEST(BuildUserConfig, AcceptsStringAndObjectModelsFromStorage) {
  const ProviderInput provider =
      Provider("acme", "https://acme.example/v1",
               ParseModelsLenient(R"(["glm-5", {"id": "glm-4"}, {"id": "x1", "name": "X One"}])"));
  const Json models =
      BuildUserConfig(std::nullopt, {provider})["models"]["providers"]["acme"]["models"];
  ASSERT_TRUE(models.is_array());
  EXPECT_EQ(models, Json::array({ModelJson("glm-5", "glm-5"), ModelJson("glm-4", "glm-4"),
                                 ModelJson("x1", "X One")}));
}

TEST(BuildUserConfig, NoProvidersGiveEmptyProvidersAndTheDefaultPrimary) {
  const Json config = BuildUserConfig(std::nullopt, {});
  EXPECT_EQ(config, Skeleton("openai/gpt-4o-mini", Json::object()));
  EXPECT_TRUE(config["models"]["providers"].is_object());
  EXPECT_EQ(config["gateway"]["port"], kGatewayPort);
}

TEST(BuildUserConfig, NeverPutsTheGatewayTokenInTheFile) {
  const Json auth = BuildUserConfig(std::nullopt, {})["gateway"]["auth"];
  EXPECT_EQ(auth, Json({{"mode", "token"}}));
}

TEST(BuildUserConfig, KeepsProviderAndModelOrderInTheOutput) {
  const ProviderInput provider =
      Provider("acme", "https://acme.example", {Model("z"), Model("a"), Model("10")});
  const Json models =
      BuildUserConfig(std::nullopt, {provider})["models"]["providers"]["acme"]["models"];
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0]["id"], "z");
  EXPECT_EQ(models[1]["id"], "a");
  EXPECT_EQ(models[2]["id"], "10");
}

TEST(BuildUserConfig, UsesTheConfiguredPrimaryModel) {
  const ProviderInput provider = Provider("acme", "https://acme.example", {Model("m")});
  EXPECT_EQ(
      BuildUserConfig("openai-work/gpt-4.1", {provider})["agents"]["defaults"]["model"]["primary"],
      "openai-work/gpt-4.1");
}

TEST(BuildUserConfig, EscapesEnvReferencesSoUserTextStaysLiteral) {
  ProviderInput provider =
      Provider("acme", "https://acme.example/${OPENCLAW_GATEWAY_TOKEN}", {Model("m-${HOME}")});
  provider.api_key = "sk-${AGENT_TOKEN}";
  const Json config = BuildUserConfig(std::nullopt, {provider});
  const Json& acme = config["models"]["providers"]["acme"];
  EXPECT_EQ(acme["baseUrl"], "https://acme.example/$${OPENCLAW_GATEWAY_TOKEN}");
  EXPECT_EQ(acme["apiKey"], "sk-$${AGENT_TOKEN}");
  EXPECT_EQ(acme["models"][0]["id"], "m-$${HOME}");
  EXPECT_EQ(acme["models"][0]["name"], "m-$${HOME}");
  // The ref is escaped the same way, so after OpenClaw's substitution both read "acme/m-${HOME}".
  EXPECT_EQ(config["agents"]["defaults"]["model"]["primary"], "acme/m-$${HOME}");
}

TEST(BuildUserConfig, EmitsEveryValidatedProviderAndModelUnchanged) {
  ProviderInput custom = Provider("my-zai", "https://api.z.ai/v1",
                                  {Model("glm-5", "GLM 5"), Model("vendor/model:free")});
  custom.api_key = "sk-123";
  custom.api_type = "openai-responses";
  const ProviderInput bundled = Provider("openrouter", std::nullopt, {});
  const std::vector<ProviderInput> providers = {custom, bundled};
  for (const ProviderInput& p : providers) ASSERT_TRUE(ValidateProvider(p).ok()) << p.name;

  const Json built = BuildUserConfig(std::nullopt, providers)["models"]["providers"];
  ASSERT_EQ(built.size(), 2u);
  EXPECT_EQ(built["my-zai"]["models"],
            Json::array({ModelJson("glm-5", "GLM 5"),
                         ModelJson("vendor/model:free", "vendor/model:free")}));
  EXPECT_EQ(built["openrouter"], Json({{"models", Json::array()}}));
}

// Rows stored before validation existed must not make the gateway refuse the whole file.
TEST(BuildUserConfig, DropsStoredProvidersTheGatewayWouldReject) {
  const ProviderInput no_base_url = Provider("custom", std::nullopt, {Model("m")});
  const ProviderInput bad_name = Provider("My Provider", "https://x.example", {Model("m")});
  ProviderInput bad_api = Provider("bad-api", "https://x.example", {Model("m")});
  bad_api.api_type = "openai-codex-responses";
  ProviderInput bad_utf8 = Provider("bad-utf8", "https://x.example", {Model("m")});
  bad_utf8.api_key = "\xff\xfe";
  const ProviderInput good = Provider("good", "https://x.example", {Model("m")});
  const ProviderInput shadowed = Provider("good", "https://other.example", {Model("n")});

  const Json config =
      BuildUserConfig(std::nullopt, {no_base_url, bad_name, bad_api, bad_utf8, good, shadowed});
  EXPECT_EQ(config["models"]["providers"].size(), 1u);
  EXPECT_EQ(config["models"]["providers"]["good"]["baseUrl"], "https://x.example");
  EXPECT_EQ(config["agents"]["defaults"]["model"]["primary"], "good/m");
  EXPECT_NO_THROW(static_cast<void>(config.dump()));
}

TEST(BuildUserConfig, DropsStoredModelsTheGatewayCouldNotUse) {
  const ProviderInput provider =
      Provider("acme", "https://x.example",
               {Model(""), Model(" padded"), Model("m", ""), Model("m", "again"), Model("n", "N")});
  const Json models =
      BuildUserConfig(std::nullopt, {provider})["models"]["providers"]["acme"]["models"];
  EXPECT_EQ(models, Json::array({ModelJson("m", "m"), ModelJson("n", "N")}));
}

// --- Primary model resolution --------------------------------------------------------------------

TEST(ResolvePrimaryModel, PrefersTheConfiguredModel) {
  const ProviderInput provider = Provider("acme", "https://x.example", {Model("m")});
  EXPECT_EQ(ResolvePrimaryModel("other/model", {provider}), "other/model");
}

TEST(ResolvePrimaryModel, ElseTakesTheFirstModelOfTheFirstProviderWithModels) {
  const ProviderInput empty = Provider("oldest", "https://x.example", {});
  const ProviderInput second = Provider("second", "https://x.example", {Model("s1"), Model("s2")});
  const ProviderInput third = Provider("third", "https://x.example", {Model("t1")});
  EXPECT_EQ(ResolvePrimaryModel(std::nullopt, {empty, second, third}), "second/s1");
}

TEST(ResolvePrimaryModel, TreatsAnEmptyConfiguredModelAsUnset) {
  const ProviderInput provider = Provider("acme", "https://x.example", {Model("m")});
  EXPECT_EQ(ResolvePrimaryModel("", {provider}), "acme/m");
}

TEST(ResolvePrimaryModel, FallsBackToTheDefault) {
  EXPECT_EQ(ResolvePrimaryModel(std::nullopt, {}), "openai/gpt-4o-mini");
  EXPECT_EQ(ResolvePrimaryModel(std::nullopt, {Provider("acme", "https://x.example", {})}),
            "openai/gpt-4o-mini");
}

TEST(ResolvePrimaryModel, SkipsProvidersTheBuilderDrops) {
  const ProviderInput dropped = Provider("custom", std::nullopt, {Model("m")});
  const ProviderInput kept = Provider("kept", "https://x.example", {Model(""), Model("k")});
  EXPECT_EQ(ResolvePrimaryModel(std::nullopt, {dropped, kept}), "kept/k");
}

// --- System containers ---------------------------------------------------------------------------

TEST(BuildSystemConfig, UsesTheDefaultPrimaryAndNoProviders) {
  EXPECT_EQ(BuildSystemConfig(std::nullopt), Skeleton("openai/gpt-4o-mini", Json::object()));
  EXPECT_EQ(BuildSystemConfig(""), Skeleton("openai/gpt-4o-mini", Json::object()));
}

TEST(BuildSystemConfig, UsesTheConfiguredPrimary) {
  EXPECT_EQ(BuildSystemConfig("anthropic/claude-sonnet-4"),
            Skeleton("anthropic/claude-sonnet-4", Json::object()));
}

TEST(BuildPoolConfig, APooledAgentGetsAPlaceholderProviderWithoutAKey) {
  const Json config = BuildPoolConfig("http://172.30.0.1:3001/api/internal/warmup/v1");
  EXPECT_EQ(config["agents"]["defaults"]["model"]["primary"], kPoolModel);
  const Json& provider = config["models"]["providers"]["berth-pool"];
  EXPECT_EQ(provider["baseUrl"], "http://172.30.0.1:3001/api/internal/warmup/v1");
  EXPECT_EQ(provider["apiKey"], "none");
  ASSERT_EQ(provider["models"].size(), 1u);
  EXPECT_EQ(provider["models"][0]["id"], "idle");
  EXPECT_EQ(config["models"]["providers"].size(), 1u);
  // The warm-up's rehearsal: the same placeholder under another name.
  const Json rehearsal = BuildPoolRehearsalConfig("http://172.30.0.1:3001/api/internal/warmup/v1");
  EXPECT_EQ(rehearsal["agents"]["defaults"]["model"]["primary"], "berth-pool-rehearsal/idle");
  EXPECT_EQ(rehearsal["models"]["providers"]["berth-pool-rehearsal"], provider);
  EXPECT_EQ(rehearsal["models"]["providers"].size(), 1u);
}

TEST(BuildNoProviderConfig, AUserWithNoProviderGetsAPlaceholderOnBerthsGateway) {
  const Json config =
      BuildNoProviderConfig("http://172.30.0.1:3001/api/internal/llm/berth-no-provider", "bk_x.y");
  EXPECT_EQ(config["agents"]["defaults"]["model"]["primary"], kNoProviderModel);
  EXPECT_EQ(std::string(kNoProviderModel).rfind(std::string(kNoProviderName) + "/", 0), 0u);
  ASSERT_EQ(config["models"]["providers"].size(), 1u);
  const Json& provider = config["models"]["providers"][kNoProviderName];
  EXPECT_EQ(provider["baseUrl"], "http://172.30.0.1:3001/api/internal/llm/berth-no-provider");
  EXPECT_EQ(provider["apiKey"], "bk_x.y");
  EXPECT_EQ(provider["api"], "openai-completions");
  ASSERT_EQ(provider["models"].size(), 1u);
  EXPECT_EQ(provider["models"][0]["id"], "register-a-provider");
  // The rest is a user's config like any other.
  EXPECT_EQ(config["gateway"], BuildUserConfig(std::nullopt, {})["gateway"]);

  // A user's providers that the model does not name stay beside it.
  ProviderInput other;
  other.name = "other";
  other.type = "custom";
  other.base_url = "http://172.30.0.1:3001/api/internal/llm/other";
  const std::vector<ProviderInput> others = {other};
  const Json with_others = BuildNoProviderConfig(
      "http://172.30.0.1:3001/api/internal/llm/berth-no-provider", "k", others);
  EXPECT_EQ(with_others["models"]["providers"].size(), 2u);
  EXPECT_TRUE(with_others["models"]["providers"].contains("other"));
  EXPECT_EQ(with_others["agents"]["defaults"]["model"]["primary"], kNoProviderModel);
}

TEST(DefinesProviderOf, TellsWhetherTheConfigDefinesTheModelsProvider) {
  ProviderInput work;
  work.name = "work";
  work.type = "custom";
  work.base_url = "http://127.0.0.1:9/v1";
  const std::vector<ProviderInput> providers = {work};
  EXPECT_TRUE(DefinesProviderOf("work/m1", providers)) << "a model it does not list: its business";
  EXPECT_FALSE(DefinesProviderOf("workshop/m1", providers));
  EXPECT_FALSE(DefinesProviderOf(std::string(kDefaultPrimaryModel), providers));
  EXPECT_FALSE(DefinesProviderOf("work/m1", {}));
  ProviderInput no_url = work;
  no_url.base_url.reset();  // a custom provider without one is left out of the config
  EXPECT_FALSE(DefinesProviderOf("work/m1", {no_url}));
}

// --- Schema facts --------------------------------------------------------------------------------

TEST(OpenClawSchema, KnowsTheBundledProviders) {
  EXPECT_TRUE(IsBuiltInProviderId("openai"));
  EXPECT_TRUE(IsBuiltInProviderId("OpenAI"));
  EXPECT_TRUE(IsBuiltInProviderId("z.ai"));
  EXPECT_TRUE(IsBuiltInProviderId("zai"));
  EXPECT_FALSE(IsBuiltInProviderId("my-zai"));
  EXPECT_FALSE(IsBuiltInProviderId(""));
}

TEST(OpenClawSchema, KnowsTheModelApis) {
  EXPECT_TRUE(IsModelApi("openai-completions"));
  EXPECT_TRUE(IsModelApi("azure-openai-responses"));
  EXPECT_FALSE(IsModelApi("openai-codex-responses"));
  EXPECT_FALSE(IsModelApi(""));
}

TEST(EscapeEnvReferences, EscapesExactlyTheReferencesOpenClawWouldSubstitute) {
  EXPECT_EQ(EscapeEnvReferences("plain"), "plain");
  EXPECT_EQ(EscapeEnvReferences("${HOME}"), "$${HOME}");
  EXPECT_EQ(EscapeEnvReferences("a${A_1}b${_X}c"), "a$${A_1}b$${_X}c");
  EXPECT_EQ(EscapeEnvReferences("$${HOME}"), "$$${HOME}");  // OpenClaw reads it as "$${HOME}"
  EXPECT_EQ(EscapeEnvReferences("${lower}"), "${lower}");
  EXPECT_EQ(EscapeEnvReferences("${1X}"), "${1X}");
  EXPECT_EQ(EscapeEnvReferences("${}"), "${}");
  EXPECT_EQ(EscapeEnvReferences("${A"), "${A");
  EXPECT_EQ(EscapeEnvReferences("$HOME"), "$HOME");
  EXPECT_EQ(EscapeEnvReferences("${A${B}"), "${A$${B}");
  EXPECT_EQ(EscapeEnvReferences("$"), "$");
}

// --- ParseModelsStrict ---------------------------------------------------------------------------

TEST(ParseModelsStrict, AcceptsIdStringsAndObjects) {
  const Result<std::vector<ModelEntry>> models = ParseModelsStrict(
      Json::parse(R"(["a", {"id": "b"}, {"id": "c", "name": "C"}, {"id": "d", "name": null}])"));
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  EXPECT_EQ(*models,
            (std::vector<ModelEntry>{Model("a"), Model("b"), Model("c", "C"), Model("d")}));
}

TEST(ParseModelsStrict, AcceptsAnEmptyArray) {
  const Result<std::vector<ModelEntry>> models = ParseModelsStrict(Json::array());
  ASSERT_TRUE(models.ok());
  EXPECT_TRUE(models->empty());
}

void ExpectStrictRejects(const std::string& json, const std::string& message_start) {
  const Result<std::vector<ModelEntry>> models = ParseModelsStrict(Json::parse(json));
  ASSERT_FALSE(models.ok()) << json;
  EXPECT_EQ(models.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(models.status().message(), StartsWith(message_start)) << json;
}

TEST(ParseModelsStrict, RejectsAnythingButAnArray) {
  ExpectStrictRejects(R"({"glm-5": {}})", "models: must be an array");  // the seed's map form
  ExpectStrictRejects(R"("glm-5")", "models: must be an array");
  ExpectStrictRejects("null", "models: must be an array");
}

TEST(ParseModelsStrict, RejectsEntriesOfTheWrongShapeNamingTheIndex) {
  ExpectStrictRejects(R"(["a", 5])", "models[1]: must be a model id string");
  ExpectStrictRejects(R"(["a", null])", "models[1]: must be a model id string");
  ExpectStrictRejects(R"([["a"]])", "models[0]: must be a model id string");
  ExpectStrictRejects(R"([{"name": "x"}])", "models[0].id: is required");
  ExpectStrictRejects(R"([{"id": 7}])", "models[0].id: must be a string");
  ExpectStrictRejects(R"([{"id": "a", "name": 7}])", "models[0].name: must be a string");
  ExpectStrictRejects(R"(["a", {"id": "b", "contextWindow": 1}])",
                      "models[1]: unknown key \"contextWindow\"");
}

TEST(ParseModelsStrict, RejectsInvalidIdsAndNames) {
  ExpectStrictRejects(R"(["a", ""])", "models[1].id: must not be empty");
  ExpectStrictRejects(R"([{"id": ""}])", "models[0].id: must not be empty");
  ExpectStrictRejects(R"([" a"])", "models[0].id: must not start or end with whitespace");
  ExpectStrictRejects(R"(["a\tb"])", "models[0].id: must not contain control characters");
  ExpectStrictRejects(R"([{"id": "a", "name": ""}])", "models[0].name: must not be empty");
}

TEST(ParseModelsStrict, RejectsDuplicatesNamingBothIndexes) {
  const Result<std::vector<ModelEntry>> models =
      ParseModelsStrict(Json::parse(R"(["a", "b", {"id": "a"}])"));
  ASSERT_FALSE(models.ok());
  EXPECT_EQ(models.status().message(), "models[2].id: \"a\" duplicates models[0]");
}

TEST(ParseModelsStrict, RejectsTooManyModels) {
  Json models = Json::array();
  for (std::size_t i = 0; i <= kMaxModelsPerProvider; ++i)
    models.push_back("m" + std::to_string(i));
  const Result<std::vector<ModelEntry>> parsed = ParseModelsStrict(models);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), StartsWith("models: must have at most 1024"));
  models.erase(models.size() - 1);
  EXPECT_TRUE(ParseModelsStrict(models).ok());
}

TEST(ParseModelsStrict, ReadsOpenClawsCostShape) {
  const Result<std::vector<ModelEntry>> models = ParseModelsStrict(Json::parse(
      R"([{"id": "a", "cost": {"input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75}},
          {"id": "b", "cost": {"output": 2}}, {"id": "c", "cost": null}])"));
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  EXPECT_EQ((*models)[0].cost, (ModelCost{3, 15, 0.3, 3.75}));
  EXPECT_EQ((*models)[1].cost, (ModelCost{0, 2, 0, 0}));
  EXPECT_EQ((*models)[2].cost, std::nullopt);
  ExpectStrictRejects(R"([{"id": "a", "cost": 3}])", "models[0].cost: must be an object");
  ExpectStrictRejects(R"([{"id": "a", "cost": {"input": -1}}])", "models[0].cost.input: must be");
  ExpectStrictRejects(R"([{"id": "a", "cost": {"input": "3"}}])", "models[0].cost.input: must be");
  ExpectStrictRejects(R"([{"id": "a", "cost": {"output": 1e9}}])", "models[0].cost.output: must");
  ExpectStrictRejects(R"([{"id": "a", "cost": {"in": 1}}])", "models[0].cost: unknown key \"in\"");
  // Stored costs a strict parse would refuse are dropped on reading, the model kept.
  const auto lenient = ParseModelsLenient(R"([{"id": "a", "cost": {"input": -1}},
                                              {"id": "b", "cost": {"input": 1}}])");
  ASSERT_EQ(lenient.size(), 2u);
  EXPECT_EQ(lenient[0].cost, std::nullopt);
  EXPECT_EQ(lenient[1].cost, (ModelCost{1, 0, 0, 0}));
}

// --- ParseModelsLenient --------------------------------------------------------------------------

TEST(ParseModelsLenient, ReadsTheSeedsShapes) {
  EXPECT_EQ(ParseModelsLenient(R"([{"id": "glm-5"}])"), std::vector<ModelEntry>{Model("glm-5")});
  EXPECT_EQ(ParseModelsLenient(R"(["a", {"id": "b", "name": "B", "extra": 1}])"),
            (std::vector<ModelEntry>{Model("a"), Model("b", "B")}));
}

TEST(ParseModelsLenient, SkipsEntriesItCannotUse) {
  EXPECT_EQ(ParseModelsLenient(R"([1, null, true, [], {}, {"id": 3}, {"name": "x"}, "", " a",
                                   "ok", "ok", {"id": "n", "name": 5}, {"id": "e", "name": ""}])"),
            (std::vector<ModelEntry>{Model("ok"), Model("n"), Model("e")}));
}

TEST(ParseModelsLenient, NeverFailsOnGarbage) {
  EXPECT_TRUE(ParseModelsLenient("").empty());
  EXPECT_TRUE(ParseModelsLenient("not json").empty());
  EXPECT_TRUE(ParseModelsLenient("[\"a\"").empty());
  EXPECT_TRUE(ParseModelsLenient("{\"glm-5\": {}}").empty());  // the seed's map form
  EXPECT_TRUE(ParseModelsLenient("\"a\"").empty());
  EXPECT_TRUE(ParseModelsLenient("null").empty());
  EXPECT_TRUE(ParseModelsLenient("[\"\xff\"]").empty());  // not UTF-8
  EXPECT_TRUE(ParseModelsLenient(std::string(100000, '[')).empty());
}

TEST(ParseModelsLenient, StopsAtTheModelLimit) {
  Json models = Json::array();
  for (std::size_t i = 0; i < kMaxModelsPerProvider + 5; ++i) {
    models.push_back("m" + std::to_string(i));
  }
  EXPECT_EQ(ParseModelsLenient(models.dump()).size(), kMaxModelsPerProvider);
}

// --- Field rules ---------------------------------------------------------------------------------

void ExpectInvalid(const Status& status, const std::string& message_start) {
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << message_start;
  EXPECT_THAT(status.message(), StartsWith(message_start));
}

TEST(ValidateProviderName, AcceptsLowercaseNames) {
  for (const std::string name : {"my-zai", "z.ai", "a", "a_b", "openai-work", "0", "x.y-z_1"}) {
    EXPECT_TRUE(ValidateProviderName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateProviderName(std::string(63, 'a')).ok());
}

TEST(ValidateProviderName, RejectsOtherNames) {
  ExpectInvalid(ValidateProviderName(""), "name: must not be empty");
  ExpectInvalid(ValidateProviderName(std::string(64, 'a')), "name: must be at most 63");
  for (const std::string name : {"MyZai", "a/b", "a b", "caf\xc3\xa9", "a:b", "a\n", "${X}"}) {
    ExpectInvalid(ValidateProviderName(name), "name: may only contain");
  }
  ExpectInvalid(ValidateProviderName("__proto__"), "name: \"__proto__\" is reserved");
}

TEST(ValidateApiType, AcceptsAbsentAndEveryOpenClawApi) {
  EXPECT_TRUE(ValidateApiType(std::nullopt).ok());
  for (std::string_view api : kModelApis)
    EXPECT_TRUE(ValidateApiType(std::string(api)).ok()) << api;
}

TEST(ValidateApiType, RejectsOthers) {
  for (const std::string api : {"", "bogus", "openai-codex-responses", "OPENAI-COMPLETIONS"}) {
    ExpectInvalid(ValidateApiType(api), "apiType: must be one of openai-completions,");
  }
}

TEST(ValidateBaseUrl, AcceptsHttpAndHttpsUrls) {
  for (const std::string url :
       {"https://api.z.ai/v1", "http://localhost:8080/v1", "HTTPS://API.EXAMPLE.COM",
        "http://[::1]:11434", "http://10.0.0.1/v1?x=y", "https://my_host.internal:443/",
        "https://openrouter.ai/api/v1/", "https://x.example/${HOME}"}) {
    EXPECT_TRUE(ValidateBaseUrl(url).ok()) << url << ": " << ValidateBaseUrl(url).message();
  }
}

TEST(ValidateBaseUrl, RejectsEverythingElse) {
  ExpectInvalid(ValidateBaseUrl(""), "baseUrl: must not be empty");
  for (const std::string url : {"api.openai.com/v1", "ftp://x.example", "file:///etc/passwd",
                                "javascript:alert(1)", "//x.example"}) {
    ExpectInvalid(ValidateBaseUrl(url), "baseUrl: must be an http:// or https:// URL");
  }
  ExpectInvalid(ValidateBaseUrl("https://"), "baseUrl: must name a host");
  ExpectInvalid(ValidateBaseUrl("https:///v1"), "baseUrl: must name a host");
  ExpectInvalid(ValidateBaseUrl("https://:443/v1"), "baseUrl: must name a host");
  ExpectInvalid(ValidateBaseUrl("https://user:pw@x.example"),
                "baseUrl: must not contain user info");
  ExpectInvalid(ValidateBaseUrl("https://x.example/#f"), "baseUrl: must not contain a fragment");
  ExpectInvalid(ValidateBaseUrl("https://x .example"), "baseUrl: must be printable ASCII");
  ExpectInvalid(ValidateBaseUrl("https://x.example/\n"), "baseUrl: must be printable ASCII");
  ExpectInvalid(ValidateBaseUrl("https://b\xc3\xbc.example"), "baseUrl: must be printable ASCII");
  for (const std::string url : {"https://x:0", "https://x:65536", "https://x:abc",
                                "https://x:", "https://x:-1", "https://[::1]:99999"}) {
    ExpectInvalid(ValidateBaseUrl(url), "baseUrl: port must be a number from 1 to 65535");
  }
  ExpectInvalid(ValidateBaseUrl("https://[::1"), "baseUrl: has an unterminated IPv6 host");
  ExpectInvalid(ValidateBaseUrl("https://[zz]/"), "baseUrl: has an invalid IPv6 host");
  ExpectInvalid(ValidateBaseUrl("https://[::1]x/"), "baseUrl: has junk after the IPv6 host");
  ExpectInvalid(ValidateBaseUrl("https://x!y.example/"), "baseUrl: has an invalid host name");
  ExpectInvalid(ValidateBaseUrl("https://.x.example/"), "baseUrl: has an invalid host name");
  ExpectInvalid(ValidateBaseUrl("https://x.example/" + std::string(2048, 'a')),
                "baseUrl: must be at most 2048");
}

TEST(ValidateApiKey, AcceptsOrdinaryKeys) {
  for (const std::string key :
       {"sk-abc123", "sk-proj-A_b.c~d", "$lowercase", "a$B", "sk-${X}", "x"}) {
    EXPECT_TRUE(ValidateApiKey(key).ok()) << key;
  }
  EXPECT_TRUE(ValidateApiKey(std::string(4096, 'k')).ok());
}

TEST(ValidateApiKey, RejectsKeysOpenClawWouldNotTakeLiterally) {
  ExpectInvalid(ValidateApiKey(""), "apiKey: must not be empty");
  ExpectInvalid(ValidateApiKey(std::string(4097, 'k')), "apiKey: must be at most 4096");
  for (const std::string key : {"sk abc", "sk-abc\n", "\tsk", "k\xc3\xa9y"}) {
    ExpectInvalid(ValidateApiKey(key), "apiKey: must be printable ASCII without spaces");
  }
  ExpectInvalid(ValidateApiKey("$OPENAI_API_KEY"), "apiKey: a value of the form $NAME");
  ExpectInvalid(ValidateApiKey("$A"), "apiKey: a value of the form $NAME");
  ExpectInvalid(ValidateApiKey("secretref-env:OPENAI_API_KEY"), "apiKey: must not start with");
  ExpectInvalid(ValidateApiKey("__env__:OPENAI_API_KEY"), "apiKey: must not start with");
}

TEST(ValidateModelId, AcceptsProviderModelIds) {
  for (const std::string id :
       {"gpt-4o", "anthropic/claude-3.5-sonnet", "glm-5:free", "\xe6\xa8\xa1\xe5\x9e\x8b", "a b"}) {
    EXPECT_TRUE(ValidateModelId(id).ok()) << id;
  }
  EXPECT_TRUE(ValidateModelId(std::string(256, 'm')).ok());
}

TEST(ValidateModelId, RejectsUnusableIds) {
  ExpectInvalid(ValidateModelId(""), "id: must not be empty");
  ExpectInvalid(ValidateModelId(std::string(257, 'm')), "id: must be at most 256 bytes");
  ExpectInvalid(ValidateModelId("\xff"), "id: must be valid UTF-8");
  ExpectInvalid(ValidateModelId("\xc0\xaf"), "id: must be valid UTF-8");      // overlong '/'
  ExpectInvalid(ValidateModelId("\xed\xa0\x80"), "id: must be valid UTF-8");  // surrogate
  ExpectInvalid(ValidateModelId("a\x7f"), "id: must not contain control characters");
  ExpectInvalid(ValidateModelId("a\xc2\x85"), "id: must not contain control characters");  // NEL
  for (const std::string id : {" a", "a ", "a\xc2\xa0",
                               "\xef\xbb\xbf"
                               "a",
                               "a\xe3\x80\x80"}) {
    ExpectInvalid(ValidateModelId(id), "id: must not start or end with whitespace");
  }
}

TEST(ValidateModelName, AcceptsDisplayNames) {
  EXPECT_TRUE(ValidateModelName("GPT-4o mini").ok());
  EXPECT_TRUE(ValidateModelName(" padded ").ok());
}

TEST(ValidateModelName, RejectsBadNames) {
  ExpectInvalid(ValidateModelName(""), "name: must not be empty");
  ExpectInvalid(ValidateModelName(std::string(257, 'n')), "name: must be at most 256 bytes");
  ExpectInvalid(ValidateModelName("a\nb"), "name: must not contain control characters");
  ExpectInvalid(ValidateModelName("\xfe"), "name: must be valid UTF-8");
}

TEST(ValidateProvider, AcceptsCustomProvidersWithBaseUrlAndBundledOnesWithout) {
  ProviderInput custom = Provider("my-zai", "https://api.z.ai/v1", {Model("glm-5", "GLM 5")});
  custom.api_key = "sk-1";
  custom.api_type = "openai-completions";
  EXPECT_TRUE(ValidateProvider(custom).ok());
  EXPECT_TRUE(ValidateProvider(Provider("openai", std::nullopt, {Model("gpt-4o")})).ok());
  EXPECT_TRUE(ValidateProvider(Provider("anthropic", "", {})).ok());
  ProviderInput no_key = Provider("local", "http://127.0.0.1:11434/v1", {});
  no_key.api_key = "";
  EXPECT_TRUE(ValidateProvider(no_key).ok());
}

TEST(ValidateProvider, RejectsEachBadField) {
  ExpectInvalid(ValidateProvider(Provider("Bad", "https://x.example", {})), "name:");
  ExpectInvalid(ValidateProvider(Provider("custom", std::nullopt, {})),
                "baseUrl: is required for provider \"custom\"");
  ExpectInvalid(ValidateProvider(Provider("custom", "", {})), "baseUrl: is required");
  ExpectInvalid(ValidateProvider(Provider("openai", "not a url", {})), "baseUrl:");

  ProviderInput bad_api = Provider("custom", "https://x.example", {});
  bad_api.api_type = "bogus";
  ExpectInvalid(ValidateProvider(bad_api), "apiType:");

  ProviderInput bad_key = Provider("custom", "https://x.example", {});
  bad_key.api_key = "$OPENAI_API_KEY";
  ExpectInvalid(ValidateProvider(bad_key), "apiKey:");

  ExpectInvalid(ValidateProvider(Provider("c", "https://x.example", {Model("a"), Model("a")})),
                "models[1].id: \"a\" duplicates models[0]");
  ExpectInvalid(ValidateProvider(Provider("c", "https://x.example", {Model("a", "")})),
                "models[0].name: must not be empty");
  ExpectInvalid(ValidateProvider(Provider("c", "https://x.example", {Model("a"), Model("")})),
                "models[1].id: must not be empty");
  ExpectInvalid(ValidateProvider(Provider("c", "https://x.example",
                                          std::vector<ModelEntry>(kMaxModelsPerProvider + 1))),
                "models: must have at most");
}

TEST(ValidateModelRef, AcceptsProviderSlashModel) {
  for (const std::string ref : {"openai/gpt-4o-mini", "my-zai/glm-5",
                                "openrouter/anthropic/claude-3.5-sonnet", "z.ai/glm-4.6"}) {
    EXPECT_TRUE(ValidateModelRef(ref).ok()) << ref;
  }
}

TEST(ValidateModelRef, RejectsOtherRefs) {
  ExpectInvalid(ValidateModelRef(""), "primaryModel: must not be empty");
  ExpectInvalid(ValidateModelRef("gpt-4o"), "primaryModel: must have the form provider/model");
  ExpectInvalid(ValidateModelRef("/gpt-4o"), "primaryModel (provider part): must not be empty");
  ExpectInvalid(ValidateModelRef("OpenAI/gpt-4o"), "primaryModel (provider part): may only");
  ExpectInvalid(ValidateModelRef("openai/"), "primaryModel (model part): must not be empty");
  ExpectInvalid(ValidateModelRef("openai/ gpt"), "primaryModel (model part): must not start");
}

}  // namespace
}  // namespace berth::agentconfig
