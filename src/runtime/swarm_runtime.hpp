#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/container_runtime.hpp"
#include "runtime/swarm_pending.hpp"

namespace berth::docker {
class DockerClient;
struct SwarmNode;
struct SwarmTask;
}  // namespace berth::docker

namespace berth::runtime {

class SwarmNodeEngines;

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
  // The nodes' own engines (BERTH_SWARM_NODE_ENGINES), in DOCKER_HOST's forms, with the manager's
  // TLS settings: PutFile, Pause and RemoveVolume need the engine of the node concerned. Any
  // order; the manager's own engine may be listed too. Empty: RemoveVolume asks the manager's
  // engine only, PutFile is kUnavailable and SupportsPause() false.
  std::vector<std::string> node_engines;
  // A node engine that did not answer is asked again after this long.
  std::chrono::milliseconds node_engine_retry{std::chrono::seconds(10)};
};

// ContainerRuntime on a Docker Swarm, through one manager's Engine API (1.41), plus the nodes'
// own engines where a manager cannot help (SwarmNodeEngines). berth uses it with
// BERTH_RUNTIME=swarm.
//
// One service per agent: the handle the seam calls a container id is the service's id. Create
// makes the service with 0 replicas (ToServiceSpec in swarm_translate.hpp: the memory limit doubles
// as the reservation, the gateway port published in host mode on a node-chosen port, the image by
// digest, ContainerSpec::node_id as a node.id== constraint), Start scales it to 1, Stop and Kill to
// 0, Remove removes it. Every scale is a compare-and-swap on the service's version, retried on a
// conflict. Inspect reports the newest task meant to run (else the newest task): its state
// (ParseTaskState; kPaused when its node's engine says so), the task's own error, its node's
// hostname, and as ip_address the address of the task's node and as published_port the port that
// node picked: an agent answers at ip_address:published_port (lifecycle::AddressMode::kNodePort).
//
// A node whose engine dies keeps its tasks "running" on the manager for minutes, so Inspect, List
// and Events judge by the node: a task meant to run on a node that is down, unknown or
// disconnected (or has left the swarm) is kDead with error "node NAME is down: ...". The manager
// marks a node down when its heartbeats stop: 13-15 s after a worker's dockerd was SIGKILLed here
// (swarm_runtime_lost_node_test.cpp), and Inspect, List and the kDied event followed at once.
//
// Placement (PlaceAgent, CheckNode): swarm_placement.hpp. Two first starts at once may both be
// placed on the same node; the reservation then makes Swarm refuse the one that does not fit
// ("no suitable node"), which fails that start with the task's error. Thread-safe.
//
// The agents' network (EnsureNetwork) is a swarm-scoped bridge made from a config-only network
// on every node engine that answers (swarm_network.hpp); without node engines it must exist.
//
// What the Engine API cannot do here:
// - no-new-privileges: Swarm's API 1.41 has no such field; the nodes' daemons must run with
//   --no-new-privileges (scripts/swarm-cluster.sh starts them so).
// - The gateway is published on every address of its node, so agents reach each other's
//   published ports unless each node runs scripts/swarm-node-firewall.sh (README, "Many hosts
//   with Docker Swarm").
// - List reports a service whose task failed (restart condition none: no task is meant to run
//   any more) with replicas 1 as kCreated; Inspect tells the failure.
class SwarmRuntime final : public ContainerRuntime {
 public:
  // kInvalidArgument for a malformed DOCKER_HOST or unreadable TLS files. Does not contact the
  // engine (Ping does, and says when it is not a manager).
  static Result<std::shared_ptr<SwarmRuntime>> Create(const SwarmRuntimeOptions& options);
  // `node_engines` may be null (as an empty SwarmRuntimeOptions::node_engines).
  SwarmRuntime(std::unique_ptr<docker::DockerClient> client,
               std::unique_ptr<SwarmNodeEngines> node_engines, SwarmRuntimeOptions options);
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
  // A volume lives on the node that ran its agent: removed from every node engine that has it;
  // kNotFound when none has it, kUnavailable (naming them) when some did not answer.
  Status RemoveVolume(const std::string& name) override;
  Result<ContainerInfo> Inspect(const std::string& id_or_name) override;
  // The state of each service's task meant to run (kDead when its node is lost), else kRunning
  // while a task still runs (being stopped), kCreated when scaled up, kExited when scaled to 0.
  // One services list and one tasks list, and one node list when a task is on a node.
  Result<std::vector<ContainerSummary>> List(const Labels& labels) override;
  Result<std::string> Logs(const std::string& id, int tail) override;
  // Into the container of the service's running task, through its node's engine: kNotFound when
  // no task runs, kUnavailable when that node's engine is not among node_engines (or is down).
  Status PutFile(const std::string& id, const FileSpec& file) override;
  // The engine's pause and thaw of the service's running task's container, through its node's
  // engine (swarm_pause.cpp), so only with node engines. The manager never sees a pause (the task
  // stays running), so Inspect and List ask the node's engine whether a running task's container
  // is paused, and Stop thaws it first. No running task: kAlreadyExists, as the seam says.
  bool SupportsPause() const override;
  Status Pause(const std::string& id) override;
  Status Unpause(const std::string& id) override;
  // SwarmEvents (swarm_events.hpp).
  Result<std::unique_ptr<EventStream>> Events(const Labels& labels) override;
  // One node list and one task list (ChooseNode, swarm_placement.hpp); never nullopt. Placements
  // are made one at a time, and this runtime's placements whose tasks the manager does not list
  // yet count against their nodes (PendingPlacements), so agents started together spread.
  Result<std::optional<NodePlacement>> PlaceAgent(int64_t memory_bytes) override;
  // One node inspection (CheckNodeUsable, swarm_placement.hpp).
  Status CheckNode(const NodePlacement& node) override;

 private:
  // Sets the replica count, re-reading and retrying when another writer moved the version on.
  Status Scale(const std::string& id, uint64_t replicas);
  // Every node by id (one node list), or none without a call when no task is on a node.
  Result<std::map<std::string, docker::SwarmNode>> Nodes(
      const std::vector<docker::SwarmTask>& tasks);
  // "n1 (id)" for messages; the id alone when the manager does not know the node.
  std::string NodeName(const std::string& node_id);
  // `image` as a digest reference when the manager's engine knows one, else as it is.
  std::string DigestReference(const std::string& image);
  struct RunningTask {
    std::string container_id;
    std::string node_id;
    std::shared_ptr<docker::DockerClient> engine;  // its node's
  };
  // The service's newest running task and its node's engine: kNotFound when no task runs,
  // kUnavailable when that node's engine is not among node_engines (or is down). `what` begins
  // the messages.
  Result<RunningTask> FindRunningTask(const std::string& id, const std::string& what);
  // Which of the containers of `tasks` (running tasks of services carrying `labels`) are paused:
  // one container list on the engine of each node they run on. A node engine that is not known
  // or does not answer counts none of its containers paused.
  std::set<std::string> PausedContainers(const std::vector<docker::SwarmTask>& tasks,
                                         const Labels& labels);

  std::shared_ptr<docker::DockerClient> client_;    // the manager's; shared with event streams
  std::unique_ptr<SwarmNodeEngines> node_engines_;  // null when none are listed
  const SwarmRuntimeOptions options_;
  std::mutex placement_mu_;  // guards pending_; held through a placement
  PendingPlacements pending_;
};

}  // namespace berth::runtime
