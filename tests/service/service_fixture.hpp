#pragma once

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "crypto/secret_box.hpp"
#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {

// The services over a real SQLite file in a temp dir.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenStore("sqlite://" + dir_.File("berth.db"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = *opened;
    keys_ = std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'k'));
    secrets_ = std::make_shared<crypto::SecretBox>(keys_);
    accounts_ = std::make_shared<service::AccountService>(store_, clock_, std::nullopt);
    providers_ = std::make_shared<service::ProviderService>(store_, secrets_, clock_);
    containers_ = std::make_shared<service::ContainerService>(store_, secrets_, providers_, clock_);
  }

  std::string NewUser(const std::string& name = "alice") {
    auto u = accounts_->CreateUser({name, std::nullopt, std::nullopt});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->user.id : "";
  }

  TempDir dir_;
  ClockPtr clock_ = std::make_shared<SystemClock>();
  store::StorePtr store_;
  crypto::KeyProviderPtr keys_;
  std::shared_ptr<crypto::SecretBox> secrets_;
  std::shared_ptr<service::AccountService> accounts_;
  std::shared_ptr<service::ProviderService> providers_;
  std::shared_ptr<service::ContainerService> containers_;
};

}  // namespace berth::testing
