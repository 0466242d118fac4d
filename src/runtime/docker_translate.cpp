#include "runtime/docker_translate.hpp"

#include <algorithm>
#include <string>

#include "docker/tar.hpp"
#include "runtime/docker_runtime.hpp"

namespace berth::runtime {

ContainerState ParseContainerState(std::string_view status) {
  if (status == "created") return ContainerState::kCreated;
  if (status == "running") return ContainerState::kRunning;
  if (status == "paused") return ContainerState::kPaused;
  if (status == "restarting") return ContainerState::kRestarting;
  if (status == "removing") return ContainerState::kRemoving;
  if (status == "exited") return ContainerState::kExited;
  return ContainerState::kDead;
}

docker::ContainerCreate ToContainerCreate(const ContainerSpec& spec) {
  docker::ContainerCreate c;
  c.name = spec.name;
  c.image = spec.image;
  for (const auto& [name, value] : spec.env) c.env.push_back(name + "=" + value);
  c.labels = spec.labels;
  if (!spec.network.empty()) {
    c.labels.emplace(DockerRuntime::kNetworkLabel, spec.network);
    c.network_mode = spec.network;
    c.network = spec.network;
  }
  if (!spec.volume_name.empty()) {
    docker::MountSpec mount;
    mount.type = "volume";
    mount.source = spec.volume_name;
    mount.target = spec.volume_target;
    mount.volume_labels = spec.labels;
    c.mounts.push_back(std::move(mount));
  }
  if (spec.memory_bytes > 0) {
    c.memory = spec.memory_bytes;
    c.memory_swap = spec.memory_bytes;  // no swap on top of the limit
  }
  // An unlimited agent (0) has nothing to burst above.
  c.nano_cpus = spec.nano_cpus > 0 ? std::max(spec.nano_cpus, spec.start_nano_cpus) : 0;
  c.pids_limit = spec.pids_limit;
  c.init = true;
  c.security_opt = {"no-new-privileges"};
  c.cap_drop = {"ALL"};
  c.cap_add = spec.cap_add;
  c.restart_policy = "no";
  if (spec.publish_port) {
    c.port_bindings[std::to_string(*spec.publish_port) + "/tcp"] = {{"127.0.0.1", ""}};
  }
  return c;
}

ContainerEventKind ParseContainerEventKind(std::string_view action) {
  if (action == "create") return ContainerEventKind::kCreated;
  if (action == "start") return ContainerEventKind::kStarted;
  if (action == "die") return ContainerEventKind::kDied;
  if (action == "oom") return ContainerEventKind::kOomKilled;
  if (action == "kill") return ContainerEventKind::kKilled;
  if (action == "stop") return ContainerEventKind::kStopped;
  if (action == "destroy") return ContainerEventKind::kDestroyed;
  if (action == "pause") return ContainerEventKind::kPaused;
  if (action == "unpause") return ContainerEventKind::kUnpaused;
  if (action == "restart") return ContainerEventKind::kRestarted;
  return ContainerEventKind::kOther;
}

Result<std::string> FileArchive(const ContainerRuntime::FileSpec& file) {
  docker::TarEntry entry;
  entry.name = file.name;
  entry.content = file.content;
  entry.uid = file.uid;
  entry.gid = file.gid;
  entry.mode = file.mode;
  entry.mtime = file.mtime;
  return docker::MakeSingleFileTar(entry);
}

}  // namespace berth::runtime
