// The Store contract, checked against every backend with the same assertions (part 2: user and
// system containers, token lookup, key rotation; part 1 in store_contract_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using namespace ::berth::store::testing;  // NOLINT: test helpers

using StoreContainersTest = StoreContractTest;

// ---- user containers -----------------------------------------------------------------------

TEST_P(StoreContainersTest, UserContainerRoundTrips) {
  CreateTwoUsers();
  const UserContainer full = MakeUserContainer("c1", "u1", "hash-1");
  UserContainer minimal;
  minimal.id = "c2";
  minimal.user_id = "u2";
  minimal.container_name = "mosaic-user-u2";
  minimal.gateway_token = "sealed";
  minimal.token_hash = "hash-2";
  ASSERT_OK(store_->CreateUserContainer(full));
  ASSERT_OK(store_->CreateUserContainer(minimal));

  auto got = store_->GetUserContainer("c1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(full));
  got = store_->GetUserContainerByUser("u1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(full));
  got = store_->GetUserContainerByUser("u2");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(minimal));
  EXPECT_EQ(got->idle_timeout_min, 30);
  EXPECT_EQ(got->status, "stopped");
}

TEST_P(StoreContainersTest, MissingUserContainerIsNotFound) {
  CreateTwoUsers();
  auto by_id = store_->GetUserContainer("nope");
  EXPECT_CODE(by_id, kNotFound);
  EXPECT_EQ(by_id.status().message(), "container record not found");
  EXPECT_CODE(store_->GetUserContainerByUser("u1"), kNotFound);
}

TEST_P(StoreContainersTest, UserContainerUniqueKeysAreAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUser(MakeUser("u3")));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));

  Status second_for_user = store_->CreateUserContainer(MakeUserContainer("c2", "u1", "hash-2"));
  EXPECT_EQ(second_for_user.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(second_for_user.message(), "user already has a container record");

  Status same_hash = store_->CreateUserContainer(MakeUserContainer("c3", "u2", "hash-1"));
  EXPECT_EQ(same_hash.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_hash.message(), "container token hash already exists");

  Status same_id = store_->CreateUserContainer(MakeUserContainer("c1", "u3", "hash-3"));
  EXPECT_EQ(same_id.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.message(), "container record 'c1' already exists");

  auto all = store_->ListUserContainers();
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("c1"));
}

TEST_P(StoreContainersTest, UserContainerForMissingUserIsNotFound) {
  Status created = store_->CreateUserContainer(MakeUserContainer("c1", "ghost", "hash-1"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
}

TEST_P(StoreContainersTest, ListUserContainersIsOldestFirst) {
  for (const std::string u : {"u1", "u2", "u3", "u4"}) ASSERT_OK(store_->CreateUser(MakeUser(u)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-z", "u1", "h1", 1000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-new", "u2", "h2", 2000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-a", "u3", "h3", 1000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-old", "u4", "h4", 10)));
  auto all = store_->ListUserContainers();
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("c-old", "c-z", "c-a", "c-new"));
}

TEST_P(StoreContainersTest, UpdateUserContainerReplacesMutableFieldsButTheIdleTimeout) {
  CreateTwoUsers();
  const UserContainer original = MakeUserContainer("c1", "u1", "hash-1", 1000);
  ASSERT_OK(store_->CreateUserContainer(original));

  UserContainer changed;
  changed.id = "c1";
  changed.user_id = "u2";  // immutable: ignored
  changed.container_name = "renamed";
  changed.gateway_token = "sealed-2";
  changed.token_hash = "hash-2";
  changed.status = "stopped";
  changed.idle_timeout_min = 5;  // SetUserContainerIdleTimeout's: ignored
  changed.config_json = "{}";
  changed.created_at = 1;  // immutable: ignored
  changed.updated_at = 3000;
  ASSERT_OK(store_->UpdateUserContainer(changed));

  auto got = store_->GetUserContainer("c1");
  ASSERT_OK(got);
  UserContainer expected = changed;
  expected.user_id = original.user_id;
  expected.created_at = original.created_at;
  expected.idle_timeout_min = original.idle_timeout_min;
  EXPECT_EQ(Tie(*got), Tie(expected));
}

