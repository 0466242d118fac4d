#pragma once

#include <memory>
#include <string>

#include "lifecycle/agent_manager.hpp"
#include "service/agent_hooks.hpp"
#include "service/change_feed.hpp"

namespace berth::lifecycle {

// The lifecycle's answers to what the services report (service::AgentHooks), on an AgentManager
// that may not be initialized yet (no engine): then there is no running agent to push a config
// to or to remove, and those calls do nothing. Holds the manager weakly: the services that call
// this may outlive it. Thread-safe.
class AgentHooksImpl final : public service::AgentHooks {
 public:
  // feed: where agent changes are announced to other replicas (none on SQLite).
  explicit AgentHooksImpl(std::weak_ptr<AgentManager> agents,
                          std::shared_ptr<service::ChangeFeed> feed = nullptr)
      : agents_(std::move(agents)), feed_(std::move(feed)) {}

  void ConfigChanged(const std::string& user_id) override;
  void TokenRotated(const std::string& user_id) override;
  Status RemovingUser(const std::string& user_id) override;

 private:
  std::weak_ptr<AgentManager> agents_;
  const std::shared_ptr<service::ChangeFeed> feed_;
};

}  // namespace berth::lifecycle
