#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::docker {

// A container's output as the logs call returns it.
struct LogOutput {
  std::string combined;  // stdout and stderr interleaved in the order written
  std::string out;       // stdout only
  std::string err;       // stderr only
};

// Splits the engine's multiplexed stream (containers without a TTY): frames of an 8-byte header
// {stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0, big-endian uint32 size} followed by `size`
// bytes. kInternal when a header names an unknown stream or a frame is cut short.
Result<LogOutput> DemultiplexLogs(std::string_view raw);

}  // namespace berth::docker
