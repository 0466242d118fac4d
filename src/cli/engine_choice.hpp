#pragma once

#include "common/result.hpp"
#include "config/settings.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::cli {

// The container runtime BERTH_RUNTIME names (docker: one engine at DOCKER_HOST; swarm: the
// manager at DOCKER_HOST and the nodes' engines of BERTH_SWARM_NODE_ENGINES), made without
// contacting it. `gateway_port` is the agent image's gateway port, which a swarm publishes on
// each node. kInvalidArgument for a malformed DOCKER_HOST or unreadable TLS files.
Result<runtime::ContainerRuntimePtr> MakeRuntime(const config::Settings& settings,
                                                 int gateway_port);

// With BERTH_RUNTIME=swarm, asks the engine once whether it is a swarm manager: kInvalidArgument
// saying so (and what to set) when it answers as anything else, so berth refuses to start
// rather than wait forever. Ok when it is one, when it does not answer yet (the lifecycle waits
// for it as for any engine), and always with BERTH_RUNTIME=docker.
Status CheckRuntimeRole(runtime::ContainerRuntime& runtime, const config::Settings& settings);

}  // namespace berth::cli
