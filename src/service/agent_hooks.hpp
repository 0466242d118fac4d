#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"

namespace berth::service {

// What the services tell whoever runs the agents (the lifecycle module implements it), so that
// the consequences of a change are decided in one place and never by an HTTP handler. Calls come
// on the thread of the service call that caused them, after the change was stored.
class AgentHooks {
 public:
  virtual ~AgentHooks() = default;
  // The inputs of the user's openclaw.json changed (a provider, the primary model): a running
  // agent gets its new config. Must not block on the engine.
  virtual void ConfigChanged(const std::string& user_id) = 0;
  // The user's container token was replaced: a running agent holds a dead token. Must not block.
  virtual void TokenRotated(const std::string& user_id) = 0;
  // The user's idle timeout is now `minutes` (0: never reaped): the reaper judges a running agent
  // by it from its next pass on. Must not block.
  virtual void IdleTimeoutChanged(const std::string& user_id, int minutes) = 0;
  // Before the user is deleted: their agent and its state go first, so that no container is left
  // holding their data. May block (an engine call). An error aborts the deletion.
  virtual Status RemovingUser(const std::string& user_id) = 0;
};
using AgentHooksPtr = std::weak_ptr<AgentHooks>;

}  // namespace berth::service
