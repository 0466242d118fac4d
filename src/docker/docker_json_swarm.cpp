// The Swarm parts of docker_json.hpp: the engine's info, nodes, services and tasks.
#include <algorithm>

#include "docker/docker_json.hpp"
#include "docker/docker_json_fields.hpp"

namespace berth::docker {
namespace {

using json = nlohmann::json;
using json_fields::Bool;
using json_fields::Field;
using json_fields::Int;
using json_fields::MountsJson;
using json_fields::Str;
using json_fields::StringMap;
using json_fields::Strings;
using json_fields::Uint;

}  // namespace

SystemInfo SystemInfoFromJson(const json& j) {
  SystemInfo info;
  info.id = Str(j, "ID");
  info.name = Str(j, "Name");
  info.server_version = Str(j, "ServerVersion");
  info.ncpu = Int(j, "NCPU");
  info.mem_total = Int(j, "MemTotal");
  const json& swarm = Field(j, "Swarm");
  info.swarm.node_id = Str(swarm, "NodeID");
  info.swarm.node_addr = Str(swarm, "NodeAddr");
  info.swarm.local_node_state = Str(swarm, "LocalNodeState");
  info.swarm.control_available = Bool(swarm, "ControlAvailable");
  info.swarm.error = Str(swarm, "Error");
  info.swarm.cluster_id = Str(Field(swarm, "Cluster"), "ID");
  info.swarm.nodes = Int(swarm, "Nodes");
  info.swarm.managers = Int(swarm, "Managers");
  return info;
}

SwarmNode NodeFromJson(const json& j) {
  SwarmNode n;
  n.id = Str(j, "ID");
  n.version = Uint(Field(j, "Version"), "Index");
  const json& spec = Field(j, "Spec");
  n.availability = Str(spec, "Availability");
  n.role = Str(spec, "Role");
  n.labels = StringMap(spec, "Labels");
  const json& description = Field(j, "Description");
  n.hostname = Str(description, "Hostname");
  n.nano_cpus = Int(Field(description, "Resources"), "NanoCPUs");
  n.memory_bytes = Int(Field(description, "Resources"), "MemoryBytes");
  n.engine_version = Str(Field(description, "Engine"), "EngineVersion");
  const json& status = Field(j, "Status");
  n.state = Str(status, "State");
  n.message = Str(status, "Message");
  n.addr = Str(status, "Addr");
  n.leader = Bool(Field(j, "ManagerStatus"), "Leader");
  return n;
}

namespace {

json PortsToJson(const std::vector<ServicePort>& ports) {
  json out = json::array();
  for (const ServicePort& p : ports) {
    json port = {
        {"Protocol", p.protocol}, {"TargetPort", p.target_port}, {"PublishMode", p.publish_mode}};
    if (p.published_port > 0) port["PublishedPort"] = p.published_port;
    out.push_back(std::move(port));
  }
  return out;
}

// Each distinct port once, in the engine's order.
std::vector<ServicePort> PortsFromServiceJson(const json& ports) {
  std::vector<ServicePort> out;
  if (!ports.is_array()) return out;
  for (const json& p : ports) {
    ServicePort port{Str(p, "Protocol"), static_cast<int>(Int(p, "TargetPort")),
                     static_cast<int>(Int(p, "PublishedPort")), Str(p, "PublishMode")};
    if (std::find(out.begin(), out.end(), port) == out.end()) out.push_back(std::move(port));
  }
  return out;
}

}  // namespace

json ServiceSpecToJson(const ServiceSpec& spec) {
  json container = json::object();
  container["Image"] = spec.image;
  if (!spec.command.empty()) container["Command"] = spec.command;
  if (!spec.args.empty()) container["Args"] = spec.args;
  container["Env"] = spec.env;
  container["Labels"] = json(spec.container_labels);
  if (!spec.user.empty()) container["User"] = spec.user;
  if (!spec.hostname.empty()) container["Hostname"] = spec.hostname;
  if (!spec.mounts.empty()) container["Mounts"] = MountsJson(spec.mounts);
  container["Init"] = spec.init;
  if (!spec.cap_add.empty()) container["CapabilityAdd"] = spec.cap_add;
  if (!spec.cap_drop.empty()) container["CapabilityDrop"] = spec.cap_drop;
  if (spec.stop_grace_period.count() > 0) {
    container["StopGracePeriod"] = static_cast<int64_t>(spec.stop_grace_period.count());
  }

  json limits = json::object();
  if (spec.memory_limit > 0) limits["MemoryBytes"] = spec.memory_limit;
  if (spec.nano_cpus_limit > 0) limits["NanoCPUs"] = spec.nano_cpus_limit;
  if (spec.pids_limit > 0) limits["Pids"] = spec.pids_limit;
  json reservations = json::object();
  if (spec.memory_reservation > 0) reservations["MemoryBytes"] = spec.memory_reservation;
  if (spec.nano_cpus_reservation > 0) reservations["NanoCPUs"] = spec.nano_cpus_reservation;

  json task = {{"ContainerSpec", std::move(container)},
               {"Resources", {{"Limits", std::move(limits)}, {"Reservations", reservations}}},
               {"RestartPolicy", {{"Condition", spec.restart_condition}}}};
  if (!spec.constraints.empty()) task["Placement"] = {{"Constraints", spec.constraints}};
  if (!spec.networks.empty()) {
    json networks = json::array();
    for (const std::string& n : spec.networks) networks.push_back({{"Target", n}});
    task["Networks"] = std::move(networks);
  }

  json body = {{"Name", spec.name},
               {"Labels", json(spec.labels)},
               {"TaskTemplate", std::move(task)},
               {"Mode", {{"Replicated", {{"Replicas", spec.replicas}}}}}};
  body["EndpointSpec"] = {{"Mode", spec.endpoint_mode}, {"Ports", PortsToJson(spec.ports)}};
  return body;
}

ServiceSpec ServiceSpecFromJson(const json& j) {
  ServiceSpec spec;
  spec.name = Str(j, "Name");
  spec.labels = StringMap(j, "Labels");
  const json& task = Field(j, "TaskTemplate");
  const json& c = Field(task, "ContainerSpec");
  spec.image = Str(c, "Image");
  spec.command = Strings(c, "Command");
  spec.args = Strings(c, "Args");
  spec.env = Strings(c, "Env");
  spec.container_labels = StringMap(c, "Labels");
  spec.user = Str(c, "User");
  spec.hostname = Str(c, "Hostname");
  if (const json& mounts = Field(c, "Mounts"); mounts.is_array()) {
    for (const json& m : mounts) {
      MountSpec mount;
      mount.type = Str(m, "Type");
      mount.source = Str(m, "Source");
      mount.target = Str(m, "Target");
      mount.read_only = Bool(m, "ReadOnly");
      mount.volume_labels = StringMap(Field(m, "VolumeOptions"), "Labels");
      spec.mounts.push_back(std::move(mount));
    }
  }
  spec.init = Bool(c, "Init");
  spec.cap_add = Strings(c, "CapabilityAdd");
  spec.cap_drop = Strings(c, "CapabilityDrop");
  spec.stop_grace_period = std::chrono::nanoseconds(Int(c, "StopGracePeriod"));
  const json& resources = Field(task, "Resources");
  spec.memory_limit = Int(Field(resources, "Limits"), "MemoryBytes");
  spec.nano_cpus_limit = Int(Field(resources, "Limits"), "NanoCPUs");
  spec.pids_limit = Int(Field(resources, "Limits"), "Pids");
  spec.memory_reservation = Int(Field(resources, "Reservations"), "MemoryBytes");
  spec.nano_cpus_reservation = Int(Field(resources, "Reservations"), "NanoCPUs");
  spec.restart_condition = Str(Field(task, "RestartPolicy"), "Condition");
  spec.constraints = Strings(Field(task, "Placement"), "Constraints");
  if (const json& networks = Field(task, "Networks"); networks.is_array()) {
    for (const json& n : networks) spec.networks.push_back(Str(n, "Target"));
  }
  spec.replicas = Uint(Field(Field(j, "Mode"), "Replicated"), "Replicas");
  spec.endpoint_mode = Str(Field(j, "EndpointSpec"), "Mode");
  spec.ports = PortsFromServiceJson(Field(Field(j, "EndpointSpec"), "Ports"));
  return spec;
}

ServiceDetails ServiceFromJson(const json& j) {
  ServiceDetails s;
  s.id = Str(j, "ID");
  s.version = Uint(Field(j, "Version"), "Index");
  const json& spec = Field(j, "Spec");
  s.spec = ServiceSpecFromJson(spec);
  s.spec_json = spec.is_object() ? spec.dump() : "{}";
  s.created_at = ParseDockerTime(Str(j, "CreatedAt"));
  s.updated_at = ParseDockerTime(Str(j, "UpdatedAt"));
  if (const json& status = Field(j, "ServiceStatus"); status.is_object()) {
    s.running_tasks = Uint(status, "RunningTasks");
    s.desired_tasks = Uint(status, "DesiredTasks");
  }
  return s;
}

SwarmTask TaskFromJson(const json& j) {
  SwarmTask t;
  t.id = Str(j, "ID");
  t.service_id = Str(j, "ServiceID");
  t.node_id = Str(j, "NodeID");
  t.slot = Int(j, "Slot");
  t.labels = StringMap(j, "Labels");
  t.desired_state = Str(j, "DesiredState");
  t.created_at = ParseDockerTime(Str(j, "CreatedAt"));
  t.memory_reservation =
      Int(Field(Field(Field(j, "Spec"), "Resources"), "Reservations"), "MemoryBytes");
  const json& status = Field(j, "Status");
  t.state = Str(status, "State");
  t.message = Str(status, "Message");
  t.error = Str(status, "Err");
  t.timestamp = ParseDockerTime(Str(status, "Timestamp"));
  const json& container = Field(status, "ContainerStatus");
  t.container_id = Str(container, "ContainerID");
  t.exit_code = static_cast<int>(Int(container, "ExitCode"));
  t.ports = PortsFromServiceJson(Field(Field(status, "PortStatus"), "Ports"));
  return t;
}

}  // namespace berth::docker
