#include "service/containers.hpp"

#include <regex>
#include <set>

#include "crypto/tokens.hpp"
#include "mocks/mock_store.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {
namespace {

using ::testing::_;
using ::testing::Return;

using ContainerServiceTest = ServiceTest;

// What the service tells the lifecycle about idle timeouts (the rest is not expected here).
class IdleTimeoutHooks final : public service::AgentHooks {
 public:
  void ConfigChanged(const std::string&) override { ADD_FAILURE() << "ConfigChanged"; }
  void TokenRotated(const std::string&) override {}  // the test rotates a token once
  void IdleTimeoutChanged(const std::string& user_id, int minutes) override {
    changes.emplace_back(user_id, minutes);
  }
  Status RemovingUser(const std::string&) override { return Internal("RemovingUser"); }
  std::vector<std::pair<std::string, int>> changes;
};

TEST_F(ContainerServiceTest, ProvisionStoresSealedTokenAndHashOnly) {
  std::string uid = NewUser();
  auto p = containers_->ProvisionUserContainer(uid, false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->record.container_name, "mosaic-user-" + uid);
  auto stored = store_->GetUserContainer(p->record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->token_hash, crypto::TokenHash(p->token));
  EXPECT_EQ(stored->gateway_token.find(p->token), std::string::npos);
  EXPECT_EQ(*secrets_->Open(stored->gateway_token), p->token);
  EXPECT_EQ(stored->idle_timeout_min, 30);
  EXPECT_EQ(stored->status, "stopped");
}

TEST_F(ContainerServiceTest, TokenOpensOnlyItsOwnConfig) {
  std::string a = NewUser("a"), b = NewUser("b");
  auto pa = containers_->ProvisionUserContainer(a, false);
  auto pb = containers_->ProvisionUserContainer(b, false);
  ASSERT_TRUE(pa.ok() && pb.ok());
  auto ref = containers_->AuthenticateContainer(pa->token);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->container.kind, store::ContainerKind::kUser);
  EXPECT_EQ(ref->container.id, pa->record.id);
  EXPECT_TRUE(containers_->ConfigForToken(pa->token, pa->record.id).ok());
  EXPECT_EQ(containers_->ConfigForToken(pa->token, pb->record.id).status().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(containers_->ConfigForToken("bc_forged", pa->record.id).status().message(),
            "Invalid container token");
  EXPECT_EQ(containers_->AuthenticateContainer("bc_forged").status().code(),
            ErrorCode::kUnauthenticated);
  // An empty token is just an invalid one here; "Missing Bearer token" is HTTP's word, and the
  // handler's (tests/e2e checks it on the wire).
  EXPECT_EQ(containers_->AuthenticateContainer("").status().message(), "Invalid container token");
}

TEST_F(ContainerServiceTest, RotationInvalidatesTheOldTokenAtOnce) {
  std::string uid = NewUser();
  auto first = containers_->ProvisionUserContainer(uid, false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(containers_->ProvisionUserContainer(uid, false).status().code(),
            ErrorCode::kAlreadyExists);
  auto second = containers_->ProvisionUserContainer(uid, true);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->record.id, first->record.id);
  EXPECT_FALSE(containers_->AuthenticateContainer(first->token).ok());
  EXPECT_TRUE(containers_->AuthenticateContainer(second->token).ok());
}

TEST_F(ContainerServiceTest, SystemContainers) {
  auto created = containers_->CreateSystemContainer("ops", std::string("a/b"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->record.container_name, "mosaic-system-ops");
  auto ref = containers_->AuthenticateContainer(created->token);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->container.kind, store::ContainerKind::kSystem);
  auto config = containers_->ConfigForToken(created->token, created->record.id);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)["agents"]["defaults"]["model"]["primary"], "a/b");
  EXPECT_EQ(containers_->CreateSystemContainer("ops", std::nullopt).status().code(),
            ErrorCode::kAlreadyExists);
  for (const std::string& bad :
       std::vector<std::string>{"", "Ops", "-ops", "ops bot", std::string(64, 'o')}) {
    EXPECT_EQ(containers_->CreateSystemContainer(bad, std::nullopt).status().code(),
              ErrorCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(ContainerServiceTest, PooledAgentsAreNamedAsSwarmAcceptsAServiceName) {
  // Swarm refuses a service name that is not a DNS name component: letters, digits and inner
  // hyphens, at most 63 characters ("name must be valid as a DNS name component").
  const std::regex dns_component("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  std::set<std::string> names;
  for (int i = 0; i < 64; ++i) {
    auto made = containers_->CreatePoolContainer();
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    const std::string& name = made->record.container_name;
    EXPECT_TRUE(std::regex_match(name, dns_component)) << name;
    EXPECT_LE(name.size(), 63u) << name;
    EXPECT_TRUE(service::IsPoolName(made->record.name)) << made->record.name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 64u);
}

TEST_F(ContainerServiceTest, ConfigComesFromTheOwnersCurrentSettings) {
  std::string uid = NewUser();
  auto p = containers_->ProvisionUserContainer(uid, false);
  ASSERT_TRUE(p.ok());
  service::ProviderChange provider;
  provider.name = std::optional<std::string>("x");
  provider.type = std::optional<std::string>("openai");
  provider.base_url = std::optional<std::string>("http://127.0.0.1:9/v1");
  provider.models = std::optional<nlohmann::json>(nlohmann::json::array({"y", "z"}));
  ASSERT_TRUE(providers_->Create(uid, provider).ok());
  ASSERT_TRUE(providers_->SetPrimaryModel(uid, std::string("x/z")).ok());
  auto config = containers_->ConfigForToken(p->token, p->record.id);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)["agents"]["defaults"]["model"]["primary"], "x/z");
  EXPECT_EQ(*config, *providers_->BuildUserConfig(uid));
}

TEST_F(ContainerServiceTest, SetIdleTimeoutStoresTheValueAndTellsTheHooks) {
  auto hooks = std::make_shared<IdleTimeoutHooks>();
  containers_->SetAgentHooks(hooks);
  std::string uid = NewUser();
  // No record yet: one is made, as a first start would, with the value.
  auto made = containers_->SetIdleTimeout(uid, 0);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->idle_timeout_min, 0);
  EXPECT_EQ(made->container_name, "mosaic-user-" + uid);
  EXPECT_EQ(made->status, "stopped");
  EXPECT_TRUE(secrets_->Open(made->gateway_token).ok());
  EXPECT_EQ(*store_->GetUserContainerByUser(uid), *made);
  // An existing record keeps everything else, its token included.
  auto rotated = containers_->ProvisionUserContainer(uid, /*rotate=*/true);
  ASSERT_TRUE(rotated.ok());
  auto changed = containers_->SetIdleTimeout(uid, service::kMaxIdleTimeoutMin);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->id, made->id);
  EXPECT_EQ(changed->idle_timeout_min, 10080);
  EXPECT_TRUE(containers_->AuthenticateContainer(rotated->token).ok());
  using Changes = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(hooks->changes, (Changes{{uid, 0}, {uid, 10080}}));

  // Refused: nothing stored, nobody told.
  for (int64_t bad : {int64_t{-1}, int64_t{10081}, int64_t{1} << 33}) {
    EXPECT_EQ(containers_->SetIdleTimeout(uid, bad).status().code(), ErrorCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(containers_->SetIdleTimeout("ghost", 5).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetUserContainerByUser(uid)->idle_timeout_min, 10080);
  EXPECT_EQ(hooks->changes.size(), 2u);
}

// A store outage is reported as such, never as a bad token.
TEST(ContainerServiceErrors, StoreOutageIsNotAnAuthenticationFailure) {
  auto store = std::make_shared<MockStore>();
  auto secrets = std::make_shared<crypto::SecretBox>(
      std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'k')));
  auto clock = std::make_shared<SystemClock>();
  auto providers = std::make_shared<service::ProviderService>(store, secrets, clock);
  service::ContainerService containers(store, secrets, providers, clock);
  EXPECT_CALL(*store, LoadAgentConfigSource(crypto::TokenHash("bc_token")))
      .WillOnce(Return(Unavailable("database is locked")));
  EXPECT_EQ(containers.ConfigForToken("bc_token", "c1").status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth::testing
