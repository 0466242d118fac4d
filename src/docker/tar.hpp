#pragma once

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace berth::docker {

// One regular file for a tar archive.
struct TarEntry {
  std::string name;  // path inside the archive, at most 100 bytes, relative, no ".." component
  std::string content;
  int uid = 0;
  int gid = 0;
  int mode = 0644;  // permission bits (07777 at most)
  std::chrono::system_clock::time_point mtime;
};

// An uncompressed POSIX ustar archive holding exactly `entry`: one 512-byte header (with a valid
// checksum), the content padded to 512 bytes, and the two zero blocks that end an archive. This
// is what the engine's archive upload expects. kInvalidArgument when a field does not fit.
Result<std::string> MakeSingleFileTar(const TarEntry& entry);

}  // namespace berth::docker
