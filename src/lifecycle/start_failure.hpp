#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Why a start failed, decided where it failed (never read back from the message text).
enum class StartFailure {
  kExited,     // the container exited before it was ready
  kOomKilled,  // ... killed at its memory limit
  kTimeout,    // not ready within start_timeout
  kImage,      // the agent image is missing and could not be pulled
  kEngine,     // the engine failed or refused a call (inspect, remove, create, start)
  kCancelled,  // a stop (or berth's shutdown) cancelled it
  kLimit,      // refused: max_concurrent_starts starts were in flight
  kPlacement,  // no node can take it: its pinned node is drained or gone, or none has room
  kOther,      // the record, its token, the store
};

// "exited" | "oom" | "timeout" | "image" | "engine" | "cancelled" | "limit" | "placement" |
// "other": the
// metrics label, stable.
std::string_view StartFailureName(StartFailure reason);

// kOomKilled when the engine says the kernel killed it, else kExited.
StartFailure ExitFailure(const runtime::ContainerInfo& info);

// `info` of an exited container, looked at again when it died of SIGKILL (code 137) and the
// engine has not said OOM: Docker records the OOM kill when its OOM event arrives, which can come
// just after the exit (seen in CI: exit 137 with OOMKilled false, the kill the memory limit's).
// Up to 5 more inspects, 100 ms apart; blocks up to ~0.5 s only in that case.
runtime::ContainerInfo SettleOomVerdict(runtime::ContainerRuntime& runtime,
                                        runtime::ContainerInfo info);

// "agent container exited with code N[ (OOM-killed at the memory limit of M MiB)][: engine
// error]; last log lines:\n..." with the last `log_tail_lines` lines of its output. Blocks on one
// Logs call; a failed Logs call leaves the tail out.
std::string DescribeExit(runtime::ContainerRuntime& runtime, const runtime::ContainerInfo& info,
                         int64_t memory_bytes, int log_tail_lines);

// "180 s": whole seconds, for messages.
std::string SecondsText(std::chrono::milliseconds d);

}  // namespace berth::lifecycle
