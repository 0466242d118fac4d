#include "proxy/agent_events.hpp"

#include <algorithm>

namespace berth::proxy {

struct AgentEventHub::Subscription::Shared {
  explicit Shared(net::any_io_executor executor) : wake(std::move(executor)) {}
  std::string user_id;
  std::weak_ptr<AgentEventHub::Registry> registry;
  net::steady_timer wake;  // used on its executor only
  std::mutex mu;
  std::deque<lifecycle::AgentEvent> queue;  // guarded by mu
  bool missed = false;                      // guarded by mu
};

struct AgentEventHub::Registry {
  std::size_t queue_limit = kDefaultQueueLimit;
  mutable std::mutex mu;
  std::unordered_multimap<std::string, std::shared_ptr<Subscription::Shared>> by_user;  // mu
};

AgentEventHub::AgentEventHub(std::size_t queue_limit) : registry_(std::make_shared<Registry>()) {
  registry_->queue_limit = std::max<std::size_t>(1, queue_limit);
}

AgentEventHub::~AgentEventHub() = default;

std::unique_ptr<AgentEventHub::Subscription> AgentEventHub::Subscribe(
    const std::string& user_id, net::any_io_executor executor) {
  auto shared = std::make_shared<Subscription::Shared>(std::move(executor));
  shared->user_id = user_id;
  shared->registry = registry_;
  {
    std::lock_guard lock(registry_->mu);
    registry_->by_user.emplace(user_id, shared);
  }
  return std::unique_ptr<Subscription>(new Subscription(shared));
}

AgentEventHub::Subscription::~Subscription() {
  auto registry = shared_->registry.lock();
  if (!registry) return;
  std::lock_guard lock(registry->mu);
  auto [first, last] = registry->by_user.equal_range(shared_->user_id);
  for (auto it = first; it != last; ++it) {
    if (it->second == shared_) {
      registry->by_user.erase(it);
      break;
    }
  }
}

void AgentEventHub::Publish(const lifecycle::AgentEvent& event) {
  if (event.kind != store::ContainerKind::kUser) return;
  std::vector<std::shared_ptr<Subscription::Shared>> targets;
  {
    std::lock_guard lock(registry_->mu);
    auto [first, last] = registry_->by_user.equal_range(event.owner);
    for (auto it = first; it != last; ++it) targets.push_back(it->second);
  }
  for (const auto& target : targets) {
    {
      std::lock_guard lock(target->mu);
      if (target->queue.size() >= registry_->queue_limit) {
        target->queue.pop_front();
        target->missed = true;
      }
      target->queue.push_back(event);
    }
    // The wait runs on the subscriber's executor; so does its cancellation.
    net::post(target->wake.get_executor(), [target] { target->wake.cancel(); });
  }
}

std::size_t AgentEventHub::subscribers() const {
  std::lock_guard lock(registry_->mu);
  return registry_->by_user.size();
}

void AgentEventHub::Subscription::Interrupt() { shared_->wake.cancel(); }

net::awaitable<std::vector<lifecycle::AgentEvent>> AgentEventHub::Subscription::Next(
    std::chrono::steady_clock::duration timeout, bool* missed) {
  Shared& s = *shared_;
  auto drain = [&s, missed] {
    std::lock_guard lock(s.mu);
    std::vector<lifecycle::AgentEvent> out(std::make_move_iterator(s.queue.begin()),
                                           std::make_move_iterator(s.queue.end()));
    s.queue.clear();
    *missed = std::exchange(s.missed, false);
    return out;
  };
  std::vector<lifecycle::AgentEvent> events = drain();
  if (!events.empty() || *missed) co_return events;
  // A Publish() after the drain posts its cancel to this executor, which runs only once this
  // coroutine is suspended in the wait below: no wake-up is lost.
  s.wake.expires_after(timeout);
  beast::error_code ec;
  co_await s.wake.async_wait(net::redirect_error(net::use_awaitable, ec));
  co_return drain();
}

}  // namespace berth::proxy
