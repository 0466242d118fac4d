#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/asio.hpp"
#include "lifecycle/agent_notifier.hpp"

namespace berth::proxy {

// Fans the lifecycle's agent events (AgentManager::SetObserver) out to the users watching their
// own agent (GET /api/agent/events). Publish() never blocks on a watcher: each subscription
// keeps at most `queue_limit` events, and when a watcher falls that far behind the oldest are
// dropped and the subscription is marked as having missed some (the stream then tells the
// client to re-read GET /api/agent). Thread-safe.
class AgentEventHub {
 public:
  static constexpr std::size_t kDefaultQueueLimit = 64;

  class Subscription {
   public:
    ~Subscription();
    // The events queued since the last call; waits up to `timeout` for one when there are none
    // (an empty result then). `missed` is set when events were dropped since the last call.
    // REQUIRES: on the executor given to Subscribe(); one call at a time.
    net::awaitable<std::vector<lifecycle::AgentEvent>> Next(
        std::chrono::steady_clock::duration timeout, bool* missed);
    // Ends a pending Next() at once (the watcher went away). REQUIRES: on the executor.
    void Interrupt();

   private:
    friend class AgentEventHub;
    struct Shared;
    explicit Subscription(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    std::shared_ptr<Shared> shared_;
  };

  explicit AgentEventHub(std::size_t queue_limit = kDefaultQueueLimit);
  ~AgentEventHub();

  // Events of `user_id`'s agent from now on, woken on `executor`.
  std::unique_ptr<Subscription> Subscribe(const std::string& user_id,
                                          net::any_io_executor executor);
  void Publish(const lifecycle::AgentEvent& event);
  std::size_t subscribers() const;

 private:
  struct Registry;
  std::shared_ptr<Registry> registry_;
};

}  // namespace berth::proxy
