#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "lifecycle/agent_status.hpp"
#include "lifecycle/start_failure.hpp"
#include "store/records.hpp"

namespace berth::lifecycle {

// A start or state change, for observers (progress streams, metrics).
struct AgentEvent {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string owner;
  AgentStatus status = AgentStatus::kStopped;
  std::string phase;
  std::string error;
  // On the event that ends a start (status running or failed): how long it took, in seconds;
  // negative on every other event.
  double start_seconds = -1;
  // On the event that ends a failed start: why it failed.
  std::optional<StartFailure> failure = std::nullopt;
  // Running, frozen while idle (Reaper): the engine's pause, seen on its event stream.
  bool paused = false;
};

// Hands agent events to the one observer the wiring sets. Thread-safe; its mutex is a leaf, and
// the observer runs on the notifying thread with no lifecycle lock held.
class AgentNotifier {
 public:
  using Observer = std::function<void(const AgentEvent&)>;
  void SetObserver(Observer observer);
  void Notify(const AgentEvent& event) const;

 private:
  mutable std::mutex mu_;
  Observer observer_;  // guarded by mu_
};

}  // namespace berth::lifecycle
