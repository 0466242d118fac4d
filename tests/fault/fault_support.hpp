#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "support/http_client.hpp"

namespace berth::testing {

// A tmpfs of `bytes` mounted over `dir` while it lives (needs root); unmounted (lazily, so a
// process still holding a file there cannot keep it) on destruction, pass or fail.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, long long bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// A memory cgroup of its own (v2, or v1's memory controller) holding the processes moved into it,
// capped at a limit with no swap. Removed on destruction: REQUIRES every process in it has
// exited (or left) by then.
class MemoryCgroup {
 public:
  explicit MemoryCgroup(const std::string& name);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& error() const { return error_; }
  bool SetLimit(long long bytes);
  // Moves a process in (v1: its charges move along).
  bool Add(int pid);
  long long Usage() const;
  // The highest usage seen (v1 max_usage_in_bytes; v2 memory.peak where the kernel has it).
  long long Peak() const;
  // Processes the kernel OOM-killed in it.
  long long OomKills() const;

 private:
  std::string Read(const std::string& file) const;
  bool Write(const std::string& file, const std::string& value) const;
  bool v2_ = false;
  std::string path_;
  std::string error_;
};

// Writes `path` until the file system holding it has no space left; returns the bytes written.
long long FillDisk(const std::string& path);

// Whether r is an error in berth's one shape: {"error":{"code","message"}} with both strings.
::testing::AssertionResult IsJsonError(const HttpResult& r, int status);

// Polls `condition` every 50 ms up to `timeout`; returns how long it took, or -1 ms on timeout.
std::chrono::milliseconds TimeUntil(const std::function<bool()>& condition,
                                    std::chrono::milliseconds timeout);

// Whether a process with this pid exists (and is not a zombie).
bool ProcessAlive(int pid);

// One line for the report: printed as "[fault] <what>", so a run's log shows what berth did.
void Observed(const std::string& what);

}  // namespace berth::testing
