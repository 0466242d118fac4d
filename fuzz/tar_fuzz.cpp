// The tar writer's inputs (a file name, content, owner, mode and time that reach the engine's
// archive upload): either kInvalidArgument, or an archive of whole 512-byte blocks whose header
// checksum is right and whose size field matches the content.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "docker/tar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 17) return 0;
  int32_t uid, gid, mode;
  int32_t seconds;
  std::memcpy(&uid, data, 4);
  std::memcpy(&gid, data + 4, 4);
  std::memcpy(&mode, data + 8, 4);
  std::memcpy(&seconds, data + 12, 4);
  const std::size_t name_length = data[16];
  data += 17;
  size -= 17;
  berth::docker::TarEntry entry;
  entry.uid = uid;
  entry.gid = gid;
  entry.mode = mode;
  entry.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  const std::size_t n = name_length < size ? name_length : size;
  entry.name.assign(reinterpret_cast<const char*>(data), n);
  entry.content.assign(reinterpret_cast<const char*>(data) + n, size - n);

  berth::Result<std::string> tar = berth::docker::MakeSingleFileTar(entry);
  if (!tar.ok()) return 0;
  const std::string& t = *tar;
  if (t.size() % 512 != 0 || t.size() < 512 * 3) __builtin_trap();
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(t[i]);
  }
  if (std::strtoul(std::string(t, 148, 8).c_str(), nullptr, 8) != sum) __builtin_trap();
  if (std::strtoull(std::string(t, 124, 12).c_str(), nullptr, 8) != entry.content.size()) {
    __builtin_trap();
  }
  if (t.compare(512, entry.content.size(), entry.content) != 0) __builtin_trap();
  return 0;
}
