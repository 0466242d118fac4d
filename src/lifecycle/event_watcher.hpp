#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "lifecycle/agent_notifier.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Follows the engine's events about this instance's containers on a thread of its own
// (Start/Stop), keeping the warm view true: an agent that dies, is OOM-killed or removed behind
// berth's back is marked stopped or failed (in memory and in its record) and loses its warm path.
// Every replica runs it.
//
// While subscribed, AgentRegistry::events_live() is true. When the stream ends (engine restart)
// every entry loses its verification, the watcher resubscribes with backoff (200 ms doubling to
// 5 s), and after resubscribing calls `resync` (events may have been missed meanwhile).
//
// Lock order: its own mutex is a leaf (the stream's Close() is called under it; it does not
// block); AgentRegistry's lock is taken alone; the store and the notifier are called with no lock
// held. Thread-safe.
class EventWatcher {
 public:
  EventWatcher(runtime::ContainerRuntime& runtime, AgentRegistry& registry, AgentRecords& records,
               const AgentNotifier& notifier, const InstanceInfo& instance,
               std::function<void()> resync);
  ~EventWatcher();  // Stop()

  void Start();  // idempotent; not after Stop()
  void Stop();

  // Applies one event: a death (kDied, kDestroyed) of a running agent's container not caused by
  // berth; kOomKilled marks the death that follows as OOM. Others are ignored, and so are events
  // older than the container's current run (engine time; the engine can deliver them late).
  void Handle(const runtime::ContainerEvent& event);

 private:
  void Loop();
  bool WaitStopped(std::chrono::milliseconds period);  // true once Stop() was called

  runtime::ContainerRuntime& runtime_;
  AgentRegistry& registry_;
  AgentRecords& records_;
  const AgentNotifier& notifier_;
  const InstanceInfo& instance_;
  const std::function<void()> resync_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;                          // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  std::unique_ptr<runtime::EventStream> stream_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::lifecycle
