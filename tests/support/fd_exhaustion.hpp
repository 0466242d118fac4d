#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

namespace berth::testing {

// While it lives, this process can open no descriptor: the soft RLIMIT_NOFILE is lowered to a
// little above the highest open one, and every free number below it is taken by a dup(). The
// destructor closes those and restores the limit. Use it single-threaded, around the calls under
// test only.
class FdExhaustion {
 public:
  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 2;
    for (int fd = 0; fd < 65536; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) highest = fd;
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest + 16);
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    for (;;) {
      const int fd = ::dup(2);
      if (fd < 0) break;
      taken_.push_back(fd);
    }
  }
  ~FdExhaustion() {
    for (int fd : taken_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

  // Whether it worked: no descriptor can be opened now.
  bool exhausted() const {
    const int fd = ::dup(2);
    if (fd < 0) return true;
    ::close(fd);
    return false;
  }

 private:
  rlimit saved_{};
  std::vector<int> taken_;
};

}  // namespace berth::testing
