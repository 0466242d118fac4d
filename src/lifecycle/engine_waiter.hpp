#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "lifecycle/agent_manager.hpp"

namespace berth::lifecycle {

// Brings the lifecycle up once the container engine answers, so that berth serves its API at
// once and an engine that is down at start (or restarting) is waited for: on a thread of its own,
// AgentManager::Initialize() every `retry` until it succeeds (a warning on the first failure and
// every 30th after), then AgentManager::Start(). Until then agent operations answer 503
// (AgentManager::initialized()).
//
// Start()/Stop(): Stop() ends the wait at once (an Initialize() in progress finishes first) and
// joins; the caller stops the manager afterwards. Thread-safe; the manager must outlive it.
class EngineWaiter {
 public:
  EngineWaiter(AgentManager& agents, std::chrono::milliseconds retry = std::chrono::seconds(2))
      : agents_(agents), retry_(retry) {}
  ~EngineWaiter() { Stop(); }
  EngineWaiter(const EngineWaiter&) = delete;
  EngineWaiter& operator=(const EngineWaiter&) = delete;

  void Start();
  void Stop();

 private:
  void Wait();

  AgentManager& agents_;
  const std::chrono::milliseconds retry_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::lifecycle
