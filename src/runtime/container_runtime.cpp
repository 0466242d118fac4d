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

}  // namespace berth::runtime
