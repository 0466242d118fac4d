#include "fault/fault_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

namespace berth::testing {

TmpfsMount::TmpfsMount(const std::string& dir, long long bytes) : dir_(dir) {
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    error_ = "mount tmpfs on " + dir + ": " + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_ && ::umount2(dir_.c_str(), MNT_DETACH) != 0) {
    std::cerr << "umount " << dir_ << ": " << std::strerror(errno) << "\n";
  }
}

MemoryCgroup::MemoryCgroup(const std::string& name) {
  std::string base;
  if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
    v2_ = true;
    base = "/sys/fs/cgroup";
    // The memory controller must be on for the root's children (ignored when it is already).
    const int fd = ::open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY);
    if (fd >= 0) {
      (void)!::write(fd, "+memory", 7);
      ::close(fd);
    }
  } else if (::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0) {
    base = "/sys/fs/cgroup/memory";
  } else {
    error_ = "no cgroup v2 and no v1 memory controller under /sys/fs/cgroup";
    return;
  }
  const std::string path = base + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) {
    error_ = "mkdir " + path + ": " + std::strerror(errno);
    return;
  }
  path_ = path;
  if (v2_ && ::access((path_ + "/memory.max").c_str(), F_OK) != 0) {
    error_ = "the memory controller is not enabled for " + path_;
    ::rmdir(path_.c_str());
    path_.clear();
  }
}

MemoryCgroup::~MemoryCgroup() {
  if (path_.empty()) return;
  // The kernel may take a moment to let go of an exited process.
  for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (::access(path_.c_str(), F_OK) == 0) std::cerr << "cannot remove cgroup " << path_ << "\n";
}

std::string MemoryCgroup::Read(const std::string& file) const {
  const int fd = ::open((path_ + "/" + file).c_str(), O_RDONLY);
  if (fd < 0) return "";
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool MemoryCgroup::Write(const std::string& file, const std::string& value) const {
  const int fd = ::open((path_ + "/" + file).c_str(), O_WRONLY);
  if (fd < 0) return false;
  const bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

namespace {
long long Number(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (...) {
    return -1;
  }
}
long long Field(const std::string& text, const std::string& key) {
  const size_t at = text.find(key + " ");
  return at == std::string::npos ? 0 : Number(text.substr(at + key.size() + 1));
}
}  // namespace

bool MemoryCgroup::SetLimit(long long bytes) {
  if (v2_) return Write("memory.max", std::to_string(bytes)) && Write("memory.swap.max", "0");
  // v1: memsw (memory + swap) exists only with swap accounting; set it after the plain limit.
  const bool ok = Write("memory.limit_in_bytes", std::to_string(bytes));
  (void)Write("memory.memsw.limit_in_bytes", std::to_string(bytes));
  return ok;
}

bool MemoryCgroup::Add(int pid) {
  if (!v2_) (void)Write("memory.move_charge_at_immigrate", "3");
  return Write("cgroup.procs", std::to_string(pid));
}

long long MemoryCgroup::Usage() const {
  return Number(Read(v2_ ? "memory.current" : "memory.usage_in_bytes"));
}

long long MemoryCgroup::Peak() const {
  return Number(Read(v2_ ? "memory.peak" : "memory.max_usage_in_bytes"));
}

long long MemoryCgroup::OomKills() const {
  return Field(Read(v2_ ? "memory.events" : "memory.oom_control"), "oom_kill");
}

long long FillDisk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  std::vector<char> block(64 * 1024, 'x');
  long long written = 0;
  size_t size = block.size();
  while (size > 0) {
    const ssize_t n = ::write(fd, block.data(), size);
    if (n > 0) {
      written += n;
    } else if (errno == ENOSPC) {
      size /= 2;  // fill the last partial block too
    } else {
      break;
    }
  }
  ::close(fd);
  return written;
}

::testing::AssertionResult IsJsonError(const HttpResult& r, int status) {
  if (r.status != status) {
    return ::testing::AssertionFailure()
           << "status " << r.status << ", want " << status << ": " << r.body;
  }
  const auto j = r.Json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object() ||
      !j["error"].contains("code") || !j["error"]["code"].is_string() ||
      !j["error"].contains("message") || !j["error"]["message"].is_string() ||
      j["error"]["message"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "not {\"error\":{\"code\",\"message\"}}: " << r.body;
  }
  return ::testing::AssertionSuccess();
}

std::chrono::milliseconds TimeUntil(const std::function<bool()>& condition,
                                    std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    if (condition()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::chrono::milliseconds(-1);
}

bool ProcessAlive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  const std::string stat = "/proc/" + std::to_string(pid) + "/stat";
  char buf[512] = {};
  const int fd = ::open(stat.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  const char* paren = n > 0 ? std::strrchr(buf, ')') : nullptr;
  return paren != nullptr && paren[1] == ' ' && paren[2] != 'Z';
}

void Observed(const std::string& what) { std::cout << "[fault] " << what << std::endl; }

}  // namespace berth::testing
