#include "store/serve_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "store/database_url.hpp"

namespace berth::store {

Result<std::unique_ptr<ServeLock>> ServeLock::Acquire(const std::string& database_url) {
  auto url = ParseDatabaseUrl(database_url);
  if (!url.ok()) return url.status();
  if (url->kind != DatabaseUrl::Kind::kSqlite) {
    return std::unique_ptr<ServeLock>(new ServeLock(-1));
  }
  const std::string path = url->sqlite_path + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable("cannot open the lock file " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return Unavailable("cannot lock " + path + ": " + std::strerror(err));
    }
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Unavailable("another berth (pid " + (pid.empty() ? std::string("unknown") : pid) +
                       ") is using the SQLite database " + url->sqlite_path + " (lock " + path +
                       "); SQLite allows one berth at a time: stop it first, or use PostgreSQL "
                       "for several replicas");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid only improves the message a second berth gets; the lock itself is held.
  }
  return std::unique_ptr<ServeLock>(new ServeLock(fd));
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace berth::store
