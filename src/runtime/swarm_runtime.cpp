#include "runtime/swarm_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "docker/docker_client.hpp"
#include "runtime/swarm_translate.hpp"

namespace berth::runtime {
namespace {

using docker::DockerClient;
using Clock = std::chrono::steady_clock;

constexpr int kScaleAttempts = 8;

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

class ServiceEvents final : public EventStream {
 public:
  explicit ServiceEvents(std::unique_ptr<docker::DockerEventStream> stream)
      : stream_(std::move(stream)) {}

  Result<ContainerEvent> Next() override {
    for (;;) {
      if (closed_) return Unavailable("event stream closed");
      auto event = stream_->Next();
      if (!event.ok()) {
        if (closed_) return Unavailable("event stream closed");
        return event.status();
      }
      if (event->type != "service") continue;
      ContainerEvent out;
      out.container_id = event->actor_id;
      out.kind = event->action == "create"   ? ContainerEventKind::kCreated
                 : event->action == "remove" ? ContainerEventKind::kDestroyed
                                             : ContainerEventKind::kOther;
      out.labels = event->attributes;
      out.time = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::nanoseconds(event->time_nano)));
      return out;
    }
  }

  void Close() override {
    closed_ = true;
    stream_->Close();
  }

 private:
  std::unique_ptr<docker::DockerEventStream> stream_;
  std::atomic<bool> closed_{false};
};

}  // namespace

Result<std::shared_ptr<SwarmRuntime>> SwarmRuntime::Create(const SwarmRuntimeOptions& options) {
  auto endpoint =
      docker::ParseDockerHost(options.docker_host, options.tls_verify, options.cert_path);
  if (!endpoint.ok()) return endpoint.status();
  docker::DockerClientOptions client_options;
  client_options.call_timeout = options.call_timeout;
  auto client = DockerClient::Create(std::move(endpoint).value(), client_options);
  if (!client.ok()) return client.status();
  return std::make_shared<SwarmRuntime>(std::move(client).value(), options);
}

SwarmRuntime::SwarmRuntime(std::unique_ptr<DockerClient> client, SwarmRuntimeOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

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
  auto named = client_->ListNetworksNamed(name);
  if (!named.ok()) return named.status();
  for (const docker::NetworkDetails& n : *named) {
    if (n.scope == "swarm") return NetworkInfo{n.id, n.name, n.subnet, n.gateway};
  }
  std::string how = "create a config-only network " + name + "-config on every node";
  if (isolated) how += " with -o com.docker.network.bridge.enable_icc=false";
  return NotFound("swarm network " + name + " is missing: " + how +
                  ", then `docker network create --scope swarm --config-from " + name + "-config " +
                  name + "` on a manager");
}

Result<std::string> SwarmRuntime::Create(const ContainerSpec& spec) {
  if (!spec.volume_name.empty() && spec.volume_target.empty()) {
    return InvalidArgument("service " + spec.name + ": volume " + spec.volume_name +
                           " has no mount point");
  }
  return client_->CreateService(
      ToServiceSpec(spec, DigestReference(spec.image), options_.gateway_port, options_.stop_grace));
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

Status SwarmRuntime::Start(const std::string& id) { return Scale(id, 1); }

Status SwarmRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  BERTH_RETURN_IF_ERROR(Scale(id, 0));
  const auto deadline = Clock::now() + options_.stop_grace + grace + options_.call_timeout;
  for (;;) {
    auto tasks = client_->ListTasks({{"service", {id}}});
    if (!tasks.ok()) return tasks.status();
    const bool done = std::all_of(tasks->begin(), tasks->end(), [](const docker::SwarmTask& t) {
      return IsFinalTaskState(t.state) || t.state == "new" || t.state == "pending";
    });
    if (done) return Status::Ok();
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
  Status removed = client_->RemoveVolume(name, /*force=*/false);
  if (removed.code() == ErrorCode::kNotFound) {
    return NotFound("volume " + name +
                    " is not on the swarm manager's engine: an agent's volume lives on the node "
                    "that ran it, which this runtime cannot reach yet");
  }
  return removed;
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
  info.state = ParseTaskState(task->state);
  info.exit_code = task->exit_code;
  info.error = task->error;
  if (info.state == ContainerState::kRunning) info.started_at = task->timestamp;
  if (IsFinalTaskState(task->state)) info.finished_at = task->timestamp;
  if (task->state == "running" && !task->node_id.empty()) {
    info.ip_address = NodeAddress(task->node_id);
    const int target = service->spec.ports.empty() ? options_.gateway_port
                                                   : service->spec.ports.front().target_port;
    for (const docker::ServicePort& p : task->ports) {
      if (p.target_port == target && p.published_port > 0) info.published_port = p.published_port;
    }
  }
  return info;
}

std::string SwarmRuntime::NodeAddress(const std::string& node_id) {
  {
    std::lock_guard lock(nodes_mu_);
    if (auto it = node_addresses_.find(node_id); it != node_addresses_.end()) return it->second;
  }
  auto nodes = client_->ListNodes();
  if (!nodes.ok()) return "";
  std::lock_guard lock(nodes_mu_);
  node_addresses_.clear();  // nodes that left the swarm go too
  for (const docker::SwarmNode& n : *nodes) node_addresses_[n.id] = n.addr;
  auto it = node_addresses_.find(node_id);
  return it == node_addresses_.end() ? "" : it->second;
}

Result<std::vector<ContainerSummary>> SwarmRuntime::List(const Labels& labels) {
  auto services = client_->ListServices(labels);
  if (!services.ok()) return services.status();
  std::vector<ContainerSummary> out;
  out.reserve(services->size());
  for (docker::ServiceDetails& s : *services) {
    ContainerState state = ContainerState::kExited;
    if (s.running_tasks.value_or(0) > 0) {
      state = ContainerState::kRunning;
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
  return Internal("cannot write " + file.dir + "/" + file.name + " into service " + id +
                  ": the swarm runtime does not reach the nodes' engines yet");
}

Result<std::unique_ptr<EventStream>> SwarmRuntime::Events(const Labels& labels) {
  std::map<std::string, std::vector<std::string>> filters{{"type", {"service"}}};
  if (!labels.empty()) filters["label"] = docker::LabelFilters(labels);
  auto stream = client_->Events(filters);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<EventStream>(std::make_unique<ServiceEvents>(std::move(stream).value()));
}

}  // namespace berth::runtime
