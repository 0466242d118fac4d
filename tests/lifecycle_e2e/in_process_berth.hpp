#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "crypto/key_provider.hpp"
#include "crypto/secret_box.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "lifecycle/agent_hooks_impl.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "llm/provider_client.hpp"
#include "service/accounts.hpp"
#include "store/store.hpp"
#include "support/berth_process.hpp"

namespace berth::testing {

// berth's lifecycle wired in-process as `berth serve` wires it, for tests that must count engine
// calls, drive time or restart the engine: the services over a real SQLite file, an AgentManager
// on the given runtime, and the internal agent-config endpoint served on the agent network's
// gateway (where containers fetch their config). Header-only; link berth_http and
// berth_lifecycle.
class InProcessBerth {
 public:
  InProcessBerth(const std::string& db_path, ClockPtr clock) : clock_(std::move(clock)) {
    auto opened = store::OpenStore("sqlite://" + db_path);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store_ = *opened;
    secrets_ = std::make_shared<crypto::SecretBox>(
        std::make_shared<crypto::StaticKeyProvider>(std::string(32, 'k')));
    accounts_ = std::make_shared<service::AccountService>(store_, clock_, std::nullopt);
    providers_ = std::make_shared<service::ProviderService>(store_, secrets_, clock_);
    containers_ = std::make_shared<service::ContainerService>(store_, secrets_, providers_, clock_);
    // The LLM gateway, as `berth serve` has it, reaching the tests' fake providers.
    auto policy =
        llm::DestinationPolicy::Create({.allow = llm::SplitAllowList(kTestProviderAllow)});
    auto tls = llm::ProviderClient::SystemTlsContext();
    EXPECT_TRUE(policy.ok() && tls.ok());
    if (policy.ok() && tls.ok()) {
      llm_client_ = std::make_shared<llm::ProviderClient>(std::move(*policy), *tls);
    }
  }
  ~InProcessBerth() { Stop(); }

  // Builds, initializes and starts the manager, and waits for its event stream.
  lifecycle::AgentManager& Start(const lifecycle::LifecycleOptions& options,
                                 runtime::ContainerRuntimePtr runtime) {
    manager_ = std::make_shared<lifecycle::AgentManager>(
        options, store_, std::move(runtime), containers_, providers_, secrets_,
        std::make_shared<lifecycle::HttpGatewayProbe>(), clock_);
    hooks_ = std::make_shared<lifecycle::AgentHooksImpl>(manager_);
    accounts_->SetAgentHooks(hooks_);
    providers_->SetAgentHooks(hooks_);
    containers_->SetAgentHooks(hooks_);
    http::RegisterInternalRoutes(internal_router_, services());
    manager_->SetApiUrlResolver([this](const runtime::NetworkInfo& net) -> Result<std::string> {
      http::ServerOptions so;
      so.host = net.gateway;
      so.port = 0;
      so.threads = 1;
      internal_ = std::make_unique<http::Server>(so, internal_router_);
      BERTH_RETURN_IF_ERROR(internal_->Listen());
      internal_thread_ = std::thread([this] { internal_->Run(); });
      return "http://" + net.gateway + ":" + std::to_string(internal_->port()) + "/api";
    });
    Status initialized = manager_->Initialize();
    EXPECT_TRUE(initialized.ok()) << initialized.ToString();
    manager_->Start();
    for (int i = 0; i < 500 && !manager_->events_live(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(manager_->events_live());
    return *manager_;
  }

  // Stops the manager's loops, then the internal endpoint. Idempotent.
  void Stop() {
    if (manager_) manager_->Stop();
    if (internal_) internal_->Stop();
    if (llm_client_) llm_client_->CloseIdle();  // while the server's io_contexts still exist
    if (internal_thread_.joinable()) internal_thread_.join();
  }

  std::string NewUser(const std::string& name) {
    auto u = accounts_->CreateUser({name, std::nullopt, std::nullopt});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->user.id : "";
  }

  http::ApiServices services() const {
    http::ApiServices s;
    s.store = store_;
    s.accounts = accounts_;
    s.providers = providers_;
    s.containers = containers_;
    s.agents = manager_;
    s.llm_client = llm_client_;
    return s;
  }
  const store::StorePtr& store() const { return store_; }
  lifecycle::AgentManager& manager() { return *manager_; }
  bool started() const { return manager_ != nullptr; }

 private:
  ClockPtr clock_;
  store::StorePtr store_;
  std::shared_ptr<crypto::SecretBox> secrets_;
  std::shared_ptr<service::AccountService> accounts_;
  std::shared_ptr<service::ProviderService> providers_;
  std::shared_ptr<service::ContainerService> containers_;
  std::shared_ptr<lifecycle::AgentManager> manager_;
  std::shared_ptr<lifecycle::AgentHooksImpl> hooks_;
  std::shared_ptr<llm::ProviderClient> llm_client_;
  http::Router internal_router_;
  std::unique_ptr<http::Server> internal_;
  std::thread internal_thread_;
};

}  // namespace berth::testing
