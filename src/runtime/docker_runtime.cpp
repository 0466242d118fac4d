#include "runtime/docker_runtime.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>

#include "docker/docker_client.hpp"
#include "runtime/docker_translate.hpp"

namespace berth::runtime {
namespace {

using docker::DockerClient;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";

NetworkInfo ToNetworkInfo(const docker::NetworkDetails& n) {
  NetworkInfo info{n.id, n.name, n.subnet, n.gateway, n.internal, ""};
  if (n.driver == "bridge") {
    auto named = n.options.find(kBridgeNameOption);
    info.bridge = named != n.options.end() ? named->second : "br-" + n.id.substr(0, 12);
  }
  return info;
}

// An existing agents' network must route out exactly as BERTH_AGENT_EGRESS says.
Status CheckEgress(const docker::NetworkDetails& n, bool agent_egress) {
  if (n.internal == !agent_egress) return Status::Ok();
  return InvalidArgument("network " + n.name +
                         (agent_egress ? " has no route out but BERTH_AGENT_EGRESS is open"
                                       : " routes out but BERTH_AGENT_EGRESS is berth-only") +
                         ": remove it once no agent uses it (docker network rm " + n.name +
                         "), or name another network in OPENCLAW_NETWORK");
}

// The address on the network named by the berth.network label, else on the only (or first
// addressed) network.
std::string PickAddress(const docker::ContainerDetails& c) {
  if (auto label = c.labels.find(DockerRuntime::kNetworkLabel); label != c.labels.end()) {
    if (auto it = c.network_ips.find(label->second); it != c.network_ips.end()) return it->second;
  }
  for (const auto& [network, ip] : c.network_ips) {
    if (!ip.empty()) return ip;
  }
  return "";
}

// The host port of the first published port bound on IPv4 (127.0.0.1 preferred).
std::optional<int> PickPublishedPort(const docker::ContainerDetails& c) {
  std::optional<int> any;
  for (const auto& [port, bindings] : c.ports) {
    for (const docker::PortBinding& b : bindings) {
      if (b.host_port.empty() || b.host_ip.find(':') != std::string::npos) continue;
      int value = std::atoi(b.host_port.c_str());
      if (value <= 0) continue;
      if (b.host_ip == "127.0.0.1") return value;
      if (!any) any = value;
    }
  }
  return any;
}

// A duplicate left by racing creates goes once unused. Still in use (409), or already gone (404,
// the other process removed it): the next EnsureNetwork tries again, so only a debug line.
void RemoveDuplicateNetwork(DockerClient& client, const std::string& name, const std::string& id) {
  Status removed = client.RemoveNetwork(id);
  if (removed.ok()) return;
  const bool expected =
      removed.code() == ErrorCode::kNotFound || removed.code() == ErrorCode::kAlreadyExists;
  if (expected) {
    spdlog::debug("runtime: duplicate network {} ({}) not removed yet: {}", name, id.substr(0, 12),
                  removed.message());
  } else {
    spdlog::warn("runtime: cannot remove duplicate network {} ({}): {}", name, id.substr(0, 12),
                 removed.message());
  }
}

class DockerEvents final : public EventStream {
 public:
  explicit DockerEvents(std::unique_ptr<docker::DockerEventStream> stream)
      : stream_(std::move(stream)) {}

