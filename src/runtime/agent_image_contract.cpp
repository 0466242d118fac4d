#include "runtime/agent_image_contract.hpp"

namespace berth::runtime {

Status AgentImageContract::Validate() const {
  if (gateway_port <= 0 || gateway_port > 65535) {
    return InvalidArgument("agent image contract: gateway port " + std::to_string(gateway_port) +
                           " is not a port");
  }
  if (readiness_path.empty() || readiness_path.front() != '/') {
    return InvalidArgument("agent image contract: readiness path must start with /");
  }
  if (state_dir.empty() || state_dir.front() != '/') {
    return InvalidArgument("agent image contract: state dir must be an absolute path");
  }
  if (config_file_name.empty() || config_file_name.find('/') != std::string::npos) {
    return InvalidArgument("agent image contract: config file name must be a plain file name");
  }
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return InvalidArgument("agent image contract: env name '" + name + "' is invalid");
    }
  }
  return Status::Ok();
}

}  // namespace berth::runtime
