#include "runtime/swarm_node_engines.hpp"

#include <spdlog/spdlog.h>

#include "docker/docker_client.hpp"

namespace berth::runtime {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<SwarmNodeEngines>> SwarmNodeEngines::Create(
    const SwarmNodeEnginesOptions& options) {
  std::vector<Entry> engines;
  for (const std::string& host : options.hosts) {
    auto endpoint = docker::ParseDockerHost(host, options.tls_verify, options.cert_path);
    if (!endpoint.ok()) {
      return InvalidArgument("BERTH_SWARM_NODE_ENGINES: " + endpoint.status().message());
    }
    docker::DockerClientOptions client_options;
    client_options.call_timeout = options.call_timeout;
    auto client = docker::DockerClient::Create(std::move(endpoint).value(), client_options);
    if (!client.ok()) {
      return InvalidArgument("BERTH_SWARM_NODE_ENGINES: " + client.status().message());
    }
    Entry entry;
    entry.engine = {host, std::shared_ptr<docker::DockerClient>(std::move(client).value())};
    engines.push_back(std::move(entry));
  }
  return std::unique_ptr<SwarmNodeEngines>(
      new SwarmNodeEngines(std::move(engines), options.retry_interval));
}

SwarmNodeEngines::SwarmNodeEngines(std::vector<Entry> engines,
                                   std::chrono::milliseconds retry_interval)
    : retry_interval_(retry_interval), engines_(std::move(engines)) {}

SwarmNodeEngines::~SwarmNodeEngines() = default;

void SwarmNodeEngines::Identify() {
  std::vector<std::size_t> due;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < engines_.size(); ++i) {
      Entry& e = engines_[i];
      if (e.ever_asked && now - e.asked < retry_interval_) continue;
      e.ever_asked = true;
      e.asked = now;
      due.push_back(i);
    }
  }
  for (std::size_t i : due) {
    const Engine& engine = engines_[i].engine;  // immutable after construction
    auto info = engine.client->Info();
    std::string node_id;
    if (!info.ok()) {
      spdlog::warn("runtime: swarm node engine {} does not answer (asked again in {} ms): {}",
                   engine.host, retry_interval_.count(), info.status().message());
    } else if (info->swarm.node_id.empty()) {
      spdlog::warn("runtime: swarm node engine {} ({}) is in no swarm (state {})", engine.host,
                   info->name, info->swarm.local_node_state);
    } else {
      node_id = info->swarm.node_id;
    }
    std::lock_guard lock(mu_);
    // An engine that does not answer keeps the node it last was: it may answer again.
    if (!node_id.empty()) engines_[i].node_id = node_id;
  }
}

std::shared_ptr<docker::DockerClient> SwarmNodeEngines::ForNode(const std::string& node_id) {
  auto find = [&]() -> std::shared_ptr<docker::DockerClient> {
    std::lock_guard lock(mu_);
    for (const Entry& e : engines_) {
      if (!node_id.empty() && e.node_id == node_id) return e.engine.client;
    }
    return nullptr;
  };
  if (auto found = find()) return found;
  Identify();
  return find();
}

std::vector<SwarmNodeEngines::Engine> SwarmNodeEngines::All() const {
  std::vector<Engine> out;
  out.reserve(engines_.size());
  for (const Entry& e : engines_) out.push_back(e.engine);
  return out;
}

}  // namespace berth::runtime
