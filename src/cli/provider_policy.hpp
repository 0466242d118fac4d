#pragma once

#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "config/settings.hpp"
#include "llm/destination.hpp"

namespace berth::cli {

// The LLM gateway's destination policy (llm/destination.hpp) for these settings: private
// networks from BERTH_PROVIDER_ALLOW, and as berth's own the given listeners plus every engine
// API it talks to over TCP (DOCKER_HOST, BERTH_SWARM_NODE_ENGINES). kInvalidArgument naming
// the setting when BERTH_PROVIDER_ALLOW is malformed.
Result<llm::DestinationPolicy> ProviderPolicy(const config::Settings& settings,
                                              std::vector<net::ip::tcp::endpoint> listeners);

// "http://host:port/..." as an endpoint, when host is an address; nullopt otherwise.
std::optional<net::ip::tcp::endpoint> EndpointOfUrl(const std::string& url);

}  // namespace berth::cli
