#pragma once

#include <string>

#include "common/result.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Where and how to reach a running agent's gateway.
struct AgentEndpoint {
  std::string host;
  int port = 0;
  std::string token;  // the gateway token (the container's AGENT_TOKEN); never logged
  std::string container_id;
  std::string record_id;
};

// The endpoint of a running container by the addressing mode (ARCHITECTURE.md, "Engine
// addressing"): its IP, its name, or its published port on 127.0.0.1. kUnavailable while the
// engine reports no address or published port yet. Pure.
Result<AgentEndpoint> EndpointOf(const runtime::ContainerInfo& info,
                                 const std::string& container_name, const std::string& record_id,
                                 const std::string& token, AddressMode mode, int gateway_port);

}  // namespace berth::lifecycle
