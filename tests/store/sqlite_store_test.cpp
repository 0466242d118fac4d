#include "store/sqlite_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/store_fixtures.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using namespace ::berth::store::testing;  // NOLINT: test helpers

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::Open(path_);
    ASSERT_OK(opened);
    store_ = *opened;
  }

  // Creates users "u1" and "u2".
  void CreateTwoUsers() {
    ASSERT_OK(store_->CreateUser(MakeUser("u1")));
    ASSERT_OK(store_->CreateUser(MakeUser("u2")));
  }

  berth::testing::TempDir dir_;
  std::string path_ = dir_.File("berth.db");
  std::shared_ptr<SqliteStore> store_;
};

// ---- users ---------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, PingAnswers) { EXPECT_OK(store_->Ping()); }

TEST_F(SqliteStoreTest, CreateAndGetUserRoundTrips) {
  User with_email = MakeUser("u1");
  User without_email = MakeUser("u2");
  without_email.email.reset();
  ASSERT_OK(store_->CreateUser(with_email));
  ASSERT_OK(store_->CreateUser(without_email));

  auto got = store_->GetUser("u1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(with_email));
  got = store_->GetUser("u2");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(without_email));
}

TEST_F(SqliteStoreTest, CreateUserTwiceIsAlreadyExists) {
  ASSERT_OK(store_->CreateUser(MakeUser("u1")));
  Status again = store_->CreateUser(MakeUser("u1", 5000));
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "user 'u1' already exists");
}

TEST_F(SqliteStoreTest, GetMissingUserIsNotFound) {
  auto got = store_->GetUser("nobody");
  EXPECT_CODE(got, kNotFound);
  EXPECT_EQ(got.status().message(), "user not found");
}

TEST_F(SqliteStoreTest, ListUsersIsOldestFirstWithInsertionOrderTiebreak) {
  auto empty = store_->ListUsers();
  ASSERT_OK(empty);
  EXPECT_THAT(*empty, IsEmpty());

  ASSERT_OK(store_->CreateUser(MakeUser("zeta", 1000)));
  ASSERT_OK(store_->CreateUser(MakeUser("newest", 3000)));
  ASSERT_OK(store_->CreateUser(MakeUser("alpha", 1000)));
  ASSERT_OK(store_->CreateUser(MakeUser("oldest", 500)));
  ASSERT_OK(store_->CreateUser(MakeUser("mid", 1000)));
  auto users = store_->ListUsers();
  ASSERT_OK(users);
  EXPECT_THAT(Ids(*users), ElementsAre("oldest", "zeta", "alpha", "mid", "newest"));
}

TEST_F(SqliteStoreTest, DeleteMissingUserIsNotFound) {
  Status deleted = store_->DeleteUser("nobody");
  EXPECT_EQ(deleted.code(), ErrorCode::kNotFound);
  EXPECT_EQ(deleted.message(), "user not found");
}

TEST_F(SqliteStoreTest, DeleteUserCascadesToEverythingTheUserOwns) {
  CreateTwoUsers();
  for (const std::string u : {"u1", "u2"}) {
    ASSERT_OK(store_->CreateApiToken(MakeUserToken("t-" + u, u, "api-hash-" + u)));
    ASSERT_OK(store_->CreateProvider(MakeProvider("p-" + u, u, "openai")));
    ASSERT_OK(store_->UpsertAgentConfig({u, "openai/gpt-4o", 1, 1}));
    ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-" + u, u, "ctr-hash-" + u)));
  }

  ASSERT_OK(store_->DeleteUser("u1"));

  EXPECT_CODE(store_->GetUser("u1"), kNotFound);
  EXPECT_CODE(store_->FindApiTokenByHash("api-hash-u1"), kNotFound);
  EXPECT_CODE(store_->GetProvider("u1", "p-u1"), kNotFound);
  auto providers = store_->ListProviders("u1", false);
  ASSERT_OK(providers);
  EXPECT_THAT(*providers, IsEmpty());
  EXPECT_CODE(store_->GetAgentConfig("u1"), kNotFound);
  EXPECT_CODE(store_->GetUserContainer("c-u1"), kNotFound);
  EXPECT_CODE(store_->GetUserContainerByUser("u1"), kNotFound);
  EXPECT_CODE(store_->LoadAgentConfigSource("ctr-hash-u1"), kNotFound);
  EXPECT_CODE(store_->DeleteUser("u1"), kNotFound);

  // The other user's rows are untouched.
  EXPECT_OK(store_->GetUser("u2"));
  EXPECT_OK(store_->FindApiTokenByHash("api-hash-u2"));
  EXPECT_OK(store_->GetProvider("u2", "p-u2"));
  EXPECT_OK(store_->GetAgentConfig("u2"));
  EXPECT_OK(store_->GetUserContainer("c-u2"));
  EXPECT_OK(store_->LoadAgentConfigSource("ctr-hash-u2"));
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  std::vector<std::string> rows;
  for (const StoredSecret& s : *secrets) rows.push_back(s.row_id);
  EXPECT_THAT(rows, UnorderedElementsAre("p-u2", "c-u2"));
}

