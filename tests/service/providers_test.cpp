#include "service/providers.hpp"

#include "agentconfig/openclaw_config.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using service::ProviderChange;

template <typename T>
service::Patch<T> Set(T v) {
  return std::optional<T>(std::move(v));
}

ProviderChange Provider(const std::string& name, const std::string& key = "") {
  ProviderChange c;
  c.name = Set<std::string>(name);
  c.type = Set<std::string>("openai");
  c.base_url = Set<std::string>("http://127.0.0.1:9/v1");
  if (!key.empty()) c.api_key = Set<std::string>(key);
  c.models = Set<json>(json::array({"m1", {{"id", "m2"}, {"name", "Model 2"}}}));
  return c;
}

using ProviderServiceTest = ServiceTest;

TEST_F(ProviderServiceTest, KeysAreSealedAtRestAndOpenedOnlyForTheConfig) {
  std::string uid = NewUser();
  auto p = providers_->Create(uid, Provider("work", "sk-secret-1"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->api_key.has_value());
  EXPECT_EQ(p->api_key->rfind("enc:v1:", 0), 0u);
  EXPECT_EQ(p->api_key->find("sk-secret-1"), std::string::npos);
  auto stored = store_->GetProvider(uid, p->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored->api_key, *p->api_key);

  // The agent's config names berth's gateway and the agent's own key; the real key is opened
  // only for the gateway's call.
  const std::string agent_key = crypto::AgentLlmKey(AgentToken(uid));
  auto config = providers_->BuildUserConfig(uid);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ((*config)["models"]["providers"]["work"]["apiKey"], agent_key);
  EXPECT_EQ((*config)["models"]["providers"]["work"]["baseUrl"],
            std::string(kGatewayUrl) + "/work");
  EXPECT_EQ(config->dump().find("sk-secret-1"), std::string::npos);
  EXPECT_EQ((*config)["agents"]["defaults"]["model"]["primary"], "work/m1");
  auto route = Route(uid, "work");
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_EQ(route->api_key, "sk-secret-1");
  EXPECT_EQ(route->upstream_base, "http://127.0.0.1:9/v1");
  EXPECT_EQ(route->api_type, "openai-completions");
  EXPECT_EQ(route->user_id, uid);
  EXPECT_EQ(Route(uid, "other").status().code(), ErrorCode::kNotFound);
}

TEST_F(ProviderServiceTest, AUserConfigNeedsTheGatewaysAddressAndTheAgentsRecord) {
  std::string uid = NewUser();
  ASSERT_TRUE(providers_->Create(uid, Provider("work", "sk-secret-1")).ok());
  EXPECT_EQ(providers_->BuildUserConfig(uid).status().code(), ErrorCode::kNotFound)
      << "no container record yet";
  service::ProviderService fresh(store_, secrets_, clock_);
  AgentToken(uid);
  EXPECT_EQ(fresh.BuildUserConfig(uid).status().code(), ErrorCode::kUnavailable)
      << "the lifecycle has not told it where the gateway is";
  EXPECT_TRUE(providers_->BuildUserConfig(uid).ok());
}

TEST_F(ProviderServiceTest, AModelNamingNoProviderOfTheConfigGivesThePlaceholderThatSaysSo) {
  std::string uid = NewUser();
  const std::string agent_key = crypto::AgentLlmKey(AgentToken(uid));
  ASSERT_TRUE(providers_->SetPrimaryModel(uid, std::string("work/m2")).ok());
  auto check = [&](const char* when) {
    auto config = providers_->BuildUserConfig(uid);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ((*config)["agents"]["defaults"]["model"]["primary"], agentconfig::kNoProviderModel)
        << when << ": not the setting, which names no provider of the config";
    const json& placeholder = (*config)["models"]["providers"][agentconfig::kNoProviderName];
    EXPECT_EQ(placeholder["baseUrl"], std::string(kGatewayUrl) + "/berth-no-provider") << when;
    EXPECT_EQ(placeholder["apiKey"], agent_key) << when;
    EXPECT_EQ(providers_->GetAgentSettings(uid)->effective_primary_model,
              agentconfig::kNoProviderModel)
        << when;
    auto route = Route(uid, agentconfig::kNoProviderName);
    EXPECT_EQ(route.status().code(), ErrorCode::kNotFound) << when;
    EXPECT_NE(route.status().message().find("POST /api/providers"), std::string::npos) << when;
  };
  check("no provider");
  // Another provider, which the setting does not name, changes nothing: it is kept beside.
  ProviderChange other = Provider("other");
  other.models = Set<json>(json::array());
  ASSERT_TRUE(providers_->Create(uid, other).ok());
  check("only another provider");
  EXPECT_TRUE((*providers_->BuildUserConfig(uid))["models"]["providers"].contains("other"));

  ASSERT_TRUE(providers_->Create(uid, Provider("work")).ok());
  auto config = providers_->BuildUserConfig(uid);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)["agents"]["defaults"]["model"]["primary"], "work/m2") << "the setting again";
  EXPECT_FALSE((*config)["models"]["providers"].contains(agentconfig::kNoProviderName));
  EXPECT_EQ(providers_->GetAgentSettings(uid)->effective_primary_model, "work/m2");
}

