#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "store/store.hpp"

namespace berth::service {

// Gathers the agent-config lookups (token hash → AgentConfigSource) that arrive together into one
// store round trip (Store::LoadAgentConfigSources). On PostgreSQL a round trip, not the rows,
// is what a lookup costs (the backend's and berth's CPU per statement, a thread woken per
// answer): with many agents asking at once, one statement serves them all. One lookup alone
// goes at once, as before: a thread that finds work takes everything queued, up to max_batch.
//
// Bounded: at most max_queued lookups wait; beyond, Lookup() answers kResourceExhausted at once.
// Thread-safe. Stop() lets the running batches finish (their callbacks run), drops the queued
// lookups unanswered (their callbacks are destroyed unrun, as WorkPool's jobs: the owner of an
// awaiting coroutine learns it from the destructor) and joins; the destructor calls it.
class ConfigBatcher {
 public:
  using Found = Result<std::optional<store::AgentConfigSource>>;  // nullopt: no such token
  using Done = std::function<void(Found)>;

  struct Options {
    int threads = 2;  // batches in flight at once
    std::size_t max_batch = 128;
    std::size_t max_queued = 4096;
  };

  ConfigBatcher(store::StorePtr store, Options options);
  ~ConfigBatcher();
  ConfigBatcher(const ConfigBatcher&) = delete;
  ConfigBatcher& operator=(const ConfigBatcher&) = delete;

  // Looks `token_hash` up; `done` runs once, on a batcher thread, or inline when refused.
  void Lookup(std::string token_hash, Done done);

  void Stop();

 private:
  struct Pending {
    std::string token_hash;
    Done done;
  };

  void Work();

  store::StorePtr store_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace berth::service
