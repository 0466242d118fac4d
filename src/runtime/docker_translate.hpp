#pragma once

#include <string_view>

#include "docker/docker_types.hpp"
#include "runtime/container_runtime.hpp"

// Translation between the ContainerRuntime seam and the Docker Engine API's vocabulary. Private to
// the runtime module (DockerRuntime and its tests): nothing above the seam includes this header.
namespace berth::runtime {

// Engine state text ("running", "exited", ...) as a ContainerState; unknown text is kDead.
ContainerState ParseContainerState(std::string_view status);

// Engine event verb ("die", "oom", "destroy", ...) as a ContainerEventKind; verbs berth does not
// act on (exec_*, health_status, rename, ...) are kOther.
ContainerEventKind ParseContainerEventKind(std::string_view action);

// The create request DockerRuntime sends for `spec`, hardening included.
docker::ContainerCreate ToContainerCreate(const ContainerSpec& spec);

// The archive upload that writes `file` (PutFile of the Docker and Swarm runtimes): a tar of that
// one file. kInvalidArgument when a field does not fit the tar header.
Result<std::string> FileArchive(const ContainerRuntime::FileSpec& file);

}  // namespace berth::runtime
