#include "lifecycle/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace berth::lifecycle {
namespace {

// Holds pool threads until opened.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(WorkerPool, RunsTasksAndShutdownDrainsTheQueue) {
  std::atomic<int> ran{0};
  WorkerPool pool("test-pool", 2, 16);
  EXPECT_EQ(pool.threads(), 2);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  pool.Shutdown();
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));  // refused after shutdown
  pool.Shutdown();                               // idempotent
  EXPECT_EQ(ran, 10);
}

TEST(WorkerPool, TheQueueIsBounded) {
  Gate gate;
  WorkerPool pool("test-pool", 1, 2);
  std::atomic<bool> busy{false};
  ASSERT_TRUE(pool.TrySubmit([&] {
    busy = true;
    gate.Wait();
  }));
  while (!busy) std::this_thread::yield();  // the one thread is held; the queue is empty
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));  // third waiting task: refused, not queued
  gate.Open();
}

TEST(WorkerPool, ATaskThatThrowsDoesNotEndItsThread) {
  std::atomic<int> ran{0};
  WorkerPool pool("test-pool", 1, 4);
  ASSERT_TRUE(pool.TrySubmit([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  pool.Shutdown();
  EXPECT_EQ(ran, 1);
}

TEST(WorkerPool, RunParallelCallsEachIndexOnceOnTheSameThreadsEveryTime) {
  WorkerPool pool("test-pool", 3, 8);
  std::mutex mu;
  std::set<std::thread::id> threads;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::atomic<int>> calls(100);
    pool.RunParallel(calls.size(), [&](std::size_t i) {
      ++calls[i];
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    });
    for (const auto& c : calls) ASSERT_EQ(c.load(), 1);
  }
  // The pool's three threads and the caller, across all rounds: no thread per round.
  EXPECT_LE(threads.size(), 4u);
}

TEST(WorkerPool, RunParallelUsesUpToThreadsPlusTheCaller) {
  WorkerPool pool("test-pool", 3, 8);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  pool.RunParallel(8, [&](std::size_t) {
    const int now = ++inside;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // overlap, not a timeout
    --inside;
  });
  EXPECT_LE(most, 4);
  EXPECT_GE(most, 2);
}

TEST(WorkerPool, RunParallelAfterShutdownRunsOnTheCaller) {
  WorkerPool pool("test-pool", 2, 4);
  pool.Shutdown();
  std::vector<int> seen;
  pool.RunParallel(5, [&](std::size_t i) { seen.push_back(static_cast<int>(i)); });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace berth::lifecycle
