#include "runtime/container_runtime.hpp"

namespace berth::runtime {

std::string_view ContainerStateName(ContainerState state) {
  switch (state) {
    case ContainerState::kCreated:
      return "created";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kPaused:
      return "paused";
    case ContainerState::kRestarting:
      return "restarting";
    case ContainerState::kRemoving:
      return "removing";
    case ContainerState::kExited:
      return "exited";
    case ContainerState::kDead:
      return "dead";
  }
  return "unknown";
}

std::string_view ContainerEventKindName(ContainerEventKind kind) {
  switch (kind) {
    case ContainerEventKind::kCreated:
      return "created";
    case ContainerEventKind::kStarted:
      return "started";
    case ContainerEventKind::kDied:
      return "died";
    case ContainerEventKind::kOomKilled:
      return "oom_killed";
    case ContainerEventKind::kKilled:
      return "killed";
    case ContainerEventKind::kStopped:
      return "stopped";
    case ContainerEventKind::kDestroyed:
      return "destroyed";
    case ContainerEventKind::kPaused:
      return "paused";
    case ContainerEventKind::kUnpaused:
      return "unpaused";
    case ContainerEventKind::kRestarted:
      return "restarted";
    case ContainerEventKind::kOther:
      return "other";
  }
  return "other";
}

}  // namespace berth::runtime