  Result<ContainerEvent> Next() override {
    for (;;) {
      if (closed_) return Unavailable("event stream closed");
      auto event = stream_->Next();
      if (!event.ok()) {
        if (closed_) return Unavailable("event stream closed");
        return event.status();
      }
      if (!event->type.empty() && event->type != "container") continue;
      ContainerEvent out;
      out.container_id = event->actor_id;
      out.kind = ParseContainerEventKind(event->action);
      out.labels = event->attributes;
      if (auto code = event->attributes.find("exitCode"); code != event->attributes.end()) {
        out.exit_code = std::atoi(code->second.c_str());
      }
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

DockerRuntimeOptions DockerRuntimeOptions::FromEnvironment(std::string docker_host) {
  DockerRuntimeOptions options;
  options.docker_host = std::move(docker_host);
  options.tls_verify = Env("DOCKER_TLS_VERIFY");
  options.cert_path = Env("DOCKER_CERT_PATH");
  return options;
}

Result<std::shared_ptr<DockerRuntime>> DockerRuntime::Create(const DockerRuntimeOptions& options) {
  auto endpoint =
      docker::ParseDockerHost(options.docker_host, options.tls_verify, options.cert_path);
  if (!endpoint.ok()) return endpoint.status();
  docker::DockerClientOptions client_options;
  client_options.call_timeout = options.call_timeout;
  auto client = DockerClient::Create(std::move(endpoint).value(), client_options);
  if (!client.ok()) return client.status();
  return std::make_shared<DockerRuntime>(std::move(client).value(), options.network_labels,
                                         options.agent_egress);
}

DockerRuntime::DockerRuntime(std::unique_ptr<DockerClient> client, Labels network_labels,
                             bool agent_egress)
    : client_(std::move(client)),
      network_labels_(std::move(network_labels)),
      agent_egress_(agent_egress) {}

DockerRuntime::~DockerRuntime() = default;

Result<std::string> DockerRuntime::Ping() {
  auto version = client_->Version();
  if (!version.ok()) return version.status();
  auto api = client_->ApiVersion();
  if (!api.ok()) return api.status();
  return "docker " + version->version + " (API " + *api + ")";
}

Status DockerRuntime::EnsureImage(const std::string& image) {
  auto inspected = client_->InspectImage(image);
  if (inspected.ok()) return Status::Ok();
  if (inspected.status().code() != ErrorCode::kNotFound) return inspected.status();
  Status pulled = client_->PullImage(image);
  if (pulled.ok()) return pulled;
  if (pulled.code() == ErrorCode::kUnavailable) {
    return Unavailable("cannot pull image " + image + ": " + pulled.message());
  }
  return NotFound("image " + image + " is not present and pulling it failed: " + pulled.message());
}

Result<NetworkInfo> DockerRuntime::EnsureNetwork(const std::string& name, bool isolated) {
  std::lock_guard lock(network_mu_);
  auto existing = client_->ListNetworksNamed(name);
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) {
    // Duplicates left by racing processes: the smallest id wins; the others go once unused.
    for (std::size_t i = 1; i < existing->size(); ++i) {
      RemoveDuplicateNetwork(*client_, name, (*existing)[i].id);
    }
    BERTH_RETURN_IF_ERROR(CheckEgress(existing->front(), agent_egress_));
    return ToNetworkInfo(existing->front());
  }
  docker::NetworkCreate create;
  create.name = name;
  create.driver = "bridge";
  if (isolated) create.options[kIccOption] = "false";
  create.labels = network_labels_;
  create.internal = !agent_egress_;
  auto id = client_->CreateNetwork(create);
  // kAlreadyExists: another process created it first; use theirs.
  if (!id.ok() && id.status().code() != ErrorCode::kAlreadyExists) return id.status();
  auto named = client_->ListNetworksNamed(name);
  if (!named.ok()) return named.status();
  if (named->empty()) return Internal("network " + name + " vanished right after its creation");
  // Concurrent creates in several processes can all succeed: every process picks the smallest
  // id it sees and removes its own network when it lost (a creation still under way elsewhere
  // may be missed; the next EnsureNetwork then removes the unused duplicates).
  const docker::NetworkDetails& winner = named->front();
  if (id.ok() && *id != winner.id) RemoveDuplicateNetwork(*client_, name, *id);
  BERTH_RETURN_IF_ERROR(CheckEgress(winner, agent_egress_));
  return ToNetworkInfo(winner);
}

Result<std::string> DockerRuntime::Create(const ContainerSpec& spec) {
  if (!spec.volume_name.empty() && spec.volume_target.empty()) {
    return InvalidArgument("container " + spec.name + ": volume " + spec.volume_name +
                           " has no mount point");
  }
  return client_->CreateContainer(ToContainerCreate(spec));
}

Status DockerRuntime::Start(const std::string& id) { return client_->StartContainer(id); }

Status DockerRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  // A frozen process sees no signal. Docker 20.10 did not always thaw a paused container for the
  // stop's SIGTERM (measured: after a quick unpause and pause, the stop ended in the grace's
  // SIGKILL, exit 137), so the thaw comes first: unpausing a running container is ok, and the
  // stop reports a container that is gone or not running.
  (void)client_->UnpauseContainer(id);
  return client_->StopContainer(id, grace);
}

Status DockerRuntime::Kill(const std::string& id) {
  Status status = client_->KillContainer(id);
  // 409 "Container ... is not running": already in the state a kill asks for.
  if (status.code() == ErrorCode::kAlreadyExists &&
      status.message().find("is not running") != std::string::npos) {
    return Status::Ok();
  }
  return status;
}

Status DockerRuntime::Pause(const std::string& id) { return client_->PauseContainer(id); }

Status DockerRuntime::Unpause(const std::string& id) { return client_->UnpauseContainer(id); }

Status DockerRuntime::SetCpuLimit(const std::string& id, int64_t nano_cpus) {
  return client_->UpdateContainerCpus(id, nano_cpus);
}

Status DockerRuntime::Remove(const std::string& id, bool force) {
  return client_->RemoveContainer(id, force, /*remove_anonymous_volumes=*/false);
}

Status DockerRuntime::RemoveVolume(const std::string& name) {
  return client_->RemoveVolume(name, /*force=*/false);
}

Result<ContainerInfo> DockerRuntime::Inspect(const std::string& id_or_name) {
  auto details = client_->InspectContainer(id_or_name);
  if (!details.ok()) return details.status();
  ContainerInfo info;
  info.id = details->id;
  info.name = details->name;
  info.image = details->image;
  info.labels = details->labels;
  info.state = ParseContainerState(details->status);
  info.oom_killed = details->oom_killed;
  info.exit_code = details->exit_code;
  info.error = details->error;
  info.started_at = details->started_at;
  info.finished_at = details->finished_at;
  info.ip_address = PickAddress(*details);
  info.published_port = PickPublishedPort(*details);
  return info;
}

Result<std::vector<ContainerSummary>> DockerRuntime::List(const Labels& labels) {
  auto entries = client_->ListContainers(labels, /*all=*/true);
  if (!entries.ok()) return entries.status();
  std::vector<ContainerSummary> out;
  out.reserve(entries->size());
  for (docker::ContainerListEntry& e : *entries) {
    out.push_back({std::move(e.id), std::move(e.name), std::move(e.image), std::move(e.labels),
                   ParseContainerState(e.state)});
  }
  return out;
}

Result<std::string> DockerRuntime::Logs(const std::string& id, int tail) {
  auto logs = client_->ContainerLogs(id, tail);
  if (!logs.ok()) return logs.status();
  return std::move(logs->combined);
}

Status DockerRuntime::PutFile(const std::string& id, const FileSpec& file) {
  auto tar = FileArchive(file);
  if (!tar.ok()) return tar.status();
  return client_->PutArchive(id, file.dir, *tar);
}

Result<std::unique_ptr<EventStream>> DockerRuntime::Events(const Labels& labels) {
  std::map<std::string, std::vector<std::string>> filters{{"type", {"container"}}};
  if (!labels.empty()) filters["label"] = docker::LabelFilters(labels);
  auto stream = client_->Events(filters);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<EventStream>(std::make_unique<DockerEvents>(std::move(stream).value()));
}

}  // namespace berth::runtime
