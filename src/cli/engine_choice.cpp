#include "cli/engine_choice.hpp"

#include <spdlog/spdlog.h>

#include "runtime/docker_runtime.hpp"
#include "runtime/swarm_runtime.hpp"

namespace berth::cli {

Result<runtime::ContainerRuntimePtr> MakeRuntime(const config::Settings& s, int gateway_port) {
  const std::string tls_verify = s.docker_tls_verify ? "1" : "";
  if (s.runtime == "swarm") {
    runtime::SwarmRuntimeOptions options;
    options.docker_host = s.docker_host;
    options.tls_verify = tls_verify;
    options.cert_path = s.docker_cert_path;
    options.gateway_port = gateway_port;
    options.node_engines = s.swarm_node_engines;
    auto swarm = runtime::SwarmRuntime::Create(options);
    if (!swarm.ok()) return swarm.status();
    return runtime::ContainerRuntimePtr(std::move(swarm).value());
  }
  runtime::DockerRuntimeOptions options;
  options.docker_host = s.docker_host;
  options.tls_verify = tls_verify;
  options.cert_path = s.docker_cert_path;
  options.agent_egress = s.agent_egress != "berth-only";
  auto docker = runtime::DockerRuntime::Create(options);
  if (!docker.ok()) return docker.status();
  return runtime::ContainerRuntimePtr(std::move(docker).value());
}

Status CheckRuntimeRole(runtime::ContainerRuntime& runtime, const config::Settings& s) {
  if (s.runtime != "swarm") return Status::Ok();
  auto ping = runtime.Ping();
  if (ping.ok()) {
    spdlog::info("runtime: {}", *ping);
    return Status::Ok();
  }
  if (ping.status().code() == ErrorCode::kInvalidArgument) {
    return InvalidArgument("BERTH_RUNTIME=swarm: " + ping.status().message() +
                           " (set DOCKER_HOST to a manager's engine, or BERTH_RUNTIME=docker)");
  }
  spdlog::warn("runtime: the swarm manager does not answer yet ({}); waiting for it",
               ping.status().message());
  return Status::Ok();
}

}  // namespace berth::cli
