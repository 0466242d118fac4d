// The engine's multiplexed log stream (written by whatever runs in an agent container) through the
// demultiplexer: never a crash, and what it returns is never more than it was given.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docker/log_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  berth::Result<berth::docker::LogOutput> out = berth::docker::DemultiplexLogs(raw);
  if (out.ok()) {
    if (out->combined.size() > size) __builtin_trap();
    if (out->out.size() + out->err.size() != out->combined.size()) __builtin_trap();
  }
  return 0;
}
