#include "crypto/key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.hpp"

namespace berth::crypto {
Result<std::string> ParseKey(const std::string& text) {
  std::string bytes;
  if (DecodeKey32(text, &bytes)) return bytes;
  return InvalidArgument("must be 32 bytes given as 64 hex characters or base64");
}

Result<std::string> LoadOrCreateKeyFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return Unavailable("cannot stat key file " + path + ": " + std::strerror(errno));
    }
    if ((st.st_mode & 077) != 0) {
      return InvalidArgument("key file " + path +
                             " is accessible by group or others; chmod 600 it");
    }
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) return Unavailable("cannot read key file " + path);
    std::string content = ss.str();
    auto key = ParseKey(content);
    OPENSSL_cleanse(content.data(), content.size());
    if (!key.ok()) return InvalidArgument("key file " + path + ": " + key.status().message());
    return key;
  }

  fs::path p(path);
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) return Unavailable("cannot create " + p.parent_path().string() + ": " + ec.message());
  }
  std::string bytes(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), 32) != 1) {
    return Internal("RAND_bytes failed");
  }
  std::string hex = HexEncode(bytes) + "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create key file " + tmp + ": " + std::strerror(errno));
  bool ok =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(hex.data(), hex.size());
  // link() rather than rename(): if two processes race to create the key, exactly one wins and
  // the loser re-reads the winner's key instead of replacing it.
  if (ok && ::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return LoadOrCreateKeyFile(path);
    return Unavailable("cannot install key file " + path + ": " + std::strerror(err));
  }
  ::unlink(tmp.c_str());
  if (!ok) return Unavailable("cannot write key file " + path);
  return bytes;
}

}  // namespace berth::crypto
