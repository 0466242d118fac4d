// The change feed between replicas (service/change_feed.hpp) over real SQLite: two feeds on one
// database stand for two replicas.
#include "service/change_feed.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "service/accounts.hpp"
#include "service_fixture.hpp"

namespace berth::service {
namespace {

class ChangeFeedTest : public berth::testing::ServiceTest {
 protected:
  // Replica B: its own token cache (a minute), following the feed as the wiring does, after its
  // first poll.
  struct Replica {
    std::shared_ptr<AccountService> accounts;
    std::unique_ptr<ChangeFeed> feed;
  };
  Replica OtherReplica() {
    Replica b{
        std::make_shared<AccountService>(store_, clock_, std::nullopt, std::chrono::minutes(1)),
        std::make_unique<ChangeFeed>(store_)};
    auto accounts = b.accounts;
    b.feed->On(ChangeFeed::kUserDeleted,
               [accounts](const std::string& id) { accounts->ForgetTokensOf(id); });
    b.feed->On(ChangeFeed::kTokenRevoked,
               [accounts](const std::string& id) { accounts->ForgetToken(id); });
    EXPECT_TRUE(b.feed->Poll().ok());
    return b;
  }
  std::vector<std::string> heard_;
};

TEST_F(ChangeFeedTest, AChangePublishedByOneReplicaIsHandledOnceByAnother) {
  ChangeFeed mine(store_);
  ChangeFeed theirs(store_);
  ASSERT_TRUE(store_->PublishChange(ChangeFeed::kUserDeleted, "before-start").ok());
  theirs.On(ChangeFeed::kUserDeleted, [this](const std::string& s) { heard_.push_back(s); });
  theirs.On(ChangeFeed::kTokenRevoked,
            [this](const std::string& s) { heard_.push_back("token " + s); });
  ASSERT_TRUE(theirs.Poll().ok());  // the first poll handles the overlap's changes too
  EXPECT_EQ(heard_, (std::vector<std::string>{"before-start"}));
  heard_.clear();

  mine.Publish(ChangeFeed::kUserDeleted, "u1");
  mine.Publish(ChangeFeed::kTokenRevoked, "t1");
  mine.Publish(ChangeFeed::kAgentChanged, "u2");  // nobody listens to it there
  ASSERT_TRUE(theirs.Poll().ok());
  EXPECT_EQ(heard_, (std::vector<std::string>{"u1", "token t1"}));
  ASSERT_TRUE(theirs.Poll().ok());  // read again within the overlap, handled once
  EXPECT_EQ(heard_.size(), 2u);
}

TEST_F(ChangeFeedTest, AUserDeletedOnOneReplicaLeavesTheOthersTokenCache) {
  // Replica B caches tokens for a minute; replica A deletes the user.
  auto [b, feed_b] = OtherReplica();

  auto created = accounts_->CreateUser({"bob", std::nullopt, std::nullopt});
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(b->Authenticate(created->token).ok());  // cached on B
  ASSERT_TRUE(accounts_->DeleteUser(created->user.id).ok());
  EXPECT_TRUE(b->Authenticate(created->token).ok());  // B's cache, until B hears of it
  ASSERT_TRUE(feed_b->Poll().ok());
  EXPECT_EQ(b->Authenticate(created->token).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(ChangeFeedTest, ATokenRevokedOnOneReplicaLeavesTheOthersTokenCache) {
  auto [b, feed_b] = OtherReplica();

  auto created = accounts_->CreateUser({"carol", std::nullopt, std::nullopt});
  ASSERT_TRUE(created.ok());
  auto second = accounts_->IssueUserToken(created->user.id);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(b->Authenticate(*second).ok());  // cached on B
  auto tokens = accounts_->ListUserTokens(created->user.id);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  ASSERT_TRUE(accounts_->RevokeUserToken(created->user.id, tokens->back().id).ok());
  EXPECT_TRUE(b->Authenticate(*second).ok());  // B's cache, until B hears of it
  ASSERT_TRUE(feed_b->Poll().ok());
  EXPECT_EQ(b->Authenticate(*second).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(b->Authenticate(created->token).ok());  // the other token still serves
}

}  // namespace
}  // namespace berth::service
