#include "runtime/swarm_runtime.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <thread>

#include "docker/docker_client.hpp"
#include "runtime/docker_translate.hpp"
#include "runtime/swarm_events.hpp"
#include "runtime/swarm_network.hpp"
#include "runtime/swarm_node_engines.hpp"
#include "runtime/swarm_placement.hpp"
#include "runtime/swarm_translate.hpp"

namespace berth::runtime {
namespace {

using docker::DockerClient;
using Clock = std::chrono::steady_clock;

constexpr int kScaleAttempts = 8;
// How long a placement counts against its node while its service shows no task (PendingPlacements):
// past any start's create and scale, which then failed.
constexpr std::chrono::seconds kPendingPlacementTtl{60};

bool IsDigestReference(const std::string& image) {
  return image.find("@sha256:") != std::string::npos;
}

// "host:5000/berth/agent:1.0" → "host:5000/berth/agent".
std::string Repository(const std::string& image) {
  const auto at = image.find('@');
  std::string repo = image.substr(0, at);
  const auto colon = repo.rfind(':');
  const auto slash = repo.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo.resize(colon);
  }
  return repo;
}

// The task that speaks for the service: the newest one meant to run, else the newest one.
const docker::SwarmTask* PickTask(const std::vector<docker::SwarmTask>& tasks) {
  const docker::SwarmTask* best = nullptr;
  auto newer = [](const docker::SwarmTask& a, const docker::SwarmTask* b) {
    return b == nullptr || a.created_at > b->created_at;
  };
  for (const auto& t : tasks) {
    if (t.desired_state == "running" && newer(t, best)) best = &t;
  }
  if (best != nullptr) return best;
  for (const auto& t : tasks) {
    if (newer(t, best)) best = &t;
  }
  return best;
}

}  // namespace

Result<std::shared_ptr<SwarmRuntime>> SwarmRuntime::Create(const SwarmRuntimeOptions& options) {
  auto endpoint =
      docker::ParseDockerHost(options.docker_host, options.tls_verify, options.cert_path);
  if (!endpoint.ok()) return endpoint.status();
  docker::DockerClientOptions client_options;
  client_options.call_timeout = options.call_timeout;
  auto client = DockerClient::Create(std::move(endpoint).value(), client_options);
  if (!client.ok()) return client.status();
  std::unique_ptr<SwarmNodeEngines> engines;
  if (!options.node_engines.empty()) {
    SwarmNodeEnginesOptions engine_options;
    engine_options.hosts = options.node_engines;
    engine_options.tls_verify = options.tls_verify;
    engine_options.cert_path = options.cert_path;
    engine_options.call_timeout = options.call_timeout;
    engine_options.retry_interval = options.node_engine_retry;
    auto made = SwarmNodeEngines::Create(engine_options);
    if (!made.ok()) return made.status();
    engines = std::move(made).value();
  }
  return std::make_shared<SwarmRuntime>(std::move(client).value(), std::move(engines), options);
}

SwarmRuntime::SwarmRuntime(std::unique_ptr<DockerClient> client,
                           std::unique_ptr<SwarmNodeEngines> node_engines,
                           SwarmRuntimeOptions options)
    : client_(std::move(client)),
      node_engines_(std::move(node_engines)),
      options_(std::move(options)),
      pending_(kPendingPlacementTtl) {}

SwarmRuntime::~SwarmRuntime() = default;

Result<std::string> SwarmRuntime::Ping() {
  auto info = client_->Info();
  if (!info.ok()) return info.status();
  auto api = client_->ApiVersion();
  if (!api.ok()) return api.status();
  if (!info->swarm.control_available) {
    std::string state =
        info->swarm.local_node_state.empty() ? "unknown" : info->swarm.local_node_state;
    return InvalidArgument("the docker engine at " + client_->endpoint().ToString() + " (" +
                           info->name + ") is not a swarm manager (swarm state: " + state +
                           "); the swarm runtime needs DOCKER_HOST to name a manager");
  }
  return "swarm manager " + info->name + ": docker " + info->server_version + " (API " + *api +
         "), " + std::to_string(info->swarm.nodes) + " nodes";
}

