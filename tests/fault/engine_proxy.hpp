#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

// A proxy in front of the container engine's unix socket, for engine faults: it passes bytes on
// as they are, and on command delays every answer, holds one kind of request (before the engine
// sees it, or after the engine acted and before berth hears of it), or vanishes (every connection
// cut, nothing listening) and comes back. A thread per connection; all end in the destructor,
// which also removes the socket file.
class EngineProxy {
 public:
  enum class Hold { kBeforeEngine, kAfterEngine };

  // Listens on `socket_path`, forwards to the engine at `engine_path` (both unix socket paths).
  EngineProxy(std::string socket_path, std::string engine_path);
  ~EngineProxy();
  EngineProxy(const EngineProxy&) = delete;
  EngineProxy& operator=(const EngineProxy&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  std::string docker_host() const { return "unix://" + socket_path_; }

  // Each answer's first bytes wait this long before they are passed on.
  void SetDelay(std::chrono::milliseconds delay);
  // A request whose request line contains `needle` stops (see Hold) until Release() or Vanish().
  void HoldRequests(const std::string& needle, Hold when);
  // Waits until a request is held; false when none was within `timeout`.
  bool WaitHeld(std::chrono::milliseconds timeout);
  // Lets held traffic go and holds nothing more.
  void Release();
  // Cuts every connection (held ones without passing anything on) and stops listening.
  void Vanish();
  // Listens again after Vanish().
  bool Return();

 private:
  bool Listen();
  void Accept(int listen_fd);
  void Pump(int client);
  // Blocks while `needle` holding applies; false when the connection must end instead.
  bool WaitWhileHeld(std::unique_lock<std::mutex>& lock);

  const std::string socket_path_;
  const std::string engine_path_;
  std::atomic<int> listen_fd_{-1};
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds delay_{0};  // guarded by mu_
  std::string needle_;                  // guarded by mu_; empty: hold nothing
  Hold when_ = Hold::kBeforeEngine;     // guarded by mu_
  int held_ = 0;                        // guarded by mu_: connections holding now
  long generation_ = 0;                 // guarded by mu_: bumped by Vanish()
  std::set<int> fds_;                   // guarded by mu_: open sockets, cut by Vanish()
  std::vector<std::thread> threads_;    // guarded by mu_
};

}  // namespace berth::testing