// ---- api tokens ----------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ApiTokenRoundTripsForUserAndAdmin) {
  CreateTwoUsers();
  const ApiToken user_token = MakeUserToken("t1", "u1", "hash-user");
  const ApiToken admin_token = MakeAdminToken("t2", "hash-admin");
  ASSERT_OK(store_->CreateApiToken(user_token));
  ASSERT_OK(store_->CreateApiToken(admin_token));

  auto found = store_->FindApiTokenByHash("hash-user");
  ASSERT_OK(found);
  EXPECT_EQ(Tie(*found), Tie(user_token));
  found = store_->FindApiTokenByHash("hash-admin");
  ASSERT_OK(found);
  EXPECT_EQ(Tie(*found), Tie(admin_token));
  EXPECT_EQ(found->user_id, std::nullopt);
}

TEST_F(SqliteStoreTest, AdminTokenWithEmptyUserIdIsStoredWithoutOne) {
  ApiToken admin = MakeAdminToken("t1", "hash-admin");
  admin.user_id = "";
  ASSERT_OK(store_->CreateApiToken(admin));
  auto found = store_->FindApiTokenByHash("hash-admin");
  ASSERT_OK(found);
  EXPECT_EQ(found->user_id, std::nullopt);
}

TEST_F(SqliteStoreTest, FindUnknownApiTokenIsNotFound) {
  auto found = store_->FindApiTokenByHash("no-such-hash");
  EXPECT_CODE(found, kNotFound);
  EXPECT_EQ(found.status().message(), "api token not found");
}

TEST_F(SqliteStoreTest, HasAdminTokenOnlyOnceAnAdminTokenExists) {
  CreateTwoUsers();
  auto has = store_->HasAdminToken();
  ASSERT_OK(has);
  EXPECT_FALSE(*has);
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("t1", "u1", "hash-1")));
  has = store_->HasAdminToken();
  ASSERT_OK(has);
  EXPECT_FALSE(*has);
  ASSERT_OK(store_->CreateApiToken(MakeAdminToken("t2", "hash-2")));
  has = store_->HasAdminToken();
  ASSERT_OK(has);
  EXPECT_TRUE(*has);
}

TEST_F(SqliteStoreTest, DuplicateApiTokenIdOrHashIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("t1", "u1", "hash-1")));

  Status same_hash = store_->CreateApiToken(MakeUserToken("t2", "u2", "hash-1"));
  EXPECT_EQ(same_hash.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_hash.message(), "api token hash already exists");
  EXPECT_THAT(same_hash.message(), Not(HasSubstr("hash-1")));

  Status same_id = store_->CreateApiToken(MakeUserToken("t1", "u2", "hash-2"));
  EXPECT_EQ(same_id.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.message(), "api token 't1' already exists");
}