Status SwarmRuntime::EnsureImage(const std::string& image) {
  if (IsDigestReference(image)) return Status::Ok();
  auto inspected = client_->InspectImage(image);
  if (inspected.ok() && !inspected->repo_digests.empty()) return Status::Ok();
  if (!inspected.ok() && inspected.status().code() != ErrorCode::kNotFound) {
    return inspected.status();
  }
  return NotFound("image " + image +
                  " has no registry digest on the swarm manager: push it to a registry every node "
                  "pulls from and use that reference, so nodes pull it by digest");
}

std::string SwarmRuntime::DigestReference(const std::string& image) {
  if (IsDigestReference(image)) return image;
  auto inspected = client_->InspectImage(image);
  if (!inspected.ok() || inspected->repo_digests.empty()) return image;
  const std::string repo = Repository(image);
  for (const std::string& digest : inspected->repo_digests) {
    if (Repository(digest) == repo) return digest;
  }
  return inspected->repo_digests.front();
}

Result<NetworkInfo> SwarmRuntime::EnsureNetwork(const std::string& name, bool isolated) {
  if (node_engines_ != nullptr && !node_engines_->empty()) {
    // Made (or checked) on every node that answers now; a node that does not gets its part at
    // the next initialization (berth checks the network again whenever the engine returns).
    std::vector<std::shared_ptr<docker::DockerClient>> held;
    std::vector<docker::DockerClient*> answering;
    for (const SwarmNodeEngines::Engine& engine : node_engines_->All()) {
      Status up = engine.client->Ping();
      if (!up.ok()) {
        spdlog::warn("swarm: node engine {} does not answer ({}); its part of network {} waits",
                     engine.host, up.message(), name);
        continue;
      }
      held.push_back(engine.client);
      answering.push_back(engine.client.get());
    }
    if (answering.empty()) {
      return Unavailable(
          "no node engine of BERTH_SWARM_NODE_ENGINES answers: cannot make network " + name);
    }
    return EnsureSwarmBridge(*client_, answering, name, isolated);
  }
  auto named = client_->ListNetworksNamed(name);
  if (!named.ok()) return named.status();
  for (const docker::NetworkDetails& n : *named) {
    if (n.scope == "swarm") return NetworkInfo{n.id, n.name, n.subnet, "", false, ""};
  }
  const std::string config = SwarmBridgeConfigName(name);
  std::string how =
      "set BERTH_SWARM_NODE_ENGINES so berth makes it, or create a config-only "
      "network " +
      config + " on every node";
  if (isolated) how += " with -o com.docker.network.bridge.enable_icc=false";
  return NotFound("swarm network " + name + " is missing: " + how +
                  ", then `docker network create --scope swarm --config-from " + config + " " +
                  name + "` on a manager");
}

Result<std::string> SwarmRuntime::Create(const ContainerSpec& spec) {
  if (!spec.volume_name.empty() && spec.volume_target.empty()) {
    return InvalidArgument("service " + spec.name + ": volume " + spec.volume_name +
                           " has no mount point");
  }
  auto created = client_->CreateService(
      ToServiceSpec(spec, DigestReference(spec.image), options_.gateway_port, options_.stop_grace));
  if (!spec.node_id.empty()) {
    std::lock_guard lock(placement_mu_);
    if (created.ok()) {
      pending_.Name(spec.node_id, *created);
    } else {
      pending_.Forget(spec.node_id);
    }
  }
  return created;
}

Status SwarmRuntime::Scale(const std::string& id, uint64_t replicas) {
  Status last = Status::Ok();
  for (int attempt = 0; attempt < kScaleAttempts; ++attempt) {
    auto service = client_->InspectService(id);
    if (!service.ok()) return service.status();
    if (service->spec.replicas == replicas) return Status::Ok();
    last = client_->ScaleService(*service, replicas);
    if (last.code() != ErrorCode::kAborted) return last;
  }
  return last;
}

