#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace berth::runtime {

// The engine-neutral seam between the lifecycle manager and a container engine (ARCHITECTURE.md,
// "Modules"). The lifecycle code depends only on this header; Docker is one implementation
// (docker_runtime.hpp), Swarm or Kubernetes can be others. Every method is thread-safe, blocks
// the calling thread, and returns within the implementation's per-call deadline.
//
// Error mapping every implementation follows:
//   kNotFound       the container, image, network or volume does not exist
//   kAlreadyExists  a create hit a name that is taken (the message names the name)
//   kUnavailable    the engine cannot be reached, or a call ran past its deadline
//   kInvalidArgument the engine refused the request as malformed (message from the engine)
//   kInternal       anything else the engine answered with (status and message in the text)

// Labels are how berth recognises its own containers (and nothing else) on a shared engine.
using Labels = std::map<std::string, std::string>;

// What to create. Hardening that is not optional is not a field: every implementation runs the
// container with an init process, no-new-privileges, all capabilities dropped except `cap_add`,
// and no restart policy (berth restarts).
struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::pair<std::string, std::string>> env;  // name, value; in this order
  Labels labels;
  std::string volume_name;    // named volume, created by the engine when missing; empty = none
  std::string volume_target;  // mount point of volume_name inside the container
  std::string network;        // the agent network to attach to (see EnsureNetwork)
  int64_t memory_bytes = 0;   // hard limit, swap included; 0 = unlimited
  int64_t nano_cpus = 0;      // 1e9 = one CPU; 0 = unlimited
  // Created with this CPU limit instead, when higher, by runtimes that can change it later
  // (SetCpuLimit): the start's burst (LifecycleOptions::start_nano_cpus). 0: nano_cpus.
  int64_t start_nano_cpus = 0;
  int64_t pids_limit = 0;  // 0 = unlimited
  std::vector<std::string> cap_add;
  // Publish `port`/tcp on 127.0.0.1 at a port the engine chooses (the "published" addressing
  // mode); ContainerInfo::published_port reports it once the container runs.
  std::optional<int> publish_port;
  // Run only on this node (NodePlacement::id). Runtimes of one engine ignore it; the swarm
  // runtime makes it a placement constraint, so an agent always runs where its volume lives.
  std::string node_id;
};

// The node an agent's state lives on, in runtimes of several nodes.
struct NodePlacement {
  std::string id;    // the engine's node id
  std::string name;  // its hostname, for people
};

enum class ContainerState { kCreated, kRunning, kPaused, kRestarting, kRemoving, kExited, kDead };

// One container as the engine reports it on inspection.
struct ContainerInfo {
  std::string id;
  std::string name;   // without the leading '/'
  std::string image;  // as given at create
  Labels labels;
  ContainerState state = ContainerState::kCreated;
  bool oom_killed = false;
  int exit_code = 0;
  std::string error;  // the engine's error for a failed start, else empty
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
  // On ContainerSpec::network; empty when not running. Swarm: the address of the task's node,
  // where published_port answers.
  std::string ip_address;
  std::optional<int> published_port;  // host port on 127.0.0.1, when publish_port was set
  std::string node;                   // hostname of the node it runs on; empty on one engine
};

// One container as a list call reports it (cheap: no per-container engine work).
struct ContainerSummary {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  Labels labels;
  ContainerState state = ContainerState::kCreated;
};

struct NetworkInfo {
  std::string id;
  std::string name;
  std::string subnet;     // IPv4 CIDR
  std::string gateway;    // IPv4 address of the host on this network
  bool internal = false;  // no route out: only the host's own addresses answer (EnsureNetwork)
  std::string bridge;     // the host's interface on it (bridge networks), for a firewall
};

// What happened to a container, in berth's words. Implementations translate their engine's
// verbs; anything berth does not act on is kOther.
enum class ContainerEventKind {
  kCreated,
  kStarted,
  kDied,  // the main process exited (exit_code set); follows kOomKilled when the kernel killed it
  kOomKilled,  // the kernel's OOM killer hit the container; a kDied follows
  kKilled,     // a signal was sent to it (it may or may not have died)
  kStopped,
  kDestroyed,  // removed; its id will not be seen again
  kPaused,
  kUnpaused,
  kRestarted,
  kOther,
};

// One engine event about a container.
struct ContainerEvent {
  std::string container_id;
  ContainerEventKind kind = ContainerEventKind::kOther;
  Labels labels;                 // the container's labels (name included by engines that report it)
  std::optional<int> exit_code;  // set for kDied when the engine knows it
  // Why it died when no exit code tells (kDied without exit_code), else empty: e.g. the swarm
  // runtime's "node n1 is down: heartbeat failure" when the node running it was lost.
  std::string error;
  std::chrono::system_clock::time_point time;
};

