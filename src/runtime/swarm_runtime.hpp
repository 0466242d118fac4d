#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/container_runtime.hpp"

namespace berth::docker {
class DockerClient;
}  // namespace berth::docker

namespace berth::runtime {

struct SwarmRuntimeOptions {
  // A manager's engine, in DOCKER_HOST's forms (see docker::ParseDockerHost).
  std::string docker_host;
  std::string tls_verify;  // DOCKER_TLS_VERIFY
  std::string cert_path;   // DOCKER_CERT_PATH
  // Deadline of each engine call; Stop waits up to stop_grace + grace + this for the task to end.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // The agent's gateway port in its container: published in host mode on a port each node picks
  // (unless ContainerSpec::publish_port names another target port).
  int gateway_port = 18789;
  // The services' StopGracePeriod. Fixed at create: changing it later would change the task
  // template, which replaces a running task.
  std::chrono::seconds stop_grace{10};
  // How often Stop looks at the tasks while it waits.
  std::chrono::milliseconds poll_interval{200};
};

// ContainerRuntime on a Docker Swarm, through one manager's Engine API (1.41). NOT WIRED INTO
// berth YET (issue 13): a first cut of the seam's calls the lifecycle makes to start, inspect,
// list, stop and remove agents; the gaps are listed below.
//
// One service per agent: the handle the seam calls a container id is the service's id. Create
// makes the service with 0 replicas (ToServiceSpec in swarm_translate.hpp: the memory limit doubles
// as the reservation, the gateway port published in host mode on a node-chosen port, the image by
// digest), Start scales it to 1, Stop and Kill to 0, Remove removes it. Every scale is a
// compare-and-swap on the service's version, retried on a conflict. Inspect reports the newest
// task meant to run (else the newest task): its state (ParseTaskState), the task's own error, and
// as ip_address the address of the task's node and as published_port the port that node picked:
// an agent answers at ip_address:published_port (no AddressMode does that yet). List costs one
// call (services with their task counts). Thread-safe.
//
// Gaps, for issue 13:
// - no-new-privileges: Swarm's API 1.41 has no such field; the nodes' daemons must run with
//   --no-new-privileges (scripts/swarm-cluster.sh starts them so).
// - EnsureNetwork only finds an existing swarm-scoped network (kNotFound otherwise, naming the
//   steps): its per-node config-only networks must be made on each node, which a manager cannot.
// - PutFile (config push) needs the engine of the node the task runs on: kInternal for now.
// - RemoveVolume reaches only the manager's own engine; an agent's volume lives on its node.
// - Events reports only service creation and removal (the manager sees no container events).
// - No placement constraint yet (pinning a user to the node holding their volume).
// - The gateway is published on every address of its node, so agents reach each other's
//   published ports: each node needs packet-filter rules admitting only berth (ARCHITECTURE.md).
class SwarmRuntime final : public ContainerRuntime {
 public:
  // kInvalidArgument for a malformed DOCKER_HOST or unreadable TLS files. Does not contact the
  // engine (Ping does, and says when it is not a manager).
  static Result<std::shared_ptr<SwarmRuntime>> Create(const SwarmRuntimeOptions& options);
  SwarmRuntime(std::unique_ptr<docker::DockerClient> client, SwarmRuntimeOptions options);
  ~SwarmRuntime() override;

  // "swarm manager <hostname>: docker <version> (API <v>), <n> nodes"; kInvalidArgument when the
  // engine answers but is not a swarm manager.
  Result<std::string> Ping() override;
  // Ok for a digest reference; for a tag, ok when the manager's engine knows the image's registry
  // digest (Create then uses it), else kNotFound saying to push it to the nodes' registry.
  Status EnsureImage(const std::string& image) override;
  Result<NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) override;
  Result<std::string> Create(const ContainerSpec& spec) override;
  Status Start(const std::string& id) override;
  // Scales to 0 and waits until no task of the service is left running or on its way.
  Status Stop(const std::string& id, std::chrono::seconds grace) override;
  // Scales to 0 without waiting (Swarm has no kill: the task gets the service's stop grace).
  Status Kill(const std::string& id) override;
  // Without force, a service with a running task is kAlreadyExists.
  Status Remove(const std::string& id, bool force) override;
  Status RemoveVolume(const std::string& name) override;
  Result<ContainerInfo> Inspect(const std::string& id_or_name) override;
  // A service with a running task is kRunning, one with tasks wanted but none running kCreated,
  // one scaled to 0 kExited.
  Result<std::vector<ContainerSummary>> List(const Labels& labels) override;
  Result<std::string> Logs(const std::string& id, int tail) override;
  Status PutFile(const std::string& id, const FileSpec& file) override;
  Result<std::unique_ptr<EventStream>> Events(const Labels& labels) override;

 private:
  // Sets the replica count, re-reading and retrying when another writer moved the version on.
  Status Scale(const std::string& id, uint64_t replicas);
  // The address of a node (Status.Addr), from a cache refreshed by a node list on a miss.
  std::string NodeAddress(const std::string& node_id);
  // `image` as a digest reference when the manager's engine knows one, else as it is.
  std::string DigestReference(const std::string& image);

  std::unique_ptr<docker::DockerClient> client_;
  const SwarmRuntimeOptions options_;
  std::mutex nodes_mu_;
  std::map<std::string, std::string> node_addresses_;  // guarded by nodes_mu_; one per node
};

}  // namespace berth::runtime