TEST_F(ProviderServiceTest, ModelsAreStoredNormalised) {
  std::string uid = NewUser();
  auto p = providers_->Create(uid, Provider("work"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(json::parse(p->models_json),
            json::parse(R"([{"id":"m1"},{"id":"m2","name":"Model 2"}])"));
}

TEST_F(ProviderServiceTest, PatchKeepsClearsAndReplaces) {
  std::string uid = NewUser();
  AgentToken(uid);
  auto p = providers_->Create(uid, Provider("work", "sk-1"));
  ASSERT_TRUE(p.ok());
  ProviderChange rename;
  rename.name = Set<std::string>("home");
  auto renamed = providers_->Update(uid, p->id, rename);
  ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
  EXPECT_EQ(renamed->name, "home");
  EXPECT_EQ(renamed->api_key, p->api_key) << "an absent field keeps its value";

  ProviderChange new_key;
  new_key.api_key = Set<std::string>("sk-2");
  auto rekeyed = providers_->Update(uid, p->id, new_key);
  ASSERT_TRUE(rekeyed.ok());
  EXPECT_EQ(Route(uid, "home")->api_key, "sk-2");

  ProviderChange clear;
  clear.api_key = std::optional<std::string>();
  auto cleared = providers_->Update(uid, p->id, clear);
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->api_key.has_value());
  EXPECT_FALSE(Route(uid, "home")->api_key.has_value());
  // The agent still sends its own key; the gateway sends the provider none.
  EXPECT_EQ((*providers_->BuildUserConfig(uid))["models"]["providers"]["home"]["apiKey"],
            crypto::AgentLlmKey(AgentToken(uid)));

  ProviderChange bad;
  bad.name = std::optional<std::string>();
  EXPECT_EQ(providers_->Update(uid, p->id, bad).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(providers_->Update("other", p->id, rename).status().code(), ErrorCode::kNotFound);
}

TEST_F(ProviderServiceTest, InactiveProvidersAreLeftOutOldestFirstKept) {
  std::string uid = NewUser();
  AgentToken(uid);
  ASSERT_TRUE(providers_->Create(uid, Provider("first")).ok());
  auto second = providers_->Create(uid, Provider("second"));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(providers_->Create(uid, Provider("third")).ok());
  ProviderChange off;
  off.is_active = Set<bool>(false);
  ASSERT_TRUE(providers_->Update(uid, second->id, off).ok());
  auto config = providers_->BuildUserConfig(uid);
  ASSERT_TRUE(config.ok());
  auto& providers = (*config)["models"]["providers"];
  EXPECT_TRUE(providers.contains("first"));
  EXPECT_FALSE(providers.contains("second"));
  EXPECT_TRUE(providers.contains("third"));
  auto list = providers_->List(uid);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "first");
  EXPECT_EQ((*list)[2].name, "third");
}

TEST_F(ProviderServiceTest, PrimaryModelSettingAndChain) {
  std::string uid = NewUser();
  AgentToken(uid);
  auto initial = providers_->GetAgentSettings(uid);
  ASSERT_TRUE(initial.ok());
  EXPECT_FALSE(initial->primary_model);
  EXPECT_EQ(initial->effective_primary_model, agentconfig::kNoProviderModel);
  ASSERT_TRUE(providers_->Create(uid, Provider("work")).ok());
  EXPECT_EQ(providers_->GetAgentSettings(uid)->effective_primary_model, "work/m1");
  auto set = providers_->SetPrimaryModel(uid, std::string("work/m2"));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->effective_primary_model, "work/m2");
  EXPECT_EQ((*providers_->BuildUserConfig(uid))["agents"]["defaults"]["model"]["primary"],
            "work/m2");
  EXPECT_EQ(providers_->SetPrimaryModel(uid, std::string("nope")).status().code(),
            ErrorCode::kInvalidArgument);
  auto cleared = providers_->SetPrimaryModel(uid, std::nullopt);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->effective_primary_model, "work/m1");
}

