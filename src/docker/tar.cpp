#include "docker/tar.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace berth::docker {
namespace {

constexpr std::size_t kBlock = 512;

// Header field offsets and sizes (POSIX.1-1988 ustar).
constexpr std::size_t kNameOff = 0, kNameLen = 100;
constexpr std::size_t kModeOff = 100, kUidOff = 108, kGidOff = 116, kIdLen = 8;
constexpr std::size_t kSizeOff = 124, kMtimeOff = 136, kNumLen = 12;
constexpr std::size_t kChecksumOff = 148, kChecksumLen = 8;
constexpr std::size_t kTypeOff = 156;
constexpr std::size_t kMagicOff = 257, kVersionOff = 263;

// Writes `value` as zero-padded octal digits filling `width - 1` bytes plus a NUL terminator.
bool PutOctal(char* field, std::size_t width, uint64_t value) {
  const std::size_t digits = width - 1;
  if (digits < 22 && value >= (uint64_t{1} << (3 * digits))) return false;
  for (std::size_t i = digits; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[digits] = '\0';
  return true;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kNameLen || name.front() == '/') return false;
  if (name.find('\0') != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Result<std::string> MakeSingleFileTar(const TarEntry& entry) {
  if (!ValidName(entry.name)) {
    return InvalidArgument("tar entry name \"" + entry.name +
                           "\" must be a relative path of at most 100 bytes without . or ..");
  }
  if (entry.mode < 0 || entry.mode > 07777) {
    return InvalidArgument("tar entry mode " + std::to_string(entry.mode) + " is out of range");
  }
  const auto mtime =
      std::chrono::duration_cast<std::chrono::seconds>(entry.mtime.time_since_epoch()).count();
  std::string out(kBlock, '\0');
  char* h = out.data();
  std::memcpy(h + kNameOff, entry.name.data(), entry.name.size());
  if (entry.uid < 0 || entry.gid < 0 || !PutOctal(h + kUidOff, kIdLen, entry.uid) ||
      !PutOctal(h + kGidOff, kIdLen, entry.gid)) {
    return InvalidArgument("tar entry uid/gid " + std::to_string(entry.uid) + "/" +
                           std::to_string(entry.gid) + " is out of range");
  }
  if (mtime < 0 || !PutOctal(h + kMtimeOff, kNumLen, static_cast<uint64_t>(mtime))) {
    return InvalidArgument("tar entry mtime is out of range");
  }
  if (!PutOctal(h + kSizeOff, kNumLen, entry.content.size())) {
    return InvalidArgument("tar entry is too large");
  }
  PutOctal(h + kModeOff, kIdLen, static_cast<uint64_t>(entry.mode));
  h[kTypeOff] = '0';                       // regular file
  std::memcpy(h + kMagicOff, "ustar", 6);  // "ustar\0"
  std::memcpy(h + kVersionOff, "00", 2);
  // The checksum is the sum of all header bytes with the checksum field read as spaces, written
  // as six octal digits, a NUL and a space.
  std::memset(h + kChecksumOff, ' ', kChecksumLen);
  unsigned sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(h[i]);
  std::snprintf(h + kChecksumOff, 7, "%06o", sum);
  h[kChecksumOff + 6] = '\0';
  h[kChecksumOff + 7] = ' ';

  out += entry.content;
  out.append((kBlock - entry.content.size() % kBlock) % kBlock, '\0');
  out.append(2 * kBlock, '\0');
  return out;
}

}  // namespace berth::docker
