#include "image/agent_contract.hpp"

#include "agentconfig/openclaw_config.hpp"

namespace berth::image {

runtime::AgentImageContract AgentContract() {
  runtime::AgentImageContract contract;
  contract.gateway_port = agentconfig::kGatewayPort;
  contract.readiness_path = "/readyz";
  contract.state_dir = "/home/node/.openclaw";
  contract.config_file_name = "openclaw.json";
  contract.uid = contract.gid = 1000;  // the `node` user AddBase writes into /etc/passwd
  contract.env = {{"CHOKIDAR_USEPOLLING", "1"}};
  return contract;
}

}  // namespace berth::image
