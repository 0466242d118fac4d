#include "cli/provider_policy.hpp"

#include <optional>

namespace berth::cli {
namespace {

// "scheme://host:port[/...]" split into host and port; nullopt without both.
std::optional<std::pair<std::string, std::string>> HostAndPort(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  std::string authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find('/'));
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size()) return std::nullopt;
  std::string host = authority.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, authority.substr(colon + 1));
}

// Every address `url`'s host names, on its port (engines may be named, not numbered).
void AddEngine(const std::string& url, std::vector<net::ip::tcp::endpoint>& own) {
  if (url.rfind("tcp://", 0) != 0) return;  // a unix socket is no TCP destination
  auto parts = HostAndPort(url);
  if (!parts) return;
  net::io_context io;
  net::ip::tcp::resolver resolver(io);
  beast::error_code ec;
  const auto found = resolver.resolve(parts->first, parts->second, ec);
  if (ec) return;
  for (const auto& entry : found) own.push_back(entry.endpoint());
}

}  // namespace

std::optional<net::ip::tcp::endpoint> EndpointOfUrl(const std::string& url) {
  auto parts = HostAndPort(url);
  if (!parts) return std::nullopt;
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(parts->first, ec);
  if (ec) return std::nullopt;
  const int port = std::atoi(parts->second.c_str());
  if (port <= 0 || port > 65535) return std::nullopt;
  return net::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
}

Result<llm::DestinationPolicy> ProviderPolicy(const config::Settings& settings,
                                              std::vector<net::ip::tcp::endpoint> listeners) {
  llm::DestinationPolicy::Options options;
  options.allow = llm::SplitAllowList(settings.provider_allow);
  options.own = std::move(listeners);
  AddEngine(settings.docker_host, options.own);
  for (const std::string& engine : settings.swarm_node_engines) AddEngine(engine, options.own);
  return llm::DestinationPolicy::Create(std::move(options));
}

}  // namespace berth::cli
