#include "lifecycle/agent_notifier.hpp"

namespace berth::lifecycle {

void AgentNotifier::SetObserver(Observer observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

void AgentNotifier::Notify(const AgentEvent& event) const {
  Observer observer;
  {
    std::lock_guard lock(mu_);
    observer = observer_;
  }
  if (observer) observer(event);
}

}  // namespace berth::lifecycle
