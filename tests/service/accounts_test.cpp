#include "service/accounts.hpp"

#include <chrono>

#include "mocks/fake_clock.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {
namespace {

using AccountServiceTest = ServiceTest;

TEST_F(AccountServiceTest, CreatedUserTokenAuthenticatesAsThatUser) {
  auto created = accounts_->CreateUser({"alice", std::string("a@example.com"), std::nullopt});
  ASSERT_TRUE(created.ok());
  auto who = accounts_->Authenticate(created->token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->role, service::Role::kUser);
  EXPECT_EQ(who->user_id, created->user.id);
  EXPECT_TRUE(service::AccountService::ValidateUserId(created->user.id).ok()) << created->user.id;
}

TEST_F(AccountServiceTest, UnknownOrEmptyTokensAreUnauthenticated) {
  NewUser();
  for (std::string_view t : {"", "bu_nope", "ba_nope"}) {
    auto who = accounts_->Authenticate(t);
    ASSERT_FALSE(who.ok());
    EXPECT_EQ(who.status().code(), ErrorCode::kUnauthenticated);
  }
}

TEST_F(AccountServiceTest, ConfiguredAdminTokenAndBootstrap) {
  service::AccountService with_env(store_, clock_, std::string(40, 'z'));
  auto admin = with_env.Authenticate(std::string(40, 'z'));
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->role, service::Role::kAdmin);
  auto none = with_env.BootstrapAdminToken();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << "no bootstrap token when one is configured";

  auto first = accounts_->BootstrapAdminToken();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->rfind("ba_", 0), 0u);
  auto who = accounts_->Authenticate(**first);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->role, service::Role::kAdmin);
  auto second = accounts_->BootstrapAdminToken();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value()) << "bootstrap happens once";
}

