#include "service/secret_rotation.hpp"

#include "mocks/mock_store.hpp"
#include "service/service_fixture.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::_;
using ::testing::Return;

using SecretRotationTest = ServiceTest;

TEST_F(SecretRotationTest, ReencryptsUnderTheNewKeyKeepingEveryValue) {
  std::string uid = NewUser();
  service::ProviderChange c;
  c.name = std::optional<std::string>("work");
  c.type = std::optional<std::string>("openai");
  c.base_url = std::optional<std::string>("http://127.0.0.1:9/v1");
  c.api_key = std::optional<std::string>("sk-rotate-me");
  c.models = std::optional<json>(json::array({"m"}));
  ASSERT_TRUE(providers_->Create(uid, c).ok());
  auto container = containers_->ProvisionUserContainer(uid, false);
  ASSERT_TRUE(container.ok());

  auto new_keys = std::make_shared<crypto::StaticKeyProvider>(
      std::string(32, 'n'), std::vector<std::string>{std::string(32, 'k')});
  crypto::SecretBox rotated(new_keys);
  auto report = service::RotateSecrets(*store_, rotated);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->total, 2u);
  EXPECT_EQ(report->resealed, 2u);
  auto stored = store_->ListSecrets();
  ASSERT_TRUE(stored.ok());
  for (const auto& s : *stored) {
    EXPECT_EQ(crypto::SecretBox::SealedKeyId(s.value), new_keys->CurrentKey().id);
  }
  // Readable with the new key alone.
  auto only_new = std::make_shared<crypto::SecretBox>(
      std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'n')));
  service::ProviderService reader(store_, only_new, clock_);
  service::ContainerService containers(store_, only_new, providers_, clock_);
  auto source = containers.AuthenticateContainer(container->token);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(reader.RouteFor(*source, "work")->api_key, "sk-rotate-me");
  reader.SetLlmGatewayUrl(kGatewayUrl);
  auto config = reader.BuildUserConfig(uid);  // opens the container's token
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ((*config)["models"]["providers"]["work"]["apiKey"],
            crypto::AgentLlmKey(container->token));
  auto again = service::RotateSecrets(*store_, rotated);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->resealed, 0u);
  EXPECT_EQ(again->current, 2u);
}

TEST(SecretRotation, UnreadableValueIsReportedAfterConvertingTheRest) {
  MockStore store;
  crypto::SecretBox old_box(std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'o')));
  crypto::SecretBox box(std::make_shared<crypto::StaticKeyProvider>(
      std::string(32, 'n'), std::vector<std::string>{std::string(32, 'o')}));
  crypto::SecretBox stranger(std::make_shared<crypto::StaticKeyProvider>(std::string(32, 's')));
  std::vector<store::StoredSecret> secrets = {
      {store::SecretColumn::kProviderApiKey, "p1", stranger.Seal("x")},
      {store::SecretColumn::kProviderApiKey, "p2", old_box.Seal("y")}};
  EXPECT_CALL(store, ListSecrets()).WillOnce(Return(secrets));
  EXPECT_CALL(store, ReplaceSecret(_, _)).WillOnce(Return(true));
  auto report = service::RotateSecrets(store, box);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(report.status().message().find("row p1"), std::string::npos);
}

TEST(SecretRotation, LostCompareAndSwapIsRetried) {
  MockStore store;
  crypto::SecretBox old_box(std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'o')));
  crypto::SecretBox box(std::make_shared<crypto::StaticKeyProvider>(
      std::string(32, 'n'), std::vector<std::string>{std::string(32, 'o')}));
  store::StoredSecret s{store::SecretColumn::kUserContainerToken, "c1", old_box.Seal("t")};
  store::StoredSecret changed{store::SecretColumn::kUserContainerToken, "c1", old_box.Seal("t2")};
  EXPECT_CALL(store, ListSecrets())
      .WillOnce(Return(std::vector<store::StoredSecret>{s}))
      .WillOnce(Return(std::vector<store::StoredSecret>{changed}));
  EXPECT_CALL(store, ReplaceSecret(_, _)).WillOnce(Return(false)).WillOnce(Return(true));
  auto report = service::RotateSecrets(store, box);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->resealed, 1u);
}

}  // namespace
}  // namespace berth::testing
