#include "docker/log_frames.hpp"

#include <cstdint>

namespace berth::docker {

Result<LogOutput> DemultiplexLogs(std::string_view raw) {
  constexpr std::size_t kHeader = 8;
  LogOutput out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < kHeader) {
      return Internal("log stream ends inside a frame header at byte " + std::to_string(pos));
    }
    const auto* h = reinterpret_cast<const unsigned char*>(raw.data() + pos);
    const unsigned stream = h[0];
    if (stream > 2 || h[1] != 0 || h[2] != 0 || h[3] != 0) {
      return Internal("log stream has an invalid frame header at byte " + std::to_string(pos));
    }
    const std::size_t size =
        (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) | (uint32_t{h[6]} << 8) | uint32_t{h[7]};
    pos += kHeader;
    if (raw.size() - pos < size) {
      return Internal("log stream ends inside a frame of " + std::to_string(size) + " bytes");
    }
    std::string_view payload = raw.substr(pos, size);
    pos += size;
    out.combined.append(payload);
    (stream == 2 ? out.err : out.out).append(payload);
  }
  return out;
}

}  // namespace berth::docker
