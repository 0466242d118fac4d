// Handler-level checks that need a store failure the real backend cannot be made to produce on
// demand. Everything else about the API is covered end to end in tests/e2e.

#include "http/api.hpp"

#include <gtest/gtest.h>

#include "mocks/mock_store.hpp"

namespace berth::http {
namespace {

using ::testing::Return;

struct Api {
  std::shared_ptr<testing::MockStore> store = std::make_shared<testing::MockStore>();
  Router router;

  Api() {
    auto clock = std::make_shared<SystemClock>();
    auto secrets = std::make_shared<crypto::SecretBox>(
        std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'k')));
    ApiServices services;
    services.store = store;
    services.accounts = std::make_shared<service::AccountService>(store, clock, std::nullopt);
    services.providers = std::make_shared<service::ProviderService>(store, secrets, clock);
    services.containers =
        std::make_shared<service::ContainerService>(store, secrets, services.providers, clock);
    RegisterApiRoutes(router, services);
  }

  Response Get(const std::string& target, const std::string& token = "") {
    Request request;
    request.raw.method(bhttp::verb::get);
    request.raw.target(target);
    if (!token.empty()) request.raw.set(bhttp::field::authorization, "Bearer " + token);
    request.path = target;
    return router.Dispatch(request);
  }
};

TEST(ApiReadiness, Is503WhenTheStoreDoesNotAnswer) {
  Api api;
  EXPECT_CALL(*api.store, Ping()).WillOnce(Return(Unavailable("database is locked")));
  Response r = api.Get("/api/ready");
  EXPECT_EQ(r.result(), bhttp::status::service_unavailable);
  auto body = nlohmann::json::parse(r.body());
  EXPECT_EQ(body["error"]["code"], "unavailable");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("store"), std::string::npos);
}

TEST(ApiReadiness, Is200WhenItDoes) {
  Api api;
  EXPECT_CALL(*api.store, Ping()).WillOnce(Return(Status::Ok()));
  EXPECT_EQ(api.Get("/api/ready").result(), bhttp::status::ok);
}

TEST(ApiAuth, StoreOutageDuringAuthenticationIs503NotA401) {
  Api api;
  EXPECT_CALL(*api.store, FindApiTokenByHash(::testing::_))
      .WillOnce(Return(Unavailable("database is locked")));
  Response r = api.Get("/api/me", "bu_whatever");
  EXPECT_EQ(r.result(), bhttp::status::service_unavailable);
}

}  // namespace
}  // namespace berth::http
