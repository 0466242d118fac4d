#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::lifecycle {

// A fixed set of threads, made once and kept, running submitted tasks in order from a bounded
// queue (STYLE.md rule 9): the lifecycle's starts and health probes, instead of a thread per
// start or per sweep.
//
// Thread-safe. The queue's mutex is a leaf: tasks run with no lock held, and a caller may submit
// while holding another lock (AgentRegistry's). A task that throws is logged and dropped; the
// thread keeps serving.
class WorkerPool {
 public:
  // `name` (≤ 15 chars) names the threads; `threads` ≥ 1; at most `queue_limit` tasks wait.
  WorkerPool(std::string name, int threads, std::size_t queue_limit);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues the task; false (and the task is dropped) when the queue is full or the pool is shut
  // down. Never blocks on the queue.
  bool TrySubmit(std::function<void()> task);

  // Runs fn(0) … fn(n-1) on the calling thread and up to threads() pool threads, each index once;
  // returns when every call has returned. When the pool is busy or shut down, the caller does
  // the rest itself. REQUIRES: not called from one of this pool's threads.
  void RunParallel(std::size_t n, const std::function<void(std::size_t)>& fn);

  // Runs what is queued, then joins the threads; later submissions are refused. Idempotent.
  // REQUIRES: not called from one of this pool's threads.
  void Shutdown();

  int threads() const { return static_cast<int>(thread_count_); }

 private:
  void Serve();

  const std::string name_;
  const std::size_t queue_limit_;
  const std::size_t thread_count_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool shutting_down_ = false;               // guarded by mu_
  std::mutex join_mu_;                       // serializes Shutdown()'s joins; a leaf
  std::vector<std::thread> threads_;
};

}  // namespace berth::lifecycle
