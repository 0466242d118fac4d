#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// Typed requests and results of the Docker Engine API calls berth makes (API 1.41 field names in
// comments). Only the fields berth reads or sets are here.
namespace berth::docker {

using LabelMap = std::map<std::string, std::string>;

// GET /version
struct VersionInfo {
  std::string version;          // Version, e.g. "20.10.24+dfsg1"
  std::string api_version;      // ApiVersion: the newest API the engine speaks
  std::string min_api_version;  // MinAPIVersion
  std::string os;
  std::string arch;
  std::string kernel_version;
};

// GET /images/{name}/json
struct ImageInfo {
  std::string id;  // "sha256:..."
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;  // "repo@sha256:...": where a registry holds it
  int64_t size = 0;
  std::string user;  // Config.User
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  LabelMap labels;
};

// POST /networks/create
struct NetworkCreate {
  std::string name;
  std::string driver = "bridge";
  std::map<std::string, std::string> options;  // driver options
  LabelMap labels;
  // IPAM.Config[0]: empty = the engine's pools.
  std::string subnet;
  std::string gateway;
  // Swarm: a config-only network (ConfigOnly) holds only options and IPAM, on one engine, for a
  // swarm-scoped network (Scope "swarm") on the manager to take from it by name (ConfigFrom):
  // the way to give a bridge network per-node settings (ARCHITECTURE.md, "Docker Swarm"). The
  // engine refuses labels, options and IPAM on a ConfigFrom network (403, "user specified
  // configurations are not supported if the network depends on a configuration network").
  std::string scope;  // Scope: "" (the driver's default) | local | swarm
  bool config_only = false;
  std::string config_from;  // ConfigFrom.Network
  bool attachable = false;  // Attachable: plain containers may join a swarm-scoped network
  bool internal = false;    // Internal: the engine routes nothing from it to other networks
};

// GET /networks/{id}
struct NetworkDetails {
  std::string id;
  std::string name;
  std::string driver;
  std::string scope;  // local | swarm | global
  bool config_only = false;
  std::string config_from;  // ConfigFrom.Network
  std::string subnet;       // first IPv4 IPAM.Config entry
  std::string gateway;      // its Gateway
  bool internal = false;
  std::map<std::string, std::string> options;
  LabelMap labels;
};

// GET /volumes/{name}
struct VolumeInfo {
  std::string name;
  std::string driver;
  std::string mountpoint;
  LabelMap labels;
};

struct PortBinding {
  std::string host_ip;
  std::string host_port;  // "" at create: the engine chooses
};

// HostConfig.Mounts entry.
struct MountSpec {
  std::string type = "volume";  // volume | bind | tmpfs
  std::string source;           // volume name or host path
  std::string target;
  bool read_only = false;
  LabelMap volume_labels;  // VolumeOptions.Labels: put on a volume the engine creates for this
};

// POST /containers/create
struct ContainerCreate {
  std::string name;  // empty: the engine picks one
  std::string image;
  std::optional<std::vector<std::string>> entrypoint;  // unset: the image's
  std::vector<std::string> cmd;                        // empty: the image's
  std::vector<std::string> env;                        // "NAME=value"
  LabelMap labels;
  std::string user;
  std::string working_dir;
  bool tty = false;
  // HostConfig
  std::vector<std::string> binds;
  std::vector<MountSpec> mounts;
  std::string network_mode;  // a network name, "bridge", "none", ...
  int64_t memory = 0;        // bytes; 0 = unlimited
  int64_t memory_swap = 0;   // memory + swap; equal to memory = no swap; 0 = engine default
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;  // 0 = unlimited
  bool init = false;
  std::vector<std::string> security_opt;
  std::vector<std::string> cap_drop;
  std::vector<std::string> cap_add;
  std::string restart_policy = "no";
  // "18789/tcp" → bindings; each key is also exposed (Config.ExposedPorts).
  std::map<std::string, std::vector<PortBinding>> port_bindings;
  // NetworkingConfig.EndpointsConfig: attach to this network at create (empty: none).
  std::string network;
};

struct MountPoint {
  std::string type;
  std::string name;  // volume name
  std::string source;
  std::string destination;
};

// GET /containers/{id}/json
struct ContainerDetails {
  std::string id;
  std::string name;      // without the leading '/'
  std::string image;     // Config.Image: as given at create
  std::string image_id;  // Image
  LabelMap labels;
  std::vector<std::string> env;
  bool tty = false;
  // State
  std::string status;  // created | running | paused | restarting | removing | exited | dead
  bool running = false;
  bool oom_killed = false;
  int exit_code = 0;
  int pid = 0;
  std::string error;
  std::optional<std::chrono::system_clock::time_point> started_at;   // unset: never started
  std::optional<std::chrono::system_clock::time_point> finished_at;  // unset: never finished
  // NetworkSettings
  std::map<std::string, std::string> network_ips;  // network name → IPv4 address ("" if none)
  std::map<std::string, std::vector<PortBinding>> ports;  // "18789/tcp" → host bindings
  // HostConfig, as the engine applied it
  bool init = false;
  int64_t memory = 0;
  int64_t memory_swap = 0;
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;
  std::string restart_policy;
  std::string network_mode;
  std::vector<MountPoint> mounts;
};

// GET /containers/json
struct ContainerListEntry {
  std::string id;
  std::string name;  // first of Names, without the leading '/'
  std::string image;
  std::string state;   // as ContainerDetails::status
  std::string status;  // human text, "Up 3 minutes"
  LabelMap labels;
  int64_t created = 0;  // Unix seconds
};

// One line of GET /events.
struct DockerEvent {
  std::string type;           // container | image | network | volume | ...
  std::string action;         // the verb: create, start, die, oom, health_status, exec_start, ...
  std::string action_detail;  // what followed "verb: " ("healthy" for health_status), else empty
  std::string actor_id;
  std::map<std::string, std::string> attributes;  // labels, name, image, exitCode (die), ...
  int64_t time_nano = 0;
};

// ---- Swarm (API 1.41) ----

// GET /info: the Swarm part.
struct SwarmInfo {
  std::string node_id;    // Swarm.NodeID ("" when not in a swarm)
  std::string node_addr;  // Swarm.NodeAddr
  std::string
      local_node_state;  // Swarm.LocalNodeState: inactive | pending | active | error | locked
  bool control_available = false;  // Swarm.ControlAvailable: this engine is a manager
  std::string error;               // Swarm.Error
  std::string cluster_id;          // Swarm.Cluster.ID (managers only)
  int64_t nodes = 0;               // Swarm.Nodes
  int64_t managers = 0;            // Swarm.Managers
};

// GET /info (the parts berth reads).
struct SystemInfo {
  std::string id;    // ID
  std::string name;  // Name: the engine's hostname
  std::string server_version;
  int64_t ncpu = 0;
  int64_t mem_total = 0;  // bytes
  SwarmInfo swarm;
};

// GET /nodes, /nodes/{id}
struct SwarmNode {
  std::string id;
  uint64_t version = 0;        // Version.Index: what an update must quote
  std::string hostname;        // Description.Hostname
  std::string addr;            // Status.Addr: where the node's published ports answer
  std::string state;           // Status.State: unknown | down | ready | disconnected
  std::string message;         // Status.Message
  std::string availability;    // Spec.Availability: active | pause | drain
  std::string role;            // Spec.Role: worker | manager
  bool leader = false;         // ManagerStatus.Leader
  LabelMap labels;             // Spec.Labels
  int64_t nano_cpus = 0;       // Description.Resources.NanoCPUs
  int64_t memory_bytes = 0;    // Description.Resources.MemoryBytes
  std::string engine_version;  // Description.Engine.EngineVersion
};

// EndpointSpec.Ports entry, and Status.PortStatus.Ports of a task.
struct ServicePort {
  std::string protocol = "tcp";
  int target_port = 0;
  int published_port = 0;             // 0 at create: with mode host, each node picks one
  std::string publish_mode = "host";  // host | ingress (the routing mesh; not on this kernel)
  bool operator==(const ServicePort&) const = default;
};

// POST /services/create, /services/{id}/update: the service's Spec. Only what berth sets; the
// engine fills the rest with its defaults.
struct ServiceSpec {
  std::string name;
  LabelMap labels;  // the service's own labels (Spec.Labels)
  // TaskTemplate.ContainerSpec
  std::string image;  // a digest reference ("repo@sha256:...") spares workers a pull attempt
  std::vector<std::string> command;  // Command: replaces the image's entrypoint when not empty
  std::vector<std::string> args;     // Args
  std::vector<std::string> env;      // "NAME=value"
  LabelMap container_labels;         // Labels of the task's container
  std::string user;
  std::string hostname;
  std::vector<MountSpec> mounts;
  bool init = false;
  std::vector<std::string> cap_add;               // CapabilityAdd
  std::vector<std::string> cap_drop;              // CapabilityDrop
  std::chrono::nanoseconds stop_grace_period{0};  // StopGracePeriod; 0 = the engine's (10 s)
  // TaskTemplate.Resources
  int64_t memory_limit = 0;  // Limits.MemoryBytes
  int64_t nano_cpus_limit = 0;
  int64_t pids_limit = 0;          // Limits.Pids
  int64_t memory_reservation = 0;  // Reservations.MemoryBytes: the scheduler never overpacks
  int64_t nano_cpus_reservation = 0;
  // TaskTemplate.RestartPolicy.Condition: none | on-failure | any
  std::string restart_condition = "none";
  std::vector<std::string> constraints;  // TaskTemplate.Placement.Constraints ("node.id==...")
  std::vector<std::string> networks;     // TaskTemplate.Networks[].Target (ids or names)
  uint64_t replicas = 1;                 // Mode.Replicated.Replicas
  std::vector<ServicePort> ports;        // EndpointSpec.Ports
  // EndpointSpec.Mode: dnsrr, because a virtual IP (vip) needs IPVS, which this kernel lacks
  // (ARCHITECTURE.md); berth reaches agents at a node's address and published port anyway.
  std::string endpoint_mode = "dnsrr";
};

// GET /services/{id}, /services?status=true
struct ServiceDetails {
  std::string id;
  uint64_t version = 0;   // Version.Index: what an update must quote (compare-and-swap)
  ServiceSpec spec;       // as far as ServiceSpec holds it
  std::string spec_json;  // the engine's whole Spec: updates keep what ServiceSpec does not model
  std::optional<std::chrono::system_clock::time_point> created_at;
  std::optional<std::chrono::system_clock::time_point> updated_at;
  // ServiceStatus: only listed with status=true; unset otherwise.
  std::optional<uint64_t> running_tasks;
  std::optional<uint64_t> desired_tasks;
};

// GET /tasks
struct SwarmTask {
  std::string id;
  std::string service_id;
  std::string node_id;  // empty until the task is assigned
  int64_t slot = 0;
  LabelMap labels;
  std::string desired_state;  // DesiredState: running | shutdown | ...
  // Status.State: new | allocated | pending | assigned | accepted | preparing | ready | starting
  // | running | complete | shutdown | failed | rejected | remove | orphaned
  std::string state;
  std::string message;       // Status.Message
  std::string error;         // Status.Err: why it failed or is pending ("no suitable node ...")
  std::string container_id;  // Status.ContainerStatus.ContainerID
  int exit_code = 0;
  int64_t memory_reservation = 0;  // Spec.Resources.Reservations.MemoryBytes
  std::vector<ServicePort> ports;  // Status.PortStatus.Ports, each once (the engine lists the
                                   // IPv4 and IPv6 bindings of one port as two equal entries)
  std::optional<std::chrono::system_clock::time_point> timestamp;  // Status.Timestamp
  std::optional<std::chrono::system_clock::time_point> created_at;
};

}  // namespace berth::docker
