#include "lifecycle/agent_endpoint.hpp"

namespace berth::lifecycle {

Result<AgentEndpoint> EndpointOf(const runtime::ContainerInfo& info,
                                 const std::string& container_name, const std::string& record_id,
                                 const std::string& token, AddressMode mode, int gateway_port) {
  AgentEndpoint endpoint;
  endpoint.port = gateway_port;
  endpoint.token = token;
  endpoint.container_id = info.id;
  endpoint.record_id = record_id;
  switch (mode) {
    case AddressMode::kContainerIp:
      if (info.ip_address.empty()) return Unavailable("agent container has no address yet");
      endpoint.host = info.ip_address;
      break;
    case AddressMode::kContainerName:
      endpoint.host = container_name;
      break;
    case AddressMode::kPublished:
      if (!info.published_port) return Unavailable("agent container has no published port yet");
      endpoint.host = "127.0.0.1";
      endpoint.port = *info.published_port;
      break;
    case AddressMode::kNodePort:
      if (info.ip_address.empty() || !info.published_port) {
        return Unavailable("agent task has no node address and published port yet");
      }
      endpoint.host = info.ip_address;
      endpoint.port = *info.published_port;
      break;
  }
  return endpoint;
}

}  // namespace berth::lifecycle
