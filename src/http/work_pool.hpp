#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace berth::http {

// Threads that run the blocking part of requests (store reads and writes, JSON trees) away from
// the event loops that serve every socket, fairly among callers: jobs carry a key (the caller:
// a user, an admin, a peer address), at most `per_key_running` jobs of one key run at once, and
// keys with work take turns. So one caller with a thousand heavy requests holds at most that many
// workers while everyone else's requests go on (ARCHITECTURE.md, "Trust boundaries": users are
// not trusted to be gentle).
//
// Bounded: at most `per_key_queued` waiting jobs per key and `max_queued` in all; Submit()
// refuses beyond (the caller answers 429). Thread-safe. The destructor lets running jobs finish,
// drops queued ones unrun (destroying them: a job's owner learns it never ran from its
// destructor, see RunOnPool in http/offload.hpp) and joins the workers.
class WorkPool {
 public:
  struct Options {
    int threads = 4;
    std::size_t per_key_running = 2;
    std::size_t per_key_queued = 64;
    std::size_t max_queued = 4096;
  };

  explicit WorkPool(Options options);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Lets running jobs finish, drops the queued ones unrun, joins the workers; later Submit()s
  // are refused. Idempotent; the destructor calls it.
  void Shutdown();

  // Queues `job` to run on a worker. false (and `job` dropped unrun) when the key's queue or the
  // whole queue is full, or the pool is shutting down.
  bool Submit(const std::string& key, std::function<void()> job);

  const Options& options() const { return options_; }

 private:
  struct KeyState {
    std::deque<std::function<void()>> queued;
    std::size_t running = 0;
    bool in_turns = false;  // listed in turns_
  };

  void Work();
  // REQUIRES: mu_ held. Lists `key` for a turn when it has queued work and room to run.
  void OfferTurn(const std::string& key, KeyState& state);

  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, KeyState> keys_;  // guarded by mu_; only keys with work
  std::deque<std::string> turns_;                   // guarded by mu_: keys ready to run, in turn
  std::size_t queued_ = 0;                          // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace berth::http
