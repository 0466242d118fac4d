#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/agent_key.hpp"
#include "lifecycle/agent_status.hpp"
#include "lifecycle/start_op.hpp"

namespace berth::lifecycle {

// What this process knows of one agent, beyond its record. Only touched through
// AgentRegistry::Locked, i.e. with the registry's lock held.
struct AgentEntry {
  std::string record_id;
  AgentStatus status = AgentStatus::kStopped;
  std::string phase;  // while starting: creating | starting | waiting_for_ready
  std::string error;  // why the last start or health check failed
  // Running and confirmed by this process while the event stream has been live: the warm path.
  bool verified = false;
  bool needs_recreate = false;  // its token changed
  bool needs_restart = false;   // failed its health checks
  int health_failures = 0;
  // Running but frozen by the engine's pause (the reaper's, or seen in events and listings):
  // status stays kRunning; the next use resumes it through a start (no warm path meanwhile).
  bool paused = false;
  bool oom_seen = false;  // the engine reported an OOM kill; the death that follows says so
  std::optional<AgentEndpoint> endpoint;
  std::string container_id;  // the engine's id of its container, when known
  // When the run this process started and saw ready began (engine time): engine events older
  // than that belong to an earlier run, such as the stop berth made before a restart.
  std::optional<std::chrono::system_clock::time_point> container_started_at;
  std::shared_ptr<StartOp> start;  // the start in flight, if any
  std::optional<int64_t> last_active_ms;
  bool activity_dirty = false;  // last_active_ms not yet flushed to the store
  int open_streams = 0;
  int idle_timeout_min = 30;
  int64_t last_push_mtime = 0;  // seconds; each config push gets a newer mtime
  // When its container's start burst ends (CpuBurst; Unix ms); unset when it has none.
  std::optional<int64_t> burst_until_ms;

  void SetStatus(AgentStatus new_status, std::string new_phase = "", std::string new_error = "") {
    status = new_status;
    phase = std::move(new_phase);
    error = std::move(new_error);
  }
  void MarkActive(int64_t now_ms) {
    last_active_ms = now_ms;
    activity_dirty = true;
  }
  // Answerable from memory: running, confirmed, nothing pending. The caller also checks that the
  // event stream is live (AgentRegistry::events_live()).
  bool Warm() const {
    return status == AgentStatus::kRunning && verified && endpoint && !needs_recreate &&
           !needs_restart && !paused;
  }
};

// The warm view: every agent this process has seen, by key, and its container's engine id back to
// the key (for engine events). Per replica, memory only; the store holds the truth that survives.
//
// Thread-safe. One mutex guards everything; hold it only through a Locked, briefly, and never
// while calling the engine, the store, an observer or a start's callback.
//
// Lock order (the whole lifecycle): AgentRegistry's lock may be taken while holding nothing, or
// before a leaf lock (WorkerPool's queue, a StartOp's wake mutex); no lifecycle lock is ever
// taken after another one except those leaves. Every other lifecycle mutex (scheduler, pusher,
// watcher, keeper, notifier) is itself a leaf and is never held while taking the registry's.
class AgentRegistry {
 public:
  using Entries = std::map<AgentKey, AgentEntry>;

  // The registry's lock, held for this object's lifetime (or until Unlock()).
  class Locked {
   public:
    // The agent's entry, made (stopped) when absent.
    AgentEntry& Get(const AgentKey& key) { return registry_->entries_[key]; }
    AgentEntry* Find(const AgentKey& key);
    void Erase(const AgentKey& key) { registry_->entries_.erase(key); }
    Entries& entries() { return registry_->entries_; }

    void BindContainer(const std::string& container_id, const AgentKey& key) {
      registry_->by_container_id_[container_id] = key;
    }
    void UnbindContainer(const std::string& container_id) {
      registry_->by_container_id_.erase(container_id);
    }
    std::optional<AgentKey> KeyOfContainer(const std::string& container_id) const;

    // Releases the lock until NotifyAll() is called and `until` holds (checked with the lock).
    void Wait(const std::function<bool()>& until) { registry_->cv_.wait(lock_, until); }
    void NotifyAll() { registry_->cv_.notify_all(); }
    void Unlock() { lock_.unlock(); }

   private:
    friend class AgentRegistry;
    explicit Locked(AgentRegistry* registry) : registry_(registry), lock_(registry->mu_) {}
    AgentRegistry* registry_;
    std::unique_lock<std::mutex> lock_;
  };

  Locked Lock() { return Locked(this); }

  // Every entry loses its verification: the next use looks at the engine again.
  void InvalidateAll();
  // The agent's container no longer matches its record (its token changed): no warm path until a
  // start has made it anew.
  void MarkStale(const AgentKey& key);
  // The agent's idle timeout changed in its record: the reaper judges it by `minutes` from now
  // on. An agent without an entry reads the record when it starts or is reconciled.
  void SetIdleTimeout(const AgentKey& key, int minutes);

  // True while the engine's event stream is subscribed: the warm path's precondition, since
  // only the stream tells this process that a running agent died.
  bool events_live() const { return events_live_.load(std::memory_order_acquire); }
  void SetEventsLive(bool live) { events_live_.store(live, std::memory_order_release); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;                       // a start finished
  Entries entries_;                                  // guarded by mu_
  std::map<std::string, AgentKey> by_container_id_;  // guarded by mu_
  std::atomic<bool> events_live_{false};
};

}  // namespace berth::lifecycle
