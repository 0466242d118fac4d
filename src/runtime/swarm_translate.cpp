#include "runtime/swarm_translate.hpp"

namespace berth::runtime {

ContainerState ParseTaskState(std::string_view state) {
  if (state == "new" || state == "allocated" || state == "pending" || state == "assigned" ||
      state == "accepted" || state == "preparing" || state == "ready" || state == "starting") {
    return ContainerState::kCreated;
  }
  if (state == "running") return ContainerState::kRunning;
  if (state == "complete" || state == "shutdown" || state == "failed") {
    return ContainerState::kExited;
  }
  return ContainerState::kDead;
}

bool IsFinalTaskState(std::string_view state) {
  return state == "complete" || state == "shutdown" || state == "failed" || state == "rejected" ||
         state == "orphaned" || state == "remove";
}

docker::ServiceSpec ToServiceSpec(const ContainerSpec& spec, const std::string& image,
                                  int gateway_port, std::chrono::seconds stop_grace) {
  docker::ServiceSpec s;
  s.name = spec.name;
  s.labels = spec.labels;
  s.container_labels = spec.labels;
  s.image = image;
  for (const auto& [name, value] : spec.env) s.env.push_back(name + "=" + value);
  if (!spec.volume_name.empty()) {
    docker::MountSpec mount;
    mount.type = "volume";
    mount.source = spec.volume_name;
    mount.target = spec.volume_target;
    mount.volume_labels = spec.labels;
    s.mounts.push_back(std::move(mount));
  }
  if (!spec.network.empty()) s.networks = {spec.network};
  if (!spec.node_id.empty()) s.constraints = {"node.id==" + spec.node_id};
  s.memory_limit = spec.memory_bytes;
  s.memory_reservation = spec.memory_bytes;
  s.nano_cpus_limit = spec.nano_cpus;
  s.pids_limit = spec.pids_limit;
  s.init = true;
  s.cap_drop = {"ALL"};
  s.cap_add = spec.cap_add;
  s.restart_condition = "none";
  s.stop_grace_period = stop_grace;
  s.replicas = 0;
  s.ports = {docker::ServicePort{"tcp", spec.publish_port.value_or(gateway_port), 0, "host"}};
  return s;
}

}  // namespace berth::runtime