// A live event subscription. Next() blocks until the next event; it returns kUnavailable when
// the engine connection ends (engine restart: subscribe again and reconcile, since events may
// have been missed), and kUnavailable "event stream closed" after Close().
class EventStream {
 public:
  virtual ~EventStream() = default;
  virtual Result<ContainerEvent> Next() = 0;
  // Makes a blocked or later Next() return promptly. Thread-safe; idempotent.
  virtual void Close() = 0;
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // "docker 20.10.24 (API 1.41)" or an error when the engine does not answer.
  virtual Result<std::string> Ping() = 0;

  // Makes sure `image` is present, pulling it as the engine's CLI would when it is not. A failed
  // pull is kNotFound/kUnavailable with a message that names the image.
  virtual Status EnsureImage(const std::string& image) = 0;

  // Creates the network when missing (isolated: containers on it cannot reach each other, only
  // the host) and returns it either way.
  virtual Result<NetworkInfo> EnsureNetwork(const std::string& name, bool isolated) = 0;

  // Returns the new container's id.
  virtual Result<std::string> Create(const ContainerSpec& spec) = 0;
  // Starting a running container is ok.
  virtual Status Start(const std::string& id) = 0;
  // Graceful stop: SIGTERM, then SIGKILL after `grace`. Stopping a stopped container is ok; a
  // paused one is thawed first, so that the signal reaches its processes.
  virtual Status Stop(const std::string& id, std::chrono::seconds grace) = 0;
  virtual Status Kill(const std::string& id) = 0;
  // The engine's pause: every process of the container frozen (no CPU, memory kept), thawed in
  // milliseconds by Unpause. Pausing a paused container and unpausing a running one are ok; a
  // container that is not running is kAlreadyExists. Runtimes that cannot (SupportsPause()
  // false: the default) answer kInvalidArgument.
  virtual bool SupportsPause() const { return false; }
  virtual Status Pause(const std::string& id) {
    (void)id;
    return InvalidArgument("this container runtime cannot pause agents");
  }
  virtual Status Unpause(const std::string& id) {
    (void)id;
    return InvalidArgument("this container runtime cannot pause agents");
  }
  // Changes the CPU limit of a container in place, running or not (1e9 = one CPU). Runtimes that
  // cannot (the default) answer kInvalidArgument and create with ContainerSpec::nano_cpus only.
  virtual Status SetCpuLimit(const std::string& id, int64_t nano_cpus) {
    (void)id;
    (void)nano_cpus;
    return InvalidArgument("this container runtime cannot change CPU limits");
  }
  // Removes the container (force: even when running). Volumes survive.
  virtual Status Remove(const std::string& id, bool force) = 0;
  virtual Status RemoveVolume(const std::string& name) = 0;

  // By id or name.
  virtual Result<ContainerInfo> Inspect(const std::string& id_or_name) = 0;
  // Every container (running or not) that carries all of `labels` (an empty value matches any
  // value of that label).
  virtual Result<std::vector<ContainerSummary>> List(const Labels& labels) = 0;
  // The last `tail` lines of stdout and stderr, interleaved as written.
  virtual Result<std::string> Logs(const std::string& id, int tail) = 0;

  // Writes one regular file into the container's filesystem (running or stopped), replacing any
  // file of that name: the engine's archive upload. `dir` must exist in the container.
  struct FileSpec {
    std::string dir;
    std::string name;
    std::string content;
    int uid = 0;
    int gid = 0;
    int mode = 0600;
    std::chrono::system_clock::time_point mtime;
  };
  virtual Status PutFile(const std::string& id, const FileSpec& file) = 0;

  // Subscribes to events of containers carrying all of `labels`.
  virtual Result<std::unique_ptr<EventStream>> Events(const Labels& labels) = 0;

  // ---- placement, for runtimes of several nodes (one engine: nothing to choose) ----
  // The node a new agent's state should live on: the ready, active node with the most memory
  // left unreserved, when it fits `memory_bytes`. nullopt on a runtime of one engine;
  // kResourceExhausted when no node fits (the message says what each node has left).
  virtual Result<std::optional<NodePlacement>> PlaceAgent(int64_t memory_bytes) {
    (void)memory_bytes;
    return std::optional<NodePlacement>();
  }
  // Ok when agents may start on `node` now; kUnavailable naming the node when it is drained,
  // paused, down or has left the cluster (its agents' state is there: no silent move).
  virtual Status CheckNode(const NodePlacement& node) {
    (void)node;
    return Status::Ok();
  }
};
using ContainerRuntimePtr = std::shared_ptr<ContainerRuntime>;

std::string_view ContainerStateName(ContainerState state);
// "created", "started", "died", "oom_killed", ... for logs; stable.
std::string_view ContainerEventKindName(ContainerEventKind kind);

}  // namespace berth::runtime
