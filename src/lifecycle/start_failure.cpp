#include "lifecycle/start_failure.hpp"

#include <chrono>
#include <thread>
#include <utility>

namespace berth::lifecycle {

std::string_view StartFailureName(StartFailure reason) {
  switch (reason) {
    case StartFailure::kExited:
      return "exited";
    case StartFailure::kOomKilled:
      return "oom";
    case StartFailure::kTimeout:
      return "timeout";
    case StartFailure::kImage:
      return "image";
    case StartFailure::kEngine:
      return "engine";
    case StartFailure::kCancelled:
      return "cancelled";
    case StartFailure::kLimit:
      return "limit";
    case StartFailure::kPlacement:
      return "placement";
    case StartFailure::kOther:
      return "other";
  }
  return "other";
}

StartFailure ExitFailure(const runtime::ContainerInfo& info) {
  return info.oom_killed ? StartFailure::kOomKilled : StartFailure::kExited;
}

runtime::ContainerInfo SettleOomVerdict(runtime::ContainerRuntime& runtime,
                                        runtime::ContainerInfo info) {
  for (int i = 0; i < 5 && info.exit_code == 137 && !info.oom_killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto again = runtime.Inspect(info.id);
    if (!again.ok()) break;
    info = std::move(*again);
  }
  return info;
}

std::string DescribeExit(runtime::ContainerRuntime& runtime, const runtime::ContainerInfo& info,
                         int64_t memory_bytes, int log_tail_lines) {
  std::string message = "agent container exited with code " + std::to_string(info.exit_code);
  if (info.oom_killed) {
    message +=
        " (OOM-killed at the memory limit of " + std::to_string(memory_bytes >> 20) + " MiB)";
  }
  if (!info.error.empty()) message += ": " + info.error;
  auto logs = runtime.Logs(info.id, log_tail_lines);
  if (logs.ok() && !logs->empty()) {
    std::string tail = *logs;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    message += "; last log lines:\n" + tail;
  }
  return message;
}

std::string SecondsText(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace berth::lifecycle