TEST_F(SqliteStoreTest, ApiTokenForMissingUserIsNotFound) {
  Status created = store_->CreateApiToken(MakeUserToken("t1", "ghost", "hash-1"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
  EXPECT_CODE(store_->FindApiTokenByHash("hash-1"), kNotFound);
}

TEST_F(SqliteStoreTest, ApiTokenRoleAndUserIdMustAgree) {
  CreateTwoUsers();
  ApiToken user_without_user = MakeUserToken("t1", "u1", "hash-1");
  user_without_user.user_id.reset();
  EXPECT_CODE(store_->CreateApiToken(user_without_user), kInvalidArgument);
  ApiToken admin_with_user = MakeAdminToken("t2", "hash-2");
  admin_with_user.user_id = "u1";
  EXPECT_CODE(store_->CreateApiToken(admin_with_user), kInvalidArgument);
}

// ---- providers -----------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ProviderRoundTripsEveryField) {
  CreateTwoUsers();
  const LlmProvider full = MakeProvider("p1", "u1", "openai");
  LlmProvider minimal;
  minimal.id = "p2";
  minimal.user_id = "u1";
  minimal.name = "local";
  minimal.type = "custom";
  minimal.is_active = false;
  minimal.created_at = 7;
  minimal.updated_at = 8;
  ASSERT_OK(store_->CreateProvider(full));
  ASSERT_OK(store_->CreateProvider(minimal));

  auto got = store_->GetProvider("u1", "p1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(full));
  got = store_->GetProvider("u1", "p2");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(minimal));
  EXPECT_EQ(got->models_json, "[]");
}

TEST_F(SqliteStoreTest, ProviderIsScopedToItsUser) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));

  auto got = store_->GetProvider("u2", "p1");
  EXPECT_CODE(got, kNotFound);
  EXPECT_EQ(got.status().message(), "provider not found");
  LlmProvider hijack = MakeProvider("p1", "u2", "stolen");
  EXPECT_CODE(store_->UpdateProvider(hijack), kNotFound);
  EXPECT_CODE(store_->DeleteProvider("u2", "p1"), kNotFound);

  got = store_->GetProvider("u1", "p1");
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "openai");
}

TEST_F(SqliteStoreTest, DuplicateProviderNameForOneUserIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));

  Status same_name = store_->CreateProvider(MakeProvider("p2", "u1", "openai"));
  EXPECT_EQ(same_name.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_name.message(), "provider name 'openai' already exists for this user");
  EXPECT_THAT(same_name.message(), Not(HasSubstr("sealed-key")));

  // Names are unique per user only.
  EXPECT_OK(store_->CreateProvider(MakeProvider("p3", "u2", "openai")));
}

TEST_F(SqliteStoreTest, DuplicateProviderIdIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  Status same_id = store_->CreateProvider(MakeProvider("p1", "u2", "other"));
  EXPECT_EQ(same_id.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.message(), "provider 'p1' already exists");
}

TEST_F(SqliteStoreTest, ProviderForMissingUserIsNotFound) {
  Status created = store_->CreateProvider(MakeProvider("p1", "ghost", "openai"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
}

TEST_F(SqliteStoreTest, ListProvidersIsOldestFirstAndFiltersInactive) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("zeta", "u1", "n-zeta", 1000)));
  LlmProvider inactive = MakeProvider("alpha", "u1", "n-alpha", 1000);
  inactive.is_active = false;
  ASSERT_OK(store_->CreateProvider(inactive));
  ASSERT_OK(store_->CreateProvider(MakeProvider("other-user", "u2", "n-other", 1)));
  ASSERT_OK(store_->CreateProvider(MakeProvider("mid", "u1", "n-mid", 1000)));
  ASSERT_OK(store_->CreateProvider(MakeProvider("oldest", "u1", "n-oldest", 500)));
  LlmProvider old_inactive = MakeProvider("old-off", "u1", "n-old-off", 200);
  old_inactive.is_active = false;
  ASSERT_OK(store_->CreateProvider(old_inactive));

  auto all = store_->ListProviders("u1", /*active_only=*/false);
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("old-off", "oldest", "zeta", "alpha", "mid"));
  auto active = store_->ListProviders("u1", /*active_only=*/true);
  ASSERT_OK(active);
  EXPECT_THAT(Ids(*active), ElementsAre("oldest", "zeta", "mid"));
  auto nobody = store_->ListProviders("ghost", true);
  ASSERT_OK(nobody);
  EXPECT_THAT(*nobody, IsEmpty());
}

