#pragma once

#include <string>
#include <string_view>

#include "docker/docker_types.hpp"
#include "runtime/container_runtime.hpp"

// Translation between the ContainerRuntime seam and Docker Swarm's vocabulary. Private to the
// runtime module (SwarmRuntime and its tests).
namespace berth::runtime {

// A task's Status.State as a ContainerState: new … starting → kCreated (on its way), running →
// kRunning, complete and shutdown → kExited, failed → kExited (its exit code and error tell),
// rejected, orphaned, remove and anything unknown → kDead.
ContainerState ParseTaskState(std::string_view state);

// True for task states a task never leaves.
bool IsFinalTaskState(std::string_view state);

// The service SwarmRuntime creates for `spec` (with 0 replicas: Start scales it to 1): hardening
// as far as Swarm has it (init, every capability dropped but spec.cap_add, no restart), the memory
// limit also as the reservation (so the scheduler never overpacks a node), the gateway port
// `gateway_port` published in host mode on a port each node picks, `image` as the task's image
// (a digest reference, resolved by the caller), labels on the service and on its containers.
docker::ServiceSpec ToServiceSpec(const ContainerSpec& spec, const std::string& image,
                                  int gateway_port, std::chrono::seconds stop_grace);

}  // namespace berth::runtime
