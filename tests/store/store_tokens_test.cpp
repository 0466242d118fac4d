// Token hygiene and provider caps (the store contract's newer parts), on every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers

class StoreTokensTest : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (HasFatalFailure()) return;
    CreateTwoUsers();
  }
};

TEST_P(StoreTokensTest, TokensListPerUserOrAdminOldestFirstWithTheirPrefix) {
  ApiToken a = MakeUserToken("a", "u1", "hash-a");
  a.prefix = "bu_Abcd";
  a.created_at = 2000;
  ApiToken b = MakeUserToken("b", "u1", "hash-b");
  b.created_at = 1000;
  ASSERT_OK(store_->CreateApiToken(a));
  ASSERT_OK(store_->CreateApiToken(b));
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("c", "u2", "hash-c")));
  ASSERT_OK(store_->CreateApiToken(MakeAdminToken("d", "hash-d")));

  auto mine = store_->ListApiTokens(TokenRole::kUser, std::string("u1"));
  ASSERT_OK(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, "b");
  EXPECT_EQ((*mine)[0].prefix, std::nullopt);
  EXPECT_EQ((*mine)[1].id, "a");
  EXPECT_EQ((*mine)[1].prefix, "bu_Abcd");
  auto admins = store_->ListApiTokens(TokenRole::kAdmin, std::nullopt);
  ASSERT_OK(admins);
  ASSERT_EQ(admins->size(), 1u);
  EXPECT_EQ((*admins)[0].id, "d");
  EXPECT_CODE(store_->ListApiTokens(TokenRole::kUser, std::nullopt), kInvalidArgument);

  auto got = store_->GetApiToken("a");
  ASSERT_OK(got);
  EXPECT_EQ(Tie(*got), Tie(a));
  EXPECT_EQ(store_->FindApiTokenByHash("hash-a")->prefix, "bu_Abcd");
  EXPECT_CODE(store_->GetApiToken("missing"), kNotFound);
}

TEST_P(StoreTokensTest, DeletingATokenRemovesOnlyIt) {
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("a", "u1", "hash-a")));
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("b", "u1", "hash-b")));
  ASSERT_OK(store_->DeleteApiToken("a"));
  EXPECT_CODE(store_->FindApiTokenByHash("hash-a"), kNotFound);
  EXPECT_OK(store_->FindApiTokenByHash("hash-b"));
  EXPECT_CODE(store_->DeleteApiToken("a"), kNotFound);
}

TEST_P(StoreTokensTest, TokenUseIsRaisedInOneBatchAndNeverLowered) {
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("a", "u1", "hash-a")));
  ASSERT_OK(store_->CreateApiToken(MakeUserToken("b", "u1", "hash-b")));
  ASSERT_OK(store_->RecordTokenUse({{"a", 5000}, {"b", 7000}, {"gone", 9000}}));
  EXPECT_EQ(store_->GetApiToken("a")->last_used_at, 5000);
  ASSERT_OK(store_->RecordTokenUse({{"a", 4000}, {"b", 8000}}));
  EXPECT_EQ(store_->GetApiToken("a")->last_used_at, 5000);
  EXPECT_EQ(store_->GetApiToken("b")->last_used_at, 8000);
  EXPECT_OK(store_->RecordTokenUse({}));
}

// Each round, eight racers meet at a barrier and create providers for one fresh user with a cap
// of three (after the first round every racer has a warm pooled connection, so they overlap).
TEST_P(StoreTokensTest, ACappedProviderCreationStopsAtTheCapEvenWhenRacing) {
  constexpr int kRacers = 8;
  constexpr int kCap = 3;
  constexpr int kRounds = 12;
  for (int r = 0; r < kRounds; ++r)
    ASSERT_OK(store_->CreateUser(MakeUser("r" + std::to_string(r))));
  std::atomic<int> arrived{0};
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> racers;
  for (int k = 0; k < kRacers; ++k) {
    racers.emplace_back([&, k] {
      for (int r = 0; r < kRounds; ++r) {
        ++arrived;
        while (arrived.load() < kRacers * (r + 1)) {
        }
        const std::string id = std::to_string(r) + "-" + std::to_string(k);
        Status st = store_->CreateProviderCapped(
            MakeProvider("p" + id, "r" + std::to_string(r), "n" + id), kCap);
        if (st.ok()) ++created;
        if (st.code() == ErrorCode::kResourceExhausted) ++refused;
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(created.load(), kRounds * kCap);
  EXPECT_EQ(refused.load(), kRounds * (kRacers - kCap));
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(store_->ListProviders("r" + std::to_string(r), false)->size(),
              static_cast<std::size_t>(kCap));
  }
  // Per user: u2 has its own.
  EXPECT_OK(store_->CreateProviderCapped(MakeProvider("q", "u2", "n"), kCap));
  // The name rule still holds under the cap.
  EXPECT_CODE(store_->CreateProviderCapped(MakeProvider("q2", "u2", "n"), kCap), kAlreadyExists);
}

BERTH_ON_EVERY_BACKEND(StoreTokensTest);

}  // namespace
}  // namespace berth::store
