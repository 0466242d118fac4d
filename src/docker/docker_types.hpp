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
};

// GET /networks/{id}
struct NetworkDetails {
  std::string id;
  std::string name;
  std::string driver;
  std::string subnet;   // first IPv4 IPAM.Config entry
  std::string gateway;  // its Gateway
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

}  // namespace berth::docker
