// The Store contract, checked against every backend with the same assertions (part 1: users,
// api tokens, providers, agent config; part 2 in store_containers_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
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

// ---- users ---------------------------------------------------------------------------------

TEST_P(StoreContractTest, PingAnswers) { EXPECT_OK(store_->Ping()); }

TEST_P(StoreContractTest, CreateAndGetUserRoundTrips) {
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

TEST_P(StoreContractTest, CreateUserTwiceIsAlreadyExists) {
  ASSERT_OK(store_->CreateUser(MakeUser("u1")));
  Status again = store_->CreateUser(MakeUser("u1", 5000));
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "user 'u1' already exists");
}

TEST_P(StoreContractTest, GetMissingUserIsNotFound) {
  auto got = store_->GetUser("nobody");
  EXPECT_CODE(got, kNotFound);
  EXPECT_EQ(got.status().message(), "user not found");
}

TEST_P(StoreContractTest, ListUsersIsOldestFirstWithInsertionOrderTiebreak) {
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

TEST_P(StoreContractTest, DeleteMissingUserIsNotFound) {
  Status deleted = store_->DeleteUser("nobody");
  EXPECT_EQ(deleted.code(), ErrorCode::kNotFound);
  EXPECT_EQ(deleted.message(), "user not found");
}

TEST_P(StoreContractTest, DeleteUserCascadesToEverythingTheUserOwns) {
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

TEST_P(StoreContractTest, ApiTokenRoundTripsForUserAndAdmin) {
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

TEST_P(StoreContractTest, AdminTokenWithEmptyUserIdIsStoredWithoutOne) {
  ApiToken admin = MakeAdminToken("t1", "hash-admin");
  admin.user_id = "";
  ASSERT_OK(store_->CreateApiToken(admin));
  auto found = store_->FindApiTokenByHash("hash-admin");
  ASSERT_OK(found);
  EXPECT_EQ(found->user_id, std::nullopt);
}

TEST_P(StoreContractTest, FindUnknownApiTokenIsNotFound) {
  auto found = store_->FindApiTokenByHash("no-such-hash");
  EXPECT_CODE(found, kNotFound);
  EXPECT_EQ(found.status().message(), "api token not found");
}

TEST_P(StoreContractTest, HasAdminTokenOnlyOnceAnAdminTokenExists) {
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

TEST_P(StoreContractTest, DuplicateApiTokenIdOrHashIsAlreadyExists) {
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

TEST_P(StoreContractTest, ApiTokenForMissingUserIsNotFound) {
  Status created = store_->CreateApiToken(MakeUserToken("t1", "ghost", "hash-1"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
  EXPECT_CODE(store_->FindApiTokenByHash("hash-1"), kNotFound);
}

TEST_P(StoreContractTest, ApiTokenRoleAndUserIdMustAgree) {
  CreateTwoUsers();
  ApiToken user_without_user = MakeUserToken("t1", "u1", "hash-1");
  user_without_user.user_id.reset();
  EXPECT_CODE(store_->CreateApiToken(user_without_user), kInvalidArgument);
  ApiToken admin_with_user = MakeAdminToken("t2", "hash-2");
  admin_with_user.user_id = "u1";
  EXPECT_CODE(store_->CreateApiToken(admin_with_user), kInvalidArgument);
}

// ---- providers -----------------------------------------------------------------------------

TEST_P(StoreContractTest, ProviderRoundTripsEveryField) {
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

TEST_P(StoreContractTest, ProviderIsScopedToItsUser) {
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

TEST_P(StoreContractTest, DuplicateProviderNameForOneUserIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));

  Status same_name = store_->CreateProvider(MakeProvider("p2", "u1", "openai"));
  EXPECT_EQ(same_name.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_name.message(), "provider name 'openai' already exists for this user");
  EXPECT_THAT(same_name.message(), Not(HasSubstr("sealed-key")));

  // Names are unique per user only.
  EXPECT_OK(store_->CreateProvider(MakeProvider("p3", "u2", "openai")));
}

TEST_P(StoreContractTest, DuplicateProviderIdIsAlreadyExists) {
  CreateTwoUsers();
  ASSERT_OK(store_->CreateProvider(MakeProvider("p1", "u1", "openai")));
  Status same_id = store_->CreateProvider(MakeProvider("p1", "u2", "other"));
  EXPECT_EQ(same_id.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.message(), "provider 'p1' already exists");
}

TEST_P(StoreContractTest, ProviderForMissingUserIsNotFound) {
  Status created = store_->CreateProvider(MakeProvider("p1", "ghost", "openai"));
  EXPECT_EQ(created.code(), ErrorCode::kNotFound);
  EXPECT_EQ(created.message(), "user not found");
}

TEST_P(StoreContractTest, ListProvidersIsOldestFirstAndFiltersInactive) {
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

TEST_P(StoreContractTest, UpdateProviderReplacesMutableFields) {
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

TEST_P(StoreContractTest, UpdateProviderOntoAnExistingNameIsAlreadyExists) {
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

TEST_P(StoreContractTest, UpdateMissingProviderIsNotFound) {
  CreateTwoUsers();
  Status updated = store_->UpdateProvider(MakeProvider("nope", "u1", "openai"));
  EXPECT_EQ(updated.code(), ErrorCode::kNotFound);
  EXPECT_EQ(updated.message(), "provider not found");
}

TEST_P(StoreContractTest, DeleteProviderRemovesOnlyThatRow) {
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

TEST_P(StoreContractTest, UpsertAgentConfigInsertsThenUpdates) {
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

TEST_P(StoreContractTest, AgentConfigForMissingUserIsNotFound) {
  Status upserted = store_->UpsertAgentConfig({"ghost", "a/b", 1, 1});
  EXPECT_EQ(upserted.code(), ErrorCode::kNotFound);
  EXPECT_EQ(upserted.message(), "user not found");
}

// ---- llm usage -----------------------------------------------------------------------------

UsageRow Usage(std::string user, std::string day, std::string model, int64_t n) {
  return UsageRow{std::move(user), "p",    std::move(model), std::move(day), n,        10 * n,
                  20 * n,          30 * n, 40 * n,           5 * n,          1000 * n, n};
}

TEST_P(StoreContractTest, UsageAddsUpPerUserProviderModelAndDay) {
  CreateTwoUsers();
  ASSERT_OK(store_->AddUsage({Usage("u1", "2026-12-01", "m", 1), Usage("u2", "2026-12-01", "m", 2),
                              Usage("u1", "2026-12-02", "m", 4)}));
  // A second batch (another replica's) adds to the same rows; a deleted user's row is dropped.
  ASSERT_OK(
      store_->AddUsage({Usage("u1", "2026-12-01", "m", 3), Usage("ghost", "2026-12-01", "m", 1),
                        Usage("u1", "2026-12-01", "n", 1)}));
  auto all = store_->ListUsage({std::nullopt, "2026-12-01", "2026-12-31"});
  ASSERT_OK(all);
  EXPECT_THAT(*all,
              ElementsAre(Usage("u1", "2026-12-01", "m", 4), Usage("u1", "2026-12-01", "n", 1),
                          Usage("u2", "2026-12-01", "m", 2), Usage("u1", "2026-12-02", "m", 4)));
  auto one_day = store_->ListUsage({std::string("u1"), "2026-12-02", "2026-12-02"});
  ASSERT_OK(one_day);
  EXPECT_THAT(*one_day, ElementsAre(Usage("u1", "2026-12-02", "m", 4)));
  // Deleting a user deletes their usage.
  ASSERT_OK(store_->DeleteUser("u1"));
  auto left = store_->ListUsage({std::nullopt, "2026-01-01", "2026-12-31"});
  ASSERT_OK(left);
  EXPECT_THAT(*left, ElementsAre(Usage("u2", "2026-12-01", "m", 2)));
}

BERTH_ON_EVERY_BACKEND(StoreContractTest);

}  // namespace
}  // namespace berth::store