TEST_F(AccountServiceTest, Validation) {
  EXPECT_FALSE(accounts_->CreateUser({"", std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(accounts_->CreateUser({std::string(201, 'n'), std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(accounts_->CreateUser({"a", std::string("no-at"), std::nullopt}).ok());
  EXPECT_FALSE(accounts_->CreateUser({"a", std::nullopt, std::string("has space")}).ok());
  EXPECT_FALSE(accounts_->CreateUser({"a", std::nullopt, std::string("_x")}).ok());
  EXPECT_FALSE(accounts_->CreateUser({"a", std::nullopt, std::string(65, 'x')}).ok());
  EXPECT_TRUE(accounts_->CreateUser({"a", std::nullopt, std::string("Ok.id_1-x")}).ok());
  auto dup = accounts_->CreateUser({"b", std::nullopt, std::string("Ok.id_1-x")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), ErrorCode::kAlreadyExists);
}

TEST_F(AccountServiceTest, ExtraTokensAndDeletion) {
  std::string id = NewUser();
  auto extra = accounts_->IssueUserToken(id);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(accounts_->Authenticate(*extra).ok());
  EXPECT_EQ(accounts_->IssueUserToken("ghost").status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(accounts_->DeleteUser(id).ok());
  EXPECT_EQ(accounts_->Authenticate(*extra).status().code(), ErrorCode::kUnauthenticated);
}

// With the token cache: a resolved token is served from memory (the database is not asked
// again: here it cannot be, its row is gone), until the TTL runs out; deleting the user through
// the service forgets at once.
TEST_F(AccountServiceTest, TokenCacheServesWithinTheTtlAndForgetsDeletedUsers) {
  auto clock = std::make_shared<FakeClock>();
  auto cached = std::make_shared<service::AccountService>(store_, clock, std::nullopt,
                                                          std::chrono::milliseconds(5000));
  auto alice = cached->CreateUser({"alice", std::nullopt, std::nullopt});
  auto bob = cached->CreateUser({"bob", std::nullopt, std::nullopt});
  ASSERT_TRUE(alice.ok() && bob.ok());
  ASSERT_TRUE(cached->Authenticate(alice->token).ok());
  ASSERT_TRUE(cached->Authenticate(bob->token).ok());

  // Deleted behind the service's back (as another berth on the same database would): still
  // known from the cache until the TTL ends, then refused.
  ASSERT_TRUE(store_->DeleteUser(bob->user.id).ok());
  auto still = cached->Authenticate(bob->token);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->user_id, bob->user.id);
  clock->Advance(std::chrono::milliseconds(5001));
  EXPECT_EQ(cached->Authenticate(bob->token).status().code(), ErrorCode::kUnauthenticated);

  // Deleted through the service: refused at once.
  ASSERT_TRUE(cached->Authenticate(alice->token).ok());
  ASSERT_TRUE(cached->DeleteUser(alice->user.id).ok());
  EXPECT_EQ(cached->Authenticate(alice->token).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, TokensAreListedWithAPrefixAndRevokedAtOnce) {
  auto clock = std::make_shared<FakeClock>();
  auto cached = std::make_shared<service::AccountService>(store_, clock, std::nullopt,
                                                          std::chrono::milliseconds(5000));
  auto alice = cached->CreateUser({"alice", std::nullopt, std::nullopt});
  ASSERT_TRUE(alice.ok());
  auto second = cached->IssueUserToken(alice->user.id);
  ASSERT_TRUE(second.ok());
  auto listed = cached->ListUserTokens(alice->user.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].prefix, alice->token.substr(0, 7));
  EXPECT_EQ((*listed)[1].prefix, second->substr(0, 7));
  EXPECT_FALSE((*listed)[0].last_used_at);

  // A use is remembered, shown before it is flushed, and flushed in one batch.
  auto who = cached->Authenticate(*second);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->token_id, (*listed)[1].id);
  const int64_t used_at = ToUnixMillis(clock->Now());
  EXPECT_EQ(cached->ListUserTokens(alice->user.id)->at(1).last_used_at, used_at);
  ASSERT_TRUE(cached->FlushTokenUse().ok());
  EXPECT_EQ(store_->GetApiToken((*listed)[1].id)->last_used_at, used_at);

  // Revoked: the cache forgets it at once; another user's token is not found.
  auto bob = cached->CreateUser({"bob", std::nullopt, std::nullopt});
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(cached->RevokeUserToken(bob->user.id, (*listed)[1].id).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(cached->RevokeUserToken(alice->user.id, (*listed)[1].id).ok());
  EXPECT_EQ(cached->Authenticate(*second).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(cached->Authenticate(alice->token).ok());
  EXPECT_EQ(cached->ListUserTokens("nobody").status().code(), ErrorCode::kNotFound);
}

TEST_F(AccountServiceTest, UsesAreNotedAtMostOnceAMinute) {
  auto clock = std::make_shared<FakeClock>();
  auto accounts = std::make_shared<service::AccountService>(store_, clock, std::nullopt);
  auto alice = accounts->CreateUser({"alice", std::nullopt, std::nullopt});
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(accounts->Authenticate(alice->token).ok());
  const int64_t first = ToUnixMillis(clock->Now());
  clock->Advance(std::chrono::seconds(30));
  ASSERT_TRUE(accounts->Authenticate(alice->token).ok());
  ASSERT_TRUE(accounts->FlushTokenUse().ok());
  const std::string id = accounts->ListUserTokens(alice->user.id)->at(0).id;
  EXPECT_EQ(store_->GetApiToken(id)->last_used_at, first);
  clock->Advance(std::chrono::seconds(31));
  ASSERT_TRUE(accounts->Authenticate(alice->token).ok());
  ASSERT_TRUE(accounts->FlushTokenUse().ok());
  EXPECT_EQ(store_->GetApiToken(id)->last_used_at, ToUnixMillis(clock->Now()));
}

TEST_F(AccountServiceTest, TheLastAdminTokenStaysUnlessTheOperatorHasOne) {
  auto bootstrap = accounts_->BootstrapAdminToken();
  ASSERT_TRUE(bootstrap.ok() && bootstrap->has_value());
  auto admins = accounts_->ListAdminTokens();
  ASSERT_TRUE(admins.ok());
  ASSERT_EQ(admins->size(), 1u);
  const std::string id = (*admins)[0].id;
  EXPECT_EQ(accounts_->RevokeAdminToken(id).code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(accounts_->Authenticate(**bootstrap).ok());
  // A user token is not an admin token.
  auto alice = accounts_->CreateUser({"alice", std::nullopt, std::nullopt});
  const std::string user_token_id = accounts_->ListUserTokens(alice->user.id)->at(0).id;
  EXPECT_EQ(accounts_->RevokeAdminToken(user_token_id).code(), ErrorCode::kNotFound);
  // With BERTH_ADMIN_TOKEN configured, the stored one may go.
  auto with_operator = std::make_shared<service::AccountService>(
      store_, clock_, std::string("operator-admin-token-0123456789abcdef"));
  ASSERT_TRUE(with_operator->RevokeAdminToken(id).ok());
  EXPECT_EQ(with_operator->Authenticate(**bootstrap).status().code(), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace berth::testing