Status SwarmRuntime::Start(const std::string& id) {
  // A task of the last run that the manager is still removing holds its slot: scaled up
  // meanwhile, the service was seen to stay at 0/1 with no task at all once that task was gone
  // (docker 20.10; a stop followed at once by a start). So wait for it to go first.
  const auto deadline = Clock::now() + options_.call_timeout;
  for (;;) {
    auto tasks = client_->ListTasks({{"service", {id}}});
    if (!tasks.ok()) return tasks.status();
    const bool removing = std::any_of(tasks->begin(), tasks->end(), [](const docker::SwarmTask& t) {
      return t.desired_state == "remove";
    });
    if (!removing) break;
    if (Clock::now() >= deadline) {
      return Unavailable("service " + id + ": a task of its last run is still being removed");
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  return Scale(id, 1);
}

Status SwarmRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  if (SupportsPause()) {
    // A paused container gets the stop's signal only once thawed (DockerRuntime::Stop).
    auto task = FindRunningTask(id, "service " + id);
    if (task.ok()) (void)task->engine->UnpauseContainer(task->container_id);
  }
  BERTH_RETURN_IF_ERROR(Scale(id, 0));
  const auto deadline = Clock::now() + options_.stop_grace + grace + options_.call_timeout;
  for (;;) {
    auto tasks = client_->ListTasks({{"service", {id}}});
    if (!tasks.ok()) return tasks.status();
    std::vector<docker::SwarmTask> left;
    for (docker::SwarmTask& t : *tasks) {
      if (!IsFinalTaskState(t.state) && t.state != "new" && t.state != "pending") {
        left.push_back(std::move(t));
      }
    }
    if (left.empty()) return Status::Ok();
    // A task on a lost node reads running until the node comes back: nothing of it runs.
    auto nodes = Nodes(left);
    if (!nodes.ok()) return nodes.status();
    if (std::all_of(left.begin(), left.end(),
                    [&](const docker::SwarmTask& t) { return OnLostNode(t, *nodes); })) {
      return Status::Ok();
    }
    if (Clock::now() >= deadline) {
      return Unavailable("service " + id + ": a task is still running after the stop deadline");
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
}

Status SwarmRuntime::Kill(const std::string& id) { return Scale(id, 0); }

Status SwarmRuntime::Remove(const std::string& id, bool force) {
  if (!force) {
    auto info = Inspect(id);
    if (!info.ok()) return info.status();
    if (info->state == ContainerState::kRunning) {
      return AlreadyExists("service " + id + " has a running task: stop it first");
    }
  }
  return client_->RemoveService(id);
}

Status SwarmRuntime::RemoveVolume(const std::string& name) {
  if (node_engines_ == nullptr) {
    Status removed = client_->RemoveVolume(name, /*force=*/false);
    if (removed.code() == ErrorCode::kNotFound) {
      return NotFound("volume " + name +
                      " is not on the swarm manager's engine, the only one this runtime reaches: "
                      "list every node's engine in BERTH_SWARM_NODE_ENGINES");
    }
    return removed;
  }
  bool removed = false;
  std::string unanswered;
  // A removed service's task container goes a moment later (its stop grace at most): until then
  // its volume is in use.
  const auto deadline = Clock::now() + options_.stop_grace + options_.call_timeout;
  for (const SwarmNodeEngines::Engine& engine : node_engines_->All()) {
    Status st = engine.client->RemoveVolume(name, /*force=*/false);
    while (st.code() == ErrorCode::kAlreadyExists && Clock::now() < deadline) {
      std::this_thread::sleep_for(options_.poll_interval);
      st = engine.client->RemoveVolume(name, /*force=*/false);
    }
    if (st.ok()) {
      removed = true;
    } else if (st.code() == ErrorCode::kUnavailable) {
      unanswered += (unanswered.empty() ? "" : ", ") + engine.host;
    } else if (st.code() != ErrorCode::kNotFound) {
      return st;  // in use (kAlreadyExists), or refused
    }
  }
  if (removed) return Status::Ok();
  if (!unanswered.empty()) {
    return Unavailable("volume " + name + " is on none of the node engines that answered; " +
                       unanswered + " did not answer");
  }
  return NotFound("volume " + name + " is on no node engine (BERTH_SWARM_NODE_ENGINES)");
}

Result<ContainerInfo> SwarmRuntime::Inspect(const std::string& id_or_name) {
  auto service = client_->InspectService(id_or_name);
  if (!service.ok()) return service.status();
  auto tasks = client_->ListTasks({{"service", {service->id}}});
  if (!tasks.ok()) return tasks.status();
  ContainerInfo info;
  info.id = service->id;
  info.name = service->spec.name;
  info.image = service->spec.image;
  info.labels = service->spec.labels;
  const docker::SwarmTask* task = PickTask(*tasks);
  if (task == nullptr) return info;  // kCreated: never scaled up
  if (service->spec.replicas > 0 && task->desired_state != "running" && service->updated_at &&
      task->created_at && *task->created_at < *service->updated_at) {
    // Scaled up a moment ago and its task not made yet: what was found ended an earlier run.
    return info;  // kCreated
  }
  auto nodes = Nodes(*tasks);
  if (!nodes.ok()) return nodes.status();
  auto hostname = [&](const std::string& node_id) {
    auto it = nodes->find(node_id);
    return it == nodes->end() ? std::string() : it->second.hostname;
  };
  const bool runs =
      task->state == "running" && !task->node_id.empty() && !OnLostNode(*task, *nodes);
  if (const docker::SwarmTask* lost = NewestOnLostNode(*tasks, *nodes); lost && !runs) {
    info.state = ContainerState::kDead;
    info.error = LostNodeError(*lost, *nodes);
    info.node = hostname(lost->node_id);
    return info;
  }
  info.state = ParseTaskState(task->state);
  if (runs && SupportsPause() && !task->container_id.empty()) {
    // Paused through its node's engine (swarm_pause.cpp): the manager still says running.
    if (auto engine = node_engines_->ForNode(task->node_id)) {
      auto container = engine->InspectContainer(task->container_id);
      if (container.ok() && container->status == "paused") info.state = ContainerState::kPaused;
    }
  }
  info.exit_code = task->exit_code;
  info.error = task->error;
  info.node = hostname(task->node_id);
  if (IsFinalTaskState(task->state)) info.finished_at = task->timestamp;
  if (!runs) return info;
  info.started_at = task->timestamp;
  info.ip_address = nodes->at(task->node_id).addr;
  const int target =
      service->spec.ports.empty() ? options_.gateway_port : service->spec.ports.front().target_port;
  for (const docker::ServicePort& p : task->ports) {
    if (p.target_port == target && p.published_port > 0) info.published_port = p.published_port;
  }
  return info;
}

Result<NodesById> SwarmRuntime::Nodes(const std::vector<docker::SwarmTask>& tasks) {
  NodesById out;
  const bool on_nodes = std::any_of(tasks.begin(), tasks.end(),
                                    [](const docker::SwarmTask& t) { return !t.node_id.empty(); });
  if (!on_nodes) return out;
  auto listed = client_->ListNodes();
  if (!listed.ok()) return listed.status();
  for (docker::SwarmNode& n : *listed) out[n.id] = std::move(n);
  return out;
}

std::string SwarmRuntime::NodeName(const std::string& node_id) {
  auto node = client_->InspectNode(node_id);
  if (!node.ok() || node->hostname.empty()) return node_id;
  return node->hostname + " (" + node_id + ")";
}

Result<std::vector<ContainerSummary>> SwarmRuntime::List(const Labels& labels) {
  auto services = client_->ListServices(labels);
  if (!services.ok()) return services.status();
  auto listed = client_->ListNodes();
  if (!listed.ok()) return listed.status();
  NodesById nodes;
  bool any_lost = false;
  for (docker::SwarmNode& n : *listed) {
    any_lost = any_lost || IsNodeLost(n.state);
    nodes[n.id] = std::move(n);
  }
  // With a node lost, the tasks the manager stopped wanting on it too (OnLostNode).
  std::vector<std::string> desired = {"running"};
  if (any_lost) desired.push_back("shutdown");
  auto tasks = client_->ListTasks({{"desired-state", desired}});
  if (!tasks.ok()) return tasks.status();
  std::map<std::string, std::vector<docker::SwarmTask>> by_service;
  for (docker::SwarmTask& t : *tasks) by_service[t.service_id].push_back(std::move(t));
  std::vector<docker::SwarmTask> ours;  // the tasks of the listed services
  for (const docker::ServiceDetails& s : *services) {
    const auto it = by_service.find(s.id);
    if (it != by_service.end()) ours.insert(ours.end(), it->second.begin(), it->second.end());
  }
  const std::set<std::string> paused = PausedContainers(ours, labels);
  std::vector<ContainerSummary> out;
  out.reserve(services->size());
  for (docker::ServiceDetails& s : *services) {
    const std::vector<docker::SwarmTask>& mine = by_service[s.id];
    const docker::SwarmTask* task = PickTask(mine);
    if (task != nullptr && task->desired_state != "running") task = nullptr;
    const bool runs = task != nullptr && task->state == "running" && !OnLostNode(*task, nodes);
    ContainerState state = ContainerState::kExited;
    if (!runs && NewestOnLostNode(mine, nodes) != nullptr) {
      state = ContainerState::kDead;
    } else if (task != nullptr) {
      state = runs && paused.count(task->container_id) > 0 ? ContainerState::kPaused
                                                           : ParseTaskState(task->state);
    } else if (s.running_tasks.value_or(0) > 0) {
      state = ContainerState::kRunning;  // scaled to 0, its task still stopping
    } else if (s.spec.replicas > 0) {
      state = ContainerState::kCreated;
    }
    out.push_back({std::move(s.id), std::move(s.spec.name), std::move(s.spec.image),
                   std::move(s.spec.labels), state});
  }
  return out;
}

Result<std::string> SwarmRuntime::Logs(const std::string& id, int tail) {
  auto logs = client_->ServiceLogs(id, tail);
  if (!logs.ok()) return logs.status();
  return std::move(logs->combined);
}

Status SwarmRuntime::PutFile(const std::string& id, const FileSpec& file) {
  auto task =
      FindRunningTask(id, "cannot write " + file.dir + "/" + file.name + " into service " + id);
  if (!task.ok()) return task.status();
  auto tar = FileArchive(file);
  if (!tar.ok()) return tar.status();
  return task->engine->PutArchive(task->container_id, file.dir, *tar);
}

Result<std::unique_ptr<EventStream>> SwarmRuntime::Events(const Labels& labels) {
  return SwarmEvents::Subscribe(client_, labels);
}

Result<std::optional<NodePlacement>> SwarmRuntime::PlaceAgent(int64_t memory_bytes) {
  std::lock_guard lock(placement_mu_);
  auto nodes = client_->ListNodes();
  if (!nodes.ok()) return nodes.status();
  auto tasks = client_->ListTasks({{"desired-state", {"running"}}});
  if (!tasks.ok()) return tasks.status();
  const auto now = Clock::now();
  auto chosen = ChooseNode(*nodes, *tasks, memory_bytes, pending_.Reserved(*tasks, now));
  if (!chosen.ok()) return chosen.status();
  pending_.Add(chosen->id, memory_bytes, now);
  return std::optional<NodePlacement>(std::move(chosen).value());
}

Status SwarmRuntime::CheckNode(const NodePlacement& node) {
  auto inspected = client_->InspectNode(node.id);
  if (!inspected.ok()) {
    if (inspected.status().code() == ErrorCode::kNotFound) return CheckNodeUsable(nullptr, node);
    return inspected.status();
  }
  return CheckNodeUsable(&*inspected, node);
}

}  // namespace berth::runtime
