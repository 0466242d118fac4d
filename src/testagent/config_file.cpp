#include "testagent/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json_parse.hpp"

namespace berth::testagent {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Status WriteConfigFile(const std::string& path, const std::string& content) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);  // HOME itself, when missing
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable(Errno("cannot create " + dir.string()));
    }
  }
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(Errno("cannot create " + temp));
  ::fchmod(fd, 0600);  // O_CREAT's mode is masked by the umask; an existing file keeps its mode
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Unavailable(Errno("cannot write " + temp));
      ::close(fd);
      ::unlink(temp.c_str());
      return st;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    return Unavailable(Errno("cannot write " + temp));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status st = Unavailable(Errno("cannot rename " + temp + " to " + path));
    ::unlink(temp.c_str());
    return st;
  }
  return Status::Ok();
}

FileSignature SignatureOf(const std::string& path) {
  struct stat st {};
  FileSignature sig;
  if (::stat(path.c_str(), &st) != 0) return sig;
  sig.exists = true;
  sig.device = st.st_dev;
  sig.inode = st.st_ino;
  sig.size = st.st_size;
  sig.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return sig;
}

ConfigWatcher::Outcome ConfigWatcher::Poll() {
  FileSignature now = SignatureOf(path_);
  Outcome out;
  if (now == last_) return out;
  last_ = now;
  out.change = Change::kSkipped;
  if (!now.exists) {
    out.reason = "the file is gone";
    return out;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    out.reason = Errno("cannot open");
    return out;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseJson(text.str(), "config file");
  if (!config.ok() || !config->is_object()) {
    out.reason = config.ok() ? "not a JSON object" : "not valid JSON";
    return out;
  }
  out.change = Change::kApplied;
  out.config = std::move(*config);
  return out;
}

}  // namespace berth::testagent
