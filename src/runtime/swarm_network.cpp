#include "runtime/swarm_network.hpp"

#include <optional>

#include "docker/docker_client.hpp"

namespace berth::runtime {
namespace {

constexpr char kIccOption[] = "com.docker.network.bridge.enable_icc";

std::string Where(const docker::DockerClient& engine) { return engine.endpoint().ToString(); }

// Whether a network's options switch inter-container traffic off (the bridge's default is on).
bool IccOff(const docker::NetworkDetails& network) {
  auto it = network.options.find(kIccOption);
  return it != network.options.end() && it->second == "false";
}

// The oldest network named `name` on `engine` that `keep` accepts, if any.
template <class Keep>
Result<std::optional<docker::NetworkDetails>> FindNamed(docker::DockerClient& engine,
                                                        const std::string& name, Keep keep) {
  auto named = engine.ListNetworksNamed(name);
  if (!named.ok()) {
    return Status(named.status().code(), Where(engine) + ": " + named.status().message());
  }
  for (docker::NetworkDetails& n : *named) {
    if (keep(n)) return std::optional<docker::NetworkDetails>(std::move(n));
  }
  return std::optional<docker::NetworkDetails>();
}

// Makes sure `engine` holds the config-only network `config_name`, checking one that exists.
Status EnsureConfigOnly(docker::DockerClient& engine, const std::string& config_name, bool isolated,
                        const SwarmBridgeOptions& options) {
  const auto any = [](const docker::NetworkDetails&) { return true; };
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = FindNamed(engine, config_name, any);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      const docker::NetworkDetails& n = **found;
      if (!n.config_only) {
        return AlreadyExists(Where(engine) + ": network " + config_name + " (" + n.id +
                             ") exists and is not config-only");
      }
      if (IccOff(n) != isolated) {
        return InvalidArgument(Where(engine) + ": config-only network " + config_name +
                               (isolated ? " lets" : " does not let") +
                               " containers reach each other; remove it to change that");
      }
      return Status::Ok();
    }
    docker::NetworkCreate config;
    config.name = config_name;
    config.config_only = true;
    config.subnet = options.subnet;
    config.labels = options.config_labels;
    if (isolated) config.options[kIccOption] = "false";
    auto created = engine.CreateNetwork(config);
    if (created.ok()) return Status::Ok();
    // A concurrent call made it first: look again.
    if (created.status().code() != ErrorCode::kAlreadyExists) {
      return Status(created.status().code(),
                    Where(engine) + ": create " + config_name + ": " + created.status().message());
    }
  }
  return AlreadyExists(Where(engine) + ": " + config_name + " exists but cannot be listed");
}

}  // namespace

std::string SwarmBridgeConfigName(const std::string& name) { return name + "-cfg"; }

Result<NetworkInfo> EnsureSwarmBridge(docker::DockerClient& manager,
                                      const std::vector<docker::DockerClient*>& node_engines,
                                      const std::string& name, bool isolated,
                                      const SwarmBridgeOptions& options) {
  if (node_engines.empty()) return InvalidArgument("swarm network " + name + ": no node engines");
  const std::string config_name = SwarmBridgeConfigName(name);
  for (docker::DockerClient* engine : node_engines) {
    if (engine == nullptr) return InvalidArgument("swarm network " + name + ": a null engine");
    BERTH_RETURN_IF_ERROR(EnsureConfigOnly(*engine, config_name, isolated, options));
  }

  const auto swarm_scoped = [](const docker::NetworkDetails& n) { return n.scope == "swarm"; };
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = FindNamed(manager, name, swarm_scoped);
    if (!found.ok()) return found.status();
    if (found->has_value()) {
      const docker::NetworkDetails& n = **found;
      if (n.config_from != config_name) {
        return AlreadyExists(Where(manager) + ": swarm network " + name + " (" + n.id +
                             ") is not made from " + config_name);
      }
      return NetworkInfo{n.id, n.name, options.subnet, "", false, ""};
    }
    // No labels, options or IPAM: the engine refuses them on a network made from a config.
    docker::NetworkCreate network;
    network.name = name;
    network.driver = "bridge";
    network.scope = "swarm";
    network.config_from = config_name;
    auto created = manager.CreateNetwork(network);
    if (created.ok()) return NetworkInfo{*created, name, options.subnet, "", false, ""};
    if (created.status().code() != ErrorCode::kAlreadyExists) {
      return Status(created.status().code(), Where(manager) + ": create swarm network " + name +
                                                 ": " + created.status().message());
    }
  }
  return AlreadyExists(Where(manager) + ": swarm network " + name + " exists but cannot be listed");
}

}  // namespace berth::runtime
