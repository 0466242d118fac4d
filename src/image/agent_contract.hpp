#pragma once

#include "runtime/agent_image_contract.hpp"

namespace berth::image {

// The contract both images berth builds honour (the OpenClaw gateway's, which berth-test-agent
// copies): gateway port agentconfig::kGatewayPort, readiness at /readyz, state in
// /home/node/.openclaw owned by the image's `node` user (1000:1000), config file openclaw.json,
// and CHOKIDAR_USEPOLLING=1 (the gateway's file watcher misses replaced configs without polling;
// ARCHITECTURE.md, "Config push"). The one place these facts are written down for the lifecycle.
runtime::AgentImageContract AgentContract();

}  // namespace berth::image
