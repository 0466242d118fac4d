#include "lifecycle/agent_hooks_impl.hpp"

namespace berth::lifecycle {

void AgentHooksImpl::ConfigChanged(const std::string& user_id) {
  auto agents = agents_.lock();
  if (agents && agents->initialized()) agents->ConfigChanged(user_id);
}

void AgentHooksImpl::TokenRotated(const std::string& user_id) {
  // Known agents are forgotten even before the engine answers: the next start recreates it.
  if (auto agents = agents_.lock()) agents->InvalidateAgent(user_id);
  // Other replicas' warm views hold the old token as well.
  if (feed_) feed_->Publish(service::ChangeFeed::kAgentChanged, user_id);
}

Status AgentHooksImpl::RemovingUser(const std::string& user_id) {
  auto agents = agents_.lock();
  if (!agents || !agents->initialized()) return Status::Ok();
  return agents->RemoveAgent(user_id);
}

}  // namespace berth::lifecycle
