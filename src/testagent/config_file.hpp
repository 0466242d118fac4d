#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"

namespace berth::testagent {

// Writes `content` to `path` as the real entrypoint does: mode 0600, owned by the caller, the
// parent directory created (0700, its own parents as needed) when missing. Atomic (temp file +
// rename), so the hot-reload poller never sees half a file.
Status WriteConfigFile(const std::string& path, const std::string& content);

// Identity of a file version as the gateway's watcher sees it: a replacement that keeps the inode
// still changes size or mtime (ARCHITECTURE.md, "Config push").
struct FileSignature {
  bool exists = false;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileSignature&) const = default;
};
FileSignature SignatureOf(const std::string& path);

// Hot reload of the config file, like the gateway's: Poll() (every 250 ms in the agent) notices a
// new version of the file and parses it. Not thread-safe: one poller.
class ConfigWatcher {
 public:
  enum class Change {
    kNone,     // the file is as last seen
    kApplied,  // a new version parsed as a JSON object: use `config`
    kSkipped,  // a new version that is missing or not a JSON object: keep the old config
  };
  struct Outcome {
    Change change = Change::kNone;
    nlohmann::json config;  // when kApplied
    std::string reason;     // when kSkipped
  };

  explicit ConfigWatcher(std::string path) : path_(std::move(path)) {}

  // Takes the file as it is now as the version already applied (call after writing it).
  void Prime() { last_ = SignatureOf(path_); }
  Outcome Poll();

 private:
  std::string path_;
  FileSignature last_;
};

}  // namespace berth::testagent