TEST_F(SqliteStoreTest, UpdateProviderReplacesMutableFields) {
  CreateTwoUsers();
  const LlmProvider original = MakeProvider("p1", "u1", "openai", 1000);
  ASSERT_OK(store_->CreateProvider(original));

  LlmProvider changed;
  changed.id = "p1";
  changed.user_id = "u1";
  changed.name = "renamed";
  changed.type = "custom";
  changed.base_url = "http://other";
  changed.models_json = R"(["m"])";
  changed.is_active = false;
  changed.created_at = 99999;  // immutable: ignored
  changed.updated_at = 2000;
  ASSERT_OK(store_->UpdateProvider(changed));

  auto got = store_->GetProvider("u1", "p1");
  ASSERT_OK(got);
  LlmProvider expected = changed;
  expected.created_at = original.created_at;
  EXPECT_EQ(Tie(*got), Tie(expected));
}

TEST_F(SqliteStoreTest, UpdateProviderOntoAnExistingNameIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p2", "u1", "anthropic")));

  LlmProvider rename = MakeProvider("p2", "u1", "openai");
  Status renamed = store_->UpdateProvider(rename);
  EXPECT_EQ(renamed.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(renamed.message(), "provider name 'openai' already exists for this user");

  auto got = store_->GetProvider("u1", "p2");
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "anthropic");
}

TEST_F(SqliteStoreTest, UpdateMissingProviderIsNotFound) {
  CreateTwoUsers();
  Status updated = store_->UpdateProvider(MakeProvider("nope", "u1", "openai"));
  EXPECT_EQ(updated.code(), ErrorCode::kNotFound);
  EXPECT_EQ(updated.message(), "provider not found");
}

TEST_F(SqliteStoreTest, DeleteProviderRemovesOnlyThatRow) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  ASSERT_OK(store_->CreateProvider(MakeProvider("p2", "u1", "anthropic")));
  ASSERT_OK(store_->DeleteProvider("u1", "p1"));
  EXPECT_CODE(store_->GetProvider("u1", "p1"), kNotFound);
  EXPECT_OK(store_->GetProvider("u1", "p2"));
  Status again = store_->DeleteProvider("u1", "p1");
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  EXPECT_EQ(again.message(), "provider not found");
}

// ---- agent config --------------------------------------------------------------------------

TEST_F(SqliteStoreTest, UpsertAgentConfigInsertsThenUpdates) {
  CreateTwoUsers();
  auto missing = store_->GetAgentConfig("u1");
  EXPECT_CODE(missing, kNotFound);
  EXPECT_EQ(missing.status().message(), "agent config not found");

  const UserAgentConfig first{"u1", "openai/gpt-4o", 100, 100};
  ASSERT_OK(store_->UpsertAgentConfig(first));
  auto got = store_->GetAgentConfig("u1");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(first));

  ASSERT_OK(store_->UpsertAgentConfig({"u1", std::nullopt, 5000, 200}));
  got = store_->GetAgentConfig("u1");
  ASSERT_OK(got);
  const UserAgentConfig expected{"u1", std::nullopt, 100, 200};  // created_at kept
  EXPECT_EQ(Tie(*got), Tie(expected));

  EXPECT_CODE(store_->GetAgentConfig("u2"), kNotFound);
}

TEST_F(SqliteStoreTest, AgentConfigForMissingUserIsNotFound) {
  Status upserted = store_->UpsertAgentConfig({"ghost", "a/b", 1, 1});
  EXPECT_EQ(upserted.code(), ErrorCode::kNotFound);
  EXPECT_EQ(upserted.message(), "user not found");
}

// ---- user containers -----------------------------------------------------------------------