TEST_P(StoreContainersTest, RecordUserActivityRaisesButNeverLowersAndSkipsMissingRecords) {
  CreateTwoUsers();
  UserContainer c1 = MakeUserContainer("c1", "u1", "hash-1");
  c1.last_active_at = 5000;
  ASSERT_OK(store_->CreateUserContainer(c1));
  UserContainer c2 = MakeUserContainer("c2", "u2", "hash-2");
  c2.last_active_at = std::nullopt;
  ASSERT_OK(store_->CreateUserContainer(c2));

  ASSERT_OK(store_->RecordUserActivity({{"c1", 4000}, {"c2", 7000}, {"gone", 9000}}));
  EXPECT_EQ(store_->GetUserContainer("c1")->last_active_at, std::optional<int64_t>(5000));
  EXPECT_EQ(store_->GetUserContainer("c2")->last_active_at, std::optional<int64_t>(7000));

  ASSERT_OK(store_->RecordUserActivity({{"c1", 6000}}));
  EXPECT_EQ(store_->GetUserContainer("c1")->last_active_at, std::optional<int64_t>(6000));
  EXPECT_OK(store_->RecordUserActivity({}));
}

TEST_P(StoreContainersTest, InstanceIdIsRandomPerDatabaseAndStable) {
  auto first = store_->InstanceId();
  ASSERT_OK(first);
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(*store_->InstanceId(), *first);

  SnapshotStorePtr other = OpenAnother();
  ASSERT_NE(other, nullptr);
  auto second = other->InstanceId();
  ASSERT_OK(second);
  EXPECT_NE(*second, *first);
}

TEST_P(StoreContainersTest, UpdateUserContainerErrors) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c2", "u2", "hash-2")));

  Status missing = store_->UpdateUserContainer(MakeUserContainer("nope", "u1", "hash-9"));
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.message(), "container record not found");

  Status collision = store_->UpdateUserContainer(MakeUserContainer("c2", "u2", "hash-1"));
  EXPECT_EQ(collision.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(collision.message(), "container token hash already exists");
  auto got = store_->GetUserContainer("c2");
  ASSERT_OK(got);
  EXPECT_EQ(got->token_hash, "hash-2");
}

// ---- system containers ---------------------------------------------------------------------

TEST_P(StoreContainersTest, SystemContainerRoundTripsAndDeletes) {
  const SystemContainer full = MakeSystemContainer("s1", "indexer", "hash-1");
  SystemContainer minimal;
  minimal.id = "s2";
  minimal.name = "minimal";
  minimal.container_name = "mosaic-system-minimal";
  minimal.gateway_token = "sealed";
  minimal.token_hash = "hash-2";
  ASSERT_OK(store_->CreateSystemContainer(full));
  ASSERT_OK(store_->CreateSystemContainer(minimal));

  auto got = store_->GetSystemContainer("s1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(full));
  got = store_->GetSystemContainer("s2");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(minimal));

  ASSERT_OK(store_->DeleteSystemContainer("s1"));
  auto gone = store_->GetSystemContainer("s1");
  EXPECT_CODE(gone, kNotFound);
  EXPECT_EQ(gone.status().message(), "system container not found");
  Status again = store_->DeleteSystemContainer("s1");
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  EXPECT_EQ(again.message(), "system container not found");
}

TEST_P(StoreContainersTest, SystemContainerUniqueKeysAreAlreadyExists) {
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-1")));

  Status same_name = store_->CreateSystemContainer(MakeSystemContainer("s2", "indexer", "h2"));
  EXPECT_EQ(same_name.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_name.message(), "system container name 'indexer' already exists");

  Status same_id = store_->CreateSystemContainer(MakeSystemContainer("s1", "other", "h3"));
  EXPECT_EQ(same_id.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.message(), "system container 's1' already exists");

  Status same_hash = store_->CreateSystemContainer(MakeSystemContainer("s4", "x", "hash-1"));
  EXPECT_EQ(same_hash.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_hash.message(), "container token hash already exists");
}

