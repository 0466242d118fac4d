#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/periodic_thread.hpp"
#include "store/store.hpp"

namespace berth::service {

// How a change made on one replica reaches the others (ARCHITECTURE.md, "Several replicas"):
// the store's change feed, polled. What others may hold in memory enters the feed: a deleted
// user or a revoked token by the store itself, in the deletion's own transaction (so it cannot
// be lost); an agent whose token or settings changed by Publish(). Every replica follows the
// feed and runs the handlers registered for each kind, so the change takes effect everywhere
// within one poll interval (250 ms by default) plus a store round trip.
//
// Reading: every poll reads the changes stamped in the last few seconds by the database's clock
// (an overlap, since a change can commit a little after a later-numbered one) and handles each
// change once (seen sequence numbers are remembered for the overlap). The first poll (which the
// wiring makes before serving) handles the overlap's changes too; older ones are not handled,
// since nothing was cached here before them. This replica's own changes come back too:
// handlers must be idempotent and cheap (forget a cache entry, mark an agent stale). Old
// changes are pruned every few minutes by whichever replica gets there.
//
// On SQLite (one berth) nobody needs the feed: the wiring makes none.
//
// Threads: one of its own (Start/Stop); handlers run on it, one at a time, with no lock held.
// Publish() is thread-safe and blocks on the store; a failed publish is logged (other replicas
// then learn of the change only when their own caches expire).
class ChangeFeed {
 public:
  using Handler = std::function<void(const std::string& subject)>;

  // Kinds published today.
  // These two the store enters itself, with the deletion (coordination.hpp).
  static constexpr const char* kUserDeleted = store::kChangeUserDeleted;
  static constexpr const char* kTokenRevoked = store::kChangeTokenRevoked;
  static constexpr const char* kAgentChanged = "agent_changed";    // its token: user id
  static constexpr const char* kAgentSettings = "agent_settings";  // idle timeout: user id
  static constexpr const char* kAgentPaused = "agent_paused";      // by the reaper: user id

  ChangeFeed(store::StorePtr store, std::chrono::milliseconds interval = kDefaultInterval);
  ~ChangeFeed();  // Stop()
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  void Publish(const std::string& kind, const std::string& subject);
  // Registers a handler; before Start() only.
  void On(const std::string& kind, Handler handler);

  // One poll now: reads and handles what is new. The thread calls it; tests too.
  Status Poll();
  void Start();  // idempotent; not after Stop()
  void Stop();   // idempotent

  static constexpr std::chrono::milliseconds kDefaultInterval{250};
  static constexpr int64_t kOverlapMs = 5'000;
  static constexpr int64_t kKeepMs = store::kChangeKeepMs;

 private:
  const store::StorePtr store_;
  const std::chrono::milliseconds interval_;
  std::unordered_map<std::string, std::vector<Handler>> handlers_;  // fixed after Start()

  // The poll's own state: touched by one poll at a time (poll_mu_).
  std::mutex poll_mu_;
  int64_t cursor_ms_ = -1;           // the database's clock at the last poll; -1 before it
  std::map<int64_t, int64_t> seen_;  // seq -> at_ms of changes handled within the overlap
  int64_t last_prune_ms_ = 0;

  bool failing_ = false;  // the thread's own: whether the last poll failed, to log changes once
  PeriodicThread thread_;
};

}  // namespace berth::service
