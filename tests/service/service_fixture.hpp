#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/clock.hpp"
#include "crypto/secret_box.hpp"
#include "crypto/tokens.hpp"
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
    providers_->SetLlmGatewayUrl(kGatewayUrl);
  }

  static constexpr char kGatewayUrl[] = "http://172.17.0.1:3001/api/internal/llm";

  // The user's agent's container token (a record provisioned on first call): an agent config
  // needs one, for the agent's LLM key.
  std::string AgentToken(const std::string& uid) {
    if (auto known = agent_tokens_.find(uid); known != agent_tokens_.end()) return known->second;
    auto made = containers_->ProvisionUserContainer(uid, /*rotate=*/false);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return agent_tokens_[uid] = made.ok() ? made->token : "";
  }

  // Where the LLM gateway sends the user's agent's calls to `provider` (its real key opened).
  Result<service::ProviderService::LlmRoute> Route(const std::string& uid,
                                                   const std::string& provider) {
    auto source = containers_->AuthenticateContainer(AgentToken(uid));
    if (!source.ok()) return source.status();
    return providers_->RouteFor(*source, provider);
  }

  std::string NewUser(const std::string& name = "alice") {
    auto u = accounts_->CreateUser({name, std::nullopt, std::nullopt});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->user.id : "";
  }

  std::map<std::string, std::string> agent_tokens_;
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