TEST_P(StoreContainersTest, ContainerTokenHashIsUniqueAcrossUserAndSystemContainers) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "user-hash")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "system-hash")));

  Status system_onto_user =
      store_->CreateSystemContainer(MakeSystemContainer("s2", "other", "user-hash"));
  EXPECT_EQ(system_onto_user.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(system_onto_user.message(), "container token hash already exists");

  Status user_onto_system =
      store_->CreateUserContainer(MakeUserContainer("c2", "u2", "system-hash"));
  EXPECT_EQ(user_onto_system.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(user_onto_system.message(), "container token hash already exists");

  EXPECT_CODE(store_->UpdateUserContainer(MakeUserContainer("c1", "u1", "system-hash")),
              kAlreadyExists);
  EXPECT_CODE(store_->UpdateSystemContainer(MakeSystemContainer("s1", "indexer", "user-hash")),
              kAlreadyExists);

  // Updates that keep the token are not collisions with themselves.
  EXPECT_OK(store_->UpdateUserContainer(MakeUserContainer("c1", "u1", "user-hash")));
  EXPECT_OK(store_->UpdateSystemContainer(MakeSystemContainer("s1", "indexer", "system-hash")));
}

TEST_P(StoreContainersTest, UpdateSystemContainerReplacesMutableFields) {
  const SystemContainer original = MakeSystemContainer("s1", "indexer", "hash-1", 1000);
  ASSERT_OK(store_->CreateSystemContainer(original));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s2", "taken", "hash-2")));

  SystemContainer changed;
  changed.id = "s1";
  changed.name = "renamed";
  changed.container_name = "mosaic-system-renamed";
  changed.gateway_token = "sealed-2";
  changed.token_hash = "hash-3";
  changed.status = "failed";
  changed.created_at = 1;  // immutable: ignored
  changed.updated_at = 5000;
  ASSERT_OK(store_->UpdateSystemContainer(changed));
  auto got = store_->GetSystemContainer("s1");
  ASSERT_OK(got);
  SystemContainer expected = changed;
  expected.created_at = original.created_at;
  EXPECT_EQ(Tie(*got), Tie(expected));

  changed.name = "taken";
  Status collision = store_->UpdateSystemContainer(changed);
  EXPECT_EQ(collision.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(collision.message(), "system container name 'taken' already exists");

  Status missing = store_->UpdateSystemContainer(MakeSystemContainer("nope", "n", "hash-9"));
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.message(), "system container not found");
}

TEST_P(StoreContainersTest, ListSystemContainersIsOldestFirst) {
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-z", "a", "h1", 1000)));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-old", "b", "h2", 1)));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-a", "c", "h3", 1000)));
  auto all = store_->ListSystemContainers();
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("s-old", "s-z", "s-a"));
}

// ---- token lookup --------------------------------------------------------------------------

TEST_P(StoreContainersTest, ContainerTokenHashResolvesBothKinds) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "user-hash")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "system-hash")));

  auto user = store_->LoadAgentConfigSource("user-hash");
  ASSERT_OK(user);
  EXPECT_EQ(user->container.kind, ContainerKind::kUser);
  EXPECT_EQ(user->container.id, "c1");
  EXPECT_EQ(user->container.token_hash, "user-hash");

  auto system = store_->LoadAgentConfigSource("system-hash");
  ASSERT_OK(system);
  EXPECT_EQ(system->container.kind, ContainerKind::kSystem);
  EXPECT_EQ(system->container.id, "s1");
  EXPECT_EQ(system->container.token_hash, "system-hash");

  auto unknown = store_->LoadAgentConfigSource("unknown-hash");
  EXPECT_CODE(unknown, kNotFound);
  EXPECT_EQ(unknown.status().message(), "container token not found");

  // A rotated token stops resolving under its old hash.
  ASSERT_OK(store_->UpdateUserContainer(MakeUserContainer("c1", "u1", "rotated-hash")));
  EXPECT_CODE(store_->LoadAgentConfigSource("user-hash"), kNotFound);
  auto rotated = store_->LoadAgentConfigSource("rotated-hash");
  ASSERT_OK(rotated);
  EXPECT_EQ(rotated->container.id, "c1");
}

