#include "http/work_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace berth::http {
namespace {

using namespace std::chrono_literals;

// A gate jobs wait at until the test opens it.
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

// Records the order jobs ran in.
class Log {
 public:
  void Add(const std::string& what) {
    std::lock_guard lock(mu_);
    entries_.push_back(what);
    cv_.notify_all();
  }
  bool WaitFor(std::size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entries_.size() >= count; });
  }
  std::vector<std::string> entries() {
    std::lock_guard lock(mu_);
    return entries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> entries_;
};

TEST(WorkPool, AKeyWithManyJobsHoldsAtMostItsShareOfTheWorkers) {
  WorkPool pool({.threads = 4, .per_key_running = 2, .per_key_queued = 64, .max_queued = 100});
  Gate gate;
  std::atomic<int> heavy_running{0};
  std::atomic<int> heavy_peak{0};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pool.Submit("heavy", [&] {
      int now = ++heavy_running;
      int peak = heavy_peak.load();
      while (now > peak && !heavy_peak.compare_exchange_weak(peak, now)) {
      }
      gate.Wait();
      --heavy_running;
    }));
  }
  // Two workers stay free for everyone else, though the heavy key has 18 jobs waiting.
  Log log;
  ASSERT_TRUE(pool.Submit("light", [&] { log.Add("light"); }));
  ASSERT_TRUE(pool.Submit("other", [&] { log.Add("other"); }));
  EXPECT_TRUE(log.WaitFor(2));
  EXPECT_EQ(heavy_peak.load(), 2);
  gate.Open();
}

TEST(WorkPool, KeysTakeTurns) {
  WorkPool pool({.threads = 1, .per_key_running = 1, .per_key_queued = 64, .max_queued = 100});
  Gate gate;
  Gate started;
  Log log;
  ASSERT_TRUE(pool.Submit("a", [&] {  // holds the only worker
    started.Open();
    gate.Wait();
  }));
  started.Wait();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.Submit("a", [&log, i] { log.Add("a" + std::to_string(i)); }));
  }
  ASSERT_TRUE(pool.Submit("b", [&] { log.Add("b0"); }));
  ASSERT_TRUE(pool.Submit("b", [&] { log.Add("b1"); }));
  gate.Open();
  ASSERT_TRUE(log.WaitFor(5));
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"b0", "a0", "b1", "a1", "a2"}));
}

TEST(WorkPool, QueuesAreBoundedPerKeyAndInAll) {
  WorkPool pool({.threads = 1, .per_key_running = 1, .per_key_queued = 2, .max_queued = 3});
  Gate gate;
  Gate started;
  ASSERT_TRUE(pool.Submit("a", [&] {
    started.Open();
    gate.Wait();
  }));
  started.Wait();
  // The running job has left the queue; two may wait for "a", then "a" is full.
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.Submit("a", [&] { ++ran; }));
  EXPECT_TRUE(pool.Submit("a", [&] { ++ran; }));
  EXPECT_FALSE(pool.Submit("a", [&] { ++ran; }));
  EXPECT_TRUE(pool.Submit("b", [&] { ++ran; }));
  EXPECT_FALSE(pool.Submit("c", [&] { ++ran; }));  // three queued in all
  gate.Open();
  pool.Shutdown();
  EXPECT_LE(ran.load(), 3);
}

TEST(WorkPool, ShutdownLetsRunningJobsFinishAndDropsQueuedOnesUnrun) {
  auto pool = std::make_unique<WorkPool>(
      WorkPool::Options{.threads = 1, .per_key_running = 1, .per_key_queued = 8, .max_queued = 8});
  Gate started;
  std::atomic<bool> finished{false};
  ASSERT_TRUE(pool->Submit("a", [&] {
    started.Open();
    std::this_thread::sleep_for(50ms);
    finished = true;
  }));
  // A queued job's captures are destroyed unrun: its owner learns through them.
  auto witness = std::make_shared<int>(0);
  std::weak_ptr<int> watch = witness;
  std::atomic<bool> ran{false};
  ASSERT_TRUE(pool->Submit("b", [w = std::move(witness), &ran] { ran = true; }));
  started.Wait();
  pool->Shutdown();
  EXPECT_TRUE(finished);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(pool->Submit("c", [] {}));
  pool.reset();
}

TEST(WorkPool, AJobThatThrowsDoesNotStopItsWorker) {
  WorkPool pool({.threads = 1});
  Log log;
  ASSERT_TRUE(pool.Submit("a", [] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(pool.Submit("a", [&] { log.Add("after"); }));
  EXPECT_TRUE(log.WaitFor(1));
}

}  // namespace
}  // namespace berth::http