TEST_F(ProviderServiceTest, RefusesInputTheGatewayWouldReject) {
  std::string uid = NewUser();
  ProviderChange c = Provider("Bad_Upper");
  EXPECT_EQ(providers_->Create(uid, c).status().code(), ErrorCode::kInvalidArgument);
  c = Provider("ok");
  c.api_type = Set<std::string>("not-an-api");
  EXPECT_EQ(providers_->Create(uid, c).status().code(), ErrorCode::kInvalidArgument);
  c = Provider("ok");
  c.models = Set<json>(json::array({json::array()}));
  EXPECT_EQ(providers_->Create(uid, c).status().code(), ErrorCode::kInvalidArgument);
  c = Provider("ok");
  c.type = std::optional<std::string>();
  EXPECT_EQ(providers_->Create(uid, c).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(providers_->List(uid)->empty());
}

TEST_F(ProviderServiceTest, ProvidersPerUserAndModelsPerProviderAreLimited) {
  auto limited = std::make_shared<service::ProviderService>(
      store_, secrets_, clock_,
      service::ProviderLimits{.max_providers_per_user = 2, .max_models_per_provider = 3});
  std::string uid = NewUser();
  ProviderChange many = Provider("many");
  many.models = Set<json>(json::array({"a", "b", "c", "d"}));
  auto refused = limited->Create(uid, many);
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "models: at most 3 models per provider");
  ASSERT_TRUE(limited->Create(uid, Provider("one")).ok());
  auto two = limited->Create(uid, Provider("two"));
  ASSERT_TRUE(two.ok());
  auto third = limited->Create(uid, Provider("three"));
  EXPECT_EQ(third.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(third.status().message(), "at most 2 providers per user; delete one first");
  // An update is held to the model limit too; another user has their own allowance.
  ProviderChange grow;
  grow.models = Set<json>(json::array({"a", "b", "c", "d"}));
  EXPECT_EQ(limited->Update(uid, two->id, grow).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(limited->Create(NewUser("bob"), Provider("one")).ok());
}

TEST_F(ProviderServiceTest, NamesThatNameDirectoriesAndControlCharactersAreRefused) {
  std::string uid = NewUser();
  for (const char* name : {".", ".."}) {
    EXPECT_EQ(providers_->Create(uid, Provider(name)).status().code(), ErrorCode::kInvalidArgument)
        << name;
  }
  ProviderChange display = Provider("display");
  display.display_name = Set<std::string>("two\nlines");
  EXPECT_EQ(providers_->Create(uid, display).status().message(),
            "displayName must not contain control characters");
  ProviderChange type = Provider("type");
  type.type = Set<std::string>("open\x1b[31mai");
  EXPECT_EQ(providers_->Create(uid, type).status().message(),
            "type must not contain control characters");
  ProviderChange fine = Provider("a.b");
  fine.display_name = Set<std::string>("Work (Zürich)");
  EXPECT_TRUE(providers_->Create(uid, fine).ok());
}

}  // namespace
}  // namespace berth::testing