TEST_P(StoreContainersTest, LoadAgentConfigSourceReadsTokenSettingsAndProvidersTogether) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "user-hash")));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c2", "u2", "other-hash")));
  auto inactive = MakeProvider("p2", "u1", "off");
  inactive.is_active = false;
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "first")));
  ASSERT_OK(store_->CreateProvider(inactive));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p3", "u1", "third")));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p4", "u2", "not-mine")));

  auto bare = store_->LoadAgentConfigSource("user-hash");
  ASSERT_OK(bare);
  EXPECT_EQ(bare->container.kind, ContainerKind::kUser);
  EXPECT_EQ(bare->container.id, "c1");
  EXPECT_EQ(bare->container.token_hash, "user-hash");
  EXPECT_EQ(bare->user_id, "u1");
  EXPECT_FALSE(bare->primary_model.has_value());
  ASSERT_EQ(bare->active_providers.size(), 2u);
  EXPECT_EQ(bare->active_providers[0].name, "first");
  EXPECT_EQ(bare->active_providers[1].name, "third");

  ASSERT_OK(store_->UpsertAgentConfig({"u1", std::string("first/m"), 1, 1}));
  auto configured = store_->LoadAgentConfigSource("user-hash");
  ASSERT_OK(configured);
  EXPECT_EQ(configured->primary_model, std::optional<std::string>("first/m"));

  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "system-hash")));
  auto system = store_->LoadAgentConfigSource("system-hash");
  ASSERT_OK(system);
  EXPECT_EQ(system->container.kind, ContainerKind::kSystem);
  EXPECT_EQ(system->container.id, "s1");
  EXPECT_TRUE(system->active_providers.empty());

  EXPECT_CODE(store_->LoadAgentConfigSource("unknown-hash"), kNotFound);
  // The connection is left usable after a miss (the read transaction was closed).
  for (int i = 0; i < 20; ++i) ASSERT_OK(store_->LoadAgentConfigSource("user-hash"));
  ASSERT_OK(store_->DeleteUser("u1"));
  EXPECT_CODE(store_->LoadAgentConfigSource("user-hash"), kNotFound);
}

TEST_P(StoreContainersTest, LoadAgentConfigSourcesAnswersEachHashInOrderAsOneAtATimeWould) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "user-hash")));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c2", "u2", "other-hash")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "system-hash")));
  auto inactive = MakeProvider("p2", "u1", "off");
  inactive.is_active = false;
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "first")));
  ASSERT_OK(store_->CreateProvider(inactive));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p3", "u1", "third")));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p4", "u2", "not-mine")));
  ASSERT_OK(store_->UpsertAgentConfig({"u1", std::string("first/m"), 1, 1}));

  // Unknown hashes, a repeated one, and one a text[] literal must quote, among the real ones.
  const std::vector<std::string> asked = {"other-hash", "unknown",    "user-hash", "system-hash",
                                          "user-hash",  "a\"b,{c}\\", ""};
  auto found = store_->LoadAgentConfigSources(asked);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), asked.size());
  for (std::size_t i = 0; i < asked.size(); ++i) {
    auto one = store_->LoadAgentConfigSource(asked[i]);
    if (!one.ok()) {
      EXPECT_CODE(one, kNotFound);
      EXPECT_FALSE((*found)[i].has_value()) << asked[i];
      continue;
    }
    ASSERT_TRUE((*found)[i].has_value()) << asked[i];
    const AgentConfigSource& got = *(*found)[i];
    EXPECT_EQ(got.container.kind, one->container.kind);
    EXPECT_EQ(got.container.id, one->container.id);
    EXPECT_EQ(got.container.token_hash, asked[i]);
    EXPECT_EQ(got.user_id, one->user_id);
    EXPECT_EQ(got.primary_model, one->primary_model);
    ASSERT_EQ(got.active_providers.size(), one->active_providers.size()) << asked[i];
    for (std::size_t p = 0; p < got.active_providers.size(); ++p) {
      EXPECT_EQ(got.active_providers[p].id, one->active_providers[p].id);
      EXPECT_EQ(got.active_providers[p].api_key, one->active_providers[p].api_key);
      EXPECT_EQ(got.active_providers[p].models_json, one->active_providers[p].models_json);
    }
  }
  EXPECT_FALSE((*found)[1].has_value());
  EXPECT_EQ((*found)[0]->container.id, "c2");
  ASSERT_EQ((*found)[2]->active_providers.size(), 2u);
  EXPECT_EQ((*found)[2]->active_providers[0].name, "first");
  EXPECT_EQ((*found)[2]->active_providers[1].name, "third");
  EXPECT_EQ((*found)[2]->primary_model, std::optional<std::string>("first/m"));
  EXPECT_EQ((*found)[3]->container.kind, ContainerKind::kSystem);
  EXPECT_EQ((*found)[4]->container.id, "c1");

  auto none = store_->LoadAgentConfigSources({});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

// ---- key rotation --------------------------------------------------------------------------