TEST_F(SqliteStoreTest, UserContainerRoundTrips) {
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

TEST_F(SqliteStoreTest, MissingUserContainerIsNotFound) {
  CreateTwoUsers();
  auto by_id = store_->GetUserContainer("nope");
  EXPECT_CODE(by_id, kNotFound);
  EXPECT_EQ(by_id.status().message(), "container record not found");
  EXPECT_CODE(store_->GetUserContainerByUser("u1"), kNotFound);
}

TEST_F(SqliteStoreTest, UserContainerUniqueKeysAreAlreadyExists) {
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

TEST_F(SqliteStoreTest, UserContainerForMissingUserIsNotFound) {
  Status created = store_->CreateUserContainer(MakeUserContainer("c1", "ghost", "hash-1"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
}

TEST_F(SqliteStoreTest, ListUserContainersIsOldestFirst) {
  for (const std::string u : {"u1", "u2", "u3", "u4"}) ASSERT_OK(store_->CreateUser(MakeUser(u)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-z", "u1", "h1", 1000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-new", "u2", "h2", 2000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-a", "u3", "h3", 1000)));
  ASSERT_OK(store_->CreateUserContainer(MakeUserContainer("c-old", "u4", "h4", 10)));
  auto all = store_->ListUserContainers();
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("c-old", "c-z", "c-a", "c-new"));
}

TEST_F(SqliteStoreTest, UpdateUserContainerReplacesMutableFields) {
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
  changed.idle_timeout_min = 5;
  changed.config_json = "{}";
  changed.created_at = 1;  // immutable: ignored
  changed.updated_at = 3000;
  ASSERT_OK(store_->UpdateUserContainer(changed));

  auto got = store_->GetUserContainer("c1");
  ASSERT_OK(got);
  UserContainer expected = changed;
  expected.user_id = original.user_id;
  expected.created_at = original.created_at;
  EXPECT_EQ(Tie(*got), Tie(expected));
}

TEST_F(SqliteStoreTest, RecordUserActivityRaisesButNeverLowersAndSkipsMissingRecords) {
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

TEST_F(SqliteStoreTest, InstanceIdIsRandomPerDatabaseAndStable) {
  auto first = store_->InstanceId();
  ASSERT_OK(first);
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(*store_->InstanceId(), *first);

  auto other = SqliteStore::Open(dir_.File("other.db"));
  ASSERT_OK(other);
  auto second = (*other)->InstanceId();
  ASSERT_OK(second);
  EXPECT_NE(*second, *first);
}

TEST_F(SqliteStoreTest, UpdateUserContainerErrors) {
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

TEST_F(SqliteStoreTest, SystemContainerRoundTripsAndDeletes) {
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

TEST_F(SqliteStoreTest, SystemContainerUniqueKeysAreAlreadyExists) {
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

TEST_F(SqliteStoreTest, ContainerTokenHashIsUniqueAcrossUserAndSystemContainers) {
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

TEST_F(SqliteStoreTest, UpdateSystemContainerReplacesMutableFields) {
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

TEST_F(SqliteStoreTest, ListSystemContainersIsOldestFirst) {
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-z", "a", "h1", 1000)));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-old", "b", "h2", 1)));
  ASSERT_OK(store_->CreateSystemContainer(MakeSystemContainer("s-a", "c", "h3", 1000)));
  auto all = store_->ListSystemContainers();
  ASSERT_OK(all);
  EXPECT_THAT(Ids(*all), ElementsAre("s-old", "s-z", "s-a"));
}

// ---- token lookup --------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ContainerTokenHashResolvesBothKinds) {
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

TEST_F(SqliteStoreTest, LoadAgentConfigSourceReadsTokenSettingsAndProvidersTogether) {
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

// ---- key rotation --------------------------------------------------------------------------

std::vector<std::tuple<SecretColumn, std::string, std::string>> Flatten(
    const std::vector<StoredSecret>& secrets) {
  std::vector<std::tuple<SecretColumn, std::string, std::string>> out;
  for (const StoredSecret& s : secrets) out.emplace_back(s.column, s.row_id, s.value);
  return out;
}

TEST_F(SqliteStoreTest, ListSecretsReturnsEverySealedValue) {
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

TEST_F(SqliteStoreTest, ListSecretsOfAnEmptyStoreIsEmpty) {
  auto secrets = store_->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_THAT(*secrets, IsEmpty());
}

TEST_F(SqliteStoreTest, ReplaceSecretSwapsEachColumnWhileUnchanged) {
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

TEST_F(SqliteStoreTest, ReplaceSecretLosesToAConcurrentChangeOrDeletion) {
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

TEST_F(SqliteStoreTest, ReplaceSecretOfARemovedApiKeyLoses) {
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

// ---- concurrency ---------------------------------------------------------------------------

// Several threads create and read their own users' rows at once; with `max_connections` below
// the thread count, callers also queue for connections.
void RunConcurrentWorkload(const std::string& path, std::size_t max_connections) {
  SqliteStoreOptions options;
  options.max_connections = max_connections;
  auto opened = SqliteStore::Open(path, options);
  ASSERT_OK(opened);
  std::shared_ptr<SqliteStore> store = *opened;

  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what, const Status& status) {
    std::lock_guard lock(mu);
    failures.push_back(what + ": " + status.ToString());
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string u = "u" + std::to_string(t) + "-" + std::to_string(i);
        if (Status s = store->CreateUser(MakeUser(u, i)); !s.ok()) fail("CreateUser " + u, s);
        if (Status s = store->CreateProvider(MakeProvider("p-" + u, u, "openai", i)); !s.ok()) {
          fail("CreateProvider " + u, s);
        }
        if (Status s = store->CreateUserContainer(MakeUserContainer("c-" + u, u, "h-" + u, i));
            !s.ok()) {
          fail("CreateUserContainer " + u, s);
        }
        if (Status s = store->UpsertAgentConfig({u, "openai/gpt-4o", i, i}); !s.ok()) {
          fail("UpsertAgentConfig " + u, s);
        }
        if (auto r = store->GetUser(u); !r.ok()) fail("GetUser " + u, r.status());
        if (auto r = store->LoadAgentConfigSource("h-" + u);
            !r.ok() || r->container.id != "c-" + u) {
          fail("LoadAgentConfigSource " + u, r.status());
        }
        if (auto r = store->ListProviders(u, true); !r.ok() || r->size() != 1) {
          fail("ListProviders " + u, r.status());
        }
        if (auto r = store->GetAgentConfig(u); !r.ok()) fail("GetAgentConfig " + u, r.status());
        if (auto r = store->ListUsers(); !r.ok()) fail("ListUsers", r.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, IsEmpty());

  auto users = store->ListUsers();
  ASSERT_OK(users);
  EXPECT_EQ(users->size(), static_cast<std::size_t>(kThreads * kPerThread));
  auto containers = store->ListUserContainers();
  ASSERT_OK(containers);
  EXPECT_EQ(containers->size(), static_cast<std::size_t>(kThreads * kPerThread));
  auto secrets = store->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_EQ(secrets->size(), static_cast<std::size_t>(2 * kThreads * kPerThread));
}

TEST(SqliteStoreConcurrency, ParallelCreatesAndReadsLoseNothing) {
  berth::testing::TempDir dir;
  RunConcurrentWorkload(dir.File("berth.db"), 8);
}

TEST(SqliteStoreConcurrency, CallersQueueForASmallPool) {
  berth::testing::TempDir dir;
  RunConcurrentWorkload(dir.File("berth.db"), 2);
}

TEST(SqliteStoreConcurrency, ParallelDeletesCascadeOnEveryConnection) {
  berth::testing::TempDir dir;
  auto opened = SqliteStore::Open(dir.File("berth.db"));
  ASSERT_OK(opened);
  std::shared_ptr<SqliteStore> store = *opened;
  constexpr int kUsers = 64;
  for (int i = 0; i < kUsers; ++i) {
    const std::string u = "u" + std::to_string(i);
    ASSERT_OK(store->CreateUser(MakeUser(u)));
    ASSERT_OK(store->CreateProvider(MakeProvider("p-" + u, u, "openai")));
    ASSERT_OK(store->CreateUserContainer(MakeUserContainer("c-" + u, u, "h-" + u)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kUsers; i += 4) {
        if (!store->DeleteUser("u" + std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto containers = store->ListUserContainers();
  ASSERT_OK(containers);
  EXPECT_THAT(*containers, IsEmpty());
  auto secrets = store->ListSecrets();
  ASSERT_OK(secrets);
  EXPECT_THAT(*secrets, IsEmpty());
}

}  // namespace
}  // namespace berth::store