std::vector<std::tuple<SecretColumn, std::string, std::string>> Flatten(
    const std::vector<StoredSecret>& secrets) {
  std::vector<std::tuple<SecretColumn, std::string, std::string>> out;
  for (const StoredSecret& s : secrets) out.emplace_back(s.column, s.row_id, s.value);
  return out;
}

TEST_P(StoreContainersTest, ListSecretsReturnsEverySealedValue) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "with-key")));
  LlmProvider no_key = MakeProvider("p2", "u1", "without-key");
  no_key.api_key.reset();
  ASSERT_OK(store_->CreateProvider(no_key));
  LlmProvider empty_key = MakeProvider("p3", "u1", "empty-key");
  empty_key.api_key = "";
  ASSERT_OK(store_->CreateProvider(empty_key));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-2")));

  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_THAT(
      Flatten(*secrets),
      UnorderedElementsAre(
          std::make_tuple(SecretColumn::kProviderApiKey, "p1", "sealed-key-of-p1"),
          std::make_tuple(SecretColumn::kUserContainerToken, "c1", "sealed-token-of-c1"),
          std::make_tuple(SecretColumn::kSystemContainerToken, "s1", "sealed-token-of-s1")));
}

TEST_P(StoreContainersTest, ListSecretsOfAnEmptyStoreIsEmpty) {
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_THAT(*secrets, IsEmpty());
}

TEST_P(StoreContainersTest, ReplaceSecretSwapsEachColumnWhileUnchanged) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c1", "u1", "hash-1")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-2")));
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  ASSERT_EQ(secrets->size(), 3u);

  for (const StoredSecret& secret : *secrets) {
    auto swapped = store_->ReplaceSecret(secret, "resealed-" + secret.row_id);
    ASSERT_OK(swapped);
    EXPECT_TRUE(*swapped) << secret.row_id;
    // The old value is gone, so a second swap from it loses.
    auto again = store_->ReplaceSecret(secret, "other");
    ASSERT_OK(again);
    EXPECT_FALSE(*again) << secret.row_id;
  }

  auto provider = store_->GetProvider("u1", "p1");
  ASSERT_OK(provider);
  EXPECT_EQ(provider->api_key, "resealed-p1");
  EXPECT_EQ(provider->updated_at, MakeProvider("p1", "u1", "openai").updated_at);
  auto user_container = store_->GetUserContainer("c1");
  ASSERT_OK(user_container);
  EXPECT_EQ(user_container->gateway_token, "resealed-c1");
  EXPECT_EQ(user_container->token_hash, "hash-1");
  auto system_container = store_->GetSystemContainer("s1");
  ASSERT_OK(system_container);
  EXPECT_EQ(system_container->gateway_token, "resealed-s1");
}

TEST_P(StoreContainersTest, ReplaceSecretLosesToAConcurrentChangeOrDeletion) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s1", "indexer", "hash-2")));
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  ASSERT_EQ(secrets->size(), 2u);

  // Meanwhile the user sets a new key and the system container is removed.
  LlmProvider updated = MakeProvider("p1", "u1", "openai");
  updated.api_key = "sealed-by-user";
  ASSERT_OK(store_->UpdateProvider(updated));
  ASSERT_OK(store_->DeleteSystemContainer("s1"));

  for (const StoredSecret& secret : *secrets) {
    auto swapped = store_->ReplaceSecret(secret, "resealed");
    ASSERT_OK(swapped);
    EXPECT_FALSE(*swapped) << secret.row_id;
  }
  auto provider = store_->GetProvider("u1", "p1");
  ASSERT_OK(provider);
  EXPECT_EQ(provider->api_key, "sealed-by-user");
  EXPECT_CODE(store_->GetSystemContainer("s1"), kNotFound);
}

TEST_P(StoreContainersTest, ReplaceSecretOfARemovedApiKeyLoses) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  ASSERT_EQ(secrets->size(), 1u);
  LlmProvider cleared = MakeProvider("p1", "u1", "openai");
  cleared.api_key.reset();
  ASSERT_OK(store_->UpdateProvider(cleared));

  auto swapped = store_->ReplaceSecret(secrets->front(), "resealed");
  ASSERT_OK(swapped);
  EXPECT_FALSE(*swapped);
  auto provider = store_->GetProvider("u1", "p1");
  ASSERT_OK(provider);
  EXPECT_EQ(provider->api_key, std::nullopt);
}

BERTH_ON_EVERY_BACKEND(StoreContainersTest);

}  // namespace
}  // namespace berth::store
