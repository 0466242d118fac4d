#include "docker/docker_json.hpp"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <limits>

#include "common/json_parse.hpp"
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

std::string StripSlash(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

std::map<std::string, std::vector<PortBinding>> PortsFromJson(const json& ports) {
  std::map<std::string, std::vector<PortBinding>> out;
  if (!ports.is_object()) return out;
  for (auto it = ports.begin(); it != ports.end(); ++it) {
    std::vector<PortBinding>& bindings = out[it.key()];
    if (!it->is_array()) continue;
    for (const json& b : *it) bindings.push_back({Str(b, "HostIp"), Str(b, "HostPort")});
  }
  return out;
}

int ParseDigits(std::string_view s, std::size_t pos, std::size_t count, bool* ok) {
  int value = 0;
  if (pos + count > s.size()) {
    *ok = false;
    return 0;
  }
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      *ok = false;
      return 0;
    }
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

}  // namespace

json json_fields::MountsJson(const std::vector<MountSpec>& specs) {
  json mounts = json::array();
  for (const MountSpec& m : specs) {
    json mount = {
        {"Type", m.type}, {"Source", m.source}, {"Target", m.target}, {"ReadOnly", m.read_only}};
    if (m.type == "volume" && !m.volume_labels.empty()) {
      mount["VolumeOptions"] = {{"Labels", json(m.volume_labels)}};
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

Result<json> ParseJsonBody(std::string_view body, std::string_view what) {
  auto parsed = ParseJson(body, "the engine's answer", kEngineJsonLimits);
  if (!parsed.ok()) {
    return Internal(std::string(what) + ": " + parsed.status().message() + ": " +
                    std::string(body.substr(0, 200)));
  }
  return std::move(*parsed);
}

VersionInfo VersionFromJson(const json& j) {
  VersionInfo v;
  v.version = Str(j, "Version");
  v.api_version = Str(j, "ApiVersion");
  v.min_api_version = Str(j, "MinAPIVersion");
  v.os = Str(j, "Os");
  v.arch = Str(j, "Arch");
  v.kernel_version = Str(j, "KernelVersion");
  return v;
}

ImageInfo ImageFromJson(const json& j) {
  ImageInfo i;
  i.id = Str(j, "Id");
  i.repo_tags = Strings(j, "RepoTags");
  i.repo_digests = Strings(j, "RepoDigests");
  i.size = Int(j, "Size");
  const json& config = Field(j, "Config");
  i.user = Str(config, "User");
  i.entrypoint = Strings(config, "Entrypoint");
  i.cmd = Strings(config, "Cmd");
  i.env = Strings(config, "Env");
  i.working_dir = Str(config, "WorkingDir");
  i.labels = StringMap(config, "Labels");
  return i;
}

NetworkDetails NetworkFromJson(const json& j) {
  NetworkDetails n;
  n.id = Str(j, "Id");
  n.name = Str(j, "Name");
  n.driver = Str(j, "Driver");
  n.scope = Str(j, "Scope");
  n.config_only = Bool(j, "ConfigOnly");
  n.internal = Bool(j, "Internal");
  n.config_from = Str(Field(j, "ConfigFrom"), "Network");
  n.options = StringMap(j, "Options");
  n.labels = StringMap(j, "Labels");
  const json& configs = Field(Field(j, "IPAM"), "Config");
  if (configs.is_array()) {
    for (const json& c : configs) {
      std::string subnet = Str(c, "Subnet");
      if (subnet.find(':') != std::string::npos) continue;  // IPv6
      n.subnet = subnet;
      n.gateway = Str(c, "Gateway");
      break;
    }
  }
  return n;
}

VolumeInfo VolumeFromJson(const json& j) {
  VolumeInfo v;
  v.name = Str(j, "Name");
  v.driver = Str(j, "Driver");
  v.mountpoint = Str(j, "Mountpoint");
  v.labels = StringMap(j, "Labels");
  return v;
}

ContainerDetails ContainerFromJson(const json& j) {
  ContainerDetails c;
  c.id = Str(j, "Id");
  c.name = StripSlash(Str(j, "Name"));
  c.image_id = Str(j, "Image");
  const json& config = Field(j, "Config");
  c.image = Str(config, "Image");
  c.labels = StringMap(config, "Labels");
  c.env = Strings(config, "Env");
  c.tty = Bool(config, "Tty");
  const json& state = Field(j, "State");
  c.status = Str(state, "Status");
  c.running = Bool(state, "Running");
  c.oom_killed = Bool(state, "OOMKilled");
  c.exit_code = static_cast<int>(Int(state, "ExitCode"));
  c.pid = static_cast<int>(Int(state, "Pid"));
  c.error = Str(state, "Error");
  c.started_at = ParseDockerTime(Str(state, "StartedAt"));
  c.finished_at = ParseDockerTime(Str(state, "FinishedAt"));
  const json& settings = Field(j, "NetworkSettings");
  const json& networks = Field(settings, "Networks");
  if (networks.is_object()) {
    for (auto it = networks.begin(); it != networks.end(); ++it) {
      c.network_ips[it.key()] = Str(*it, "IPAddress");
    }
  }
  c.ports = PortsFromJson(Field(settings, "Ports"));
  const json& host = Field(j, "HostConfig");
  c.init = Bool(host, "Init");
  c.memory = Int(host, "Memory");
  c.memory_swap = Int(host, "MemorySwap");
  c.nano_cpus = Int(host, "NanoCpus");
  c.pids_limit = Int(host, "PidsLimit");
  c.cap_add = Strings(host, "CapAdd");
  c.cap_drop = Strings(host, "CapDrop");
  c.security_opt = Strings(host, "SecurityOpt");
  c.restart_policy = Str(Field(host, "RestartPolicy"), "Name");
  c.network_mode = Str(host, "NetworkMode");
  const json& mounts = Field(j, "Mounts");
  if (mounts.is_array()) {
    for (const json& m : mounts) {
      c.mounts.push_back({Str(m, "Type"), Str(m, "Name"), Str(m, "Source"), Str(m, "Destination")});
    }
  }
  return c;
}

ContainerListEntry ContainerListEntryFromJson(const json& j) {
  ContainerListEntry e;
  e.id = Str(j, "Id");
  std::vector<std::string> names = Strings(j, "Names");
  if (!names.empty()) e.name = StripSlash(names.front());
  e.image = Str(j, "Image");
  e.state = Str(j, "State");
  e.status = Str(j, "Status");
  e.labels = StringMap(j, "Labels");
  e.created = Int(j, "Created");
  return e;
}

Result<DockerEvent> EventFromJsonLine(std::string_view line) {
  json j = ParseJson(line, "engine event", kEngineJsonLimits).value_or(json());
  if (!j.is_object()) {
    return Internal("engine event is not a JSON object: " + std::string(line.substr(0, 200)));
  }
  DockerEvent e;
  e.type = Str(j, "Type");
  std::string action = Str(j, "Action");
  if (action.empty()) action = Str(j, "status");  // pre-1.22 field
  // "health_status: healthy", "exec_start: sh -c ..." → verb and detail.
  if (auto colon = action.find(':'); colon != std::string::npos) {
    std::size_t detail = action.find_first_not_of(' ', colon + 1);
    if (detail != std::string::npos) e.action_detail = action.substr(detail);
    action.resize(colon);
  }
  e.action = std::move(action);
  const json& actor = Field(j, "Actor");
  e.actor_id = Str(actor, "ID");
  if (e.actor_id.empty()) e.actor_id = Str(j, "id");
  e.attributes = StringMap(actor, "Attributes");
  e.time_nano = Int(j, "timeNano");
  // "time" is seconds; one that overflows nanoseconds (beyond year 2262) reads as no time.
  if (e.time_nano == 0 &&
      __builtin_mul_overflow(Int(j, "time"), int64_t{1'000'000'000}, &e.time_nano)) {
    e.time_nano = 0;
  }
  return e;
}

json ContainerCreateToJson(const ContainerCreate& c) {
  json body = json::object();
  body["Image"] = c.image;
  body["Env"] = c.env;
  body["Labels"] = json(c.labels);
  body["Tty"] = c.tty;
  if (c.entrypoint) body["Entrypoint"] = *c.entrypoint;
  if (!c.cmd.empty()) body["Cmd"] = c.cmd;
  if (!c.user.empty()) body["User"] = c.user;
  if (!c.working_dir.empty()) body["WorkingDir"] = c.working_dir;

  json host = json::object();
  if (!c.binds.empty()) host["Binds"] = c.binds;
  if (!c.mounts.empty()) host["Mounts"] = MountsJson(c.mounts);
  if (!c.network_mode.empty()) host["NetworkMode"] = c.network_mode;
  if (c.memory > 0) host["Memory"] = c.memory;
  if (c.memory_swap != 0) host["MemorySwap"] = c.memory_swap;
  if (c.nano_cpus > 0) host["NanoCpus"] = c.nano_cpus;
  if (c.pids_limit > 0) host["PidsLimit"] = c.pids_limit;
  host["Init"] = c.init;
  if (!c.security_opt.empty()) host["SecurityOpt"] = c.security_opt;
  if (!c.cap_drop.empty()) host["CapDrop"] = c.cap_drop;
  if (!c.cap_add.empty()) host["CapAdd"] = c.cap_add;
  host["RestartPolicy"] = {{"Name", c.restart_policy}};
  if (!c.port_bindings.empty()) {
    json exposed = json::object();
    json bindings = json::object();
    for (const auto& [port, list] : c.port_bindings) {
      exposed[port] = json::object();
      json entries = json::array();
      for (const PortBinding& b : list) {
        entries.push_back({{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
      }
      bindings[port] = std::move(entries);
    }
    body["ExposedPorts"] = std::move(exposed);
    host["PortBindings"] = std::move(bindings);
  }
  body["HostConfig"] = std::move(host);
  if (!c.network.empty()) {
    body["NetworkingConfig"] = {{"EndpointsConfig", {{c.network, json::object()}}}};
  }
  return body;
}

json NetworkCreateToJson(const NetworkCreate& n) {
  json body = {{"Name", n.name},
               {"CheckDuplicate", true},
               {"Driver", n.driver},
               {"Options", json(n.options)},
               {"Labels", json(n.labels)}};
  if (!n.subnet.empty()) {
    json config = {{"Subnet", n.subnet}};
    if (!n.gateway.empty()) config["Gateway"] = n.gateway;
    body["IPAM"] = {{"Driver", "default"}, {"Config", json::array({config})}};
  }
  if (!n.scope.empty()) body["Scope"] = n.scope;
  if (n.config_only) body["ConfigOnly"] = true;
  if (!n.config_from.empty()) body["ConfigFrom"] = {{"Network", n.config_from}};
  if (n.attachable) body["Attachable"] = true;
  if (n.internal) body["Internal"] = true;
  return body;
}

std::optional<std::chrono::system_clock::time_point> ParseDockerTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  bool ok = true;
  std::tm tm{};
  tm.tm_year = ParseDigits(s, 0, 4, &ok) - 1900;
  tm.tm_mon = ParseDigits(s, 5, 2, &ok) - 1;
  tm.tm_mday = ParseDigits(s, 8, 2, &ok);
  tm.tm_hour = ParseDigits(s, 11, 2, &ok);
  tm.tm_min = ParseDigits(s, 14, 2, &ok);
  tm.tm_sec = ParseDigits(s, 17, 2, &ok);
  if (!ok || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  if (tm.tm_year < 70) return std::nullopt;  // the zero time, or before the epoch
  std::size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    const int hours = ParseDigits(s, pos + 1, 2, &ok);
    const int minutes = ParseDigits(s, pos + 4, 2, &ok);
    if (!ok || pos + 3 >= s.size() || s[pos + 3] != ':') return std::nullopt;
    offset_seconds = sign * (hours * 3600 + minutes * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const time_t seconds = timegm(&tm);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  // system_clock counts nanoseconds in an int64_t: a time after 2262 would overflow it.
  constexpr int64_t kLastSecond = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (seconds - offset_seconds > kLastSecond) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(seconds - offset_seconds) + std::chrono::nanoseconds(nanos)));
}

Status EngineError(int status, std::string_view body, std::string_view what) {
  std::string message;
  json j = ParseJson(body, "engine error", kEngineJsonLimits).value_or(json());
  if (j.is_object()) message = Str(j, "message");
  if (message.empty()) message = std::string(body.substr(0, 500));
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
  // Swarm's compare-and-swap refusal arrives as a 500 wrapping swarmkit's gRPC error.
  if (message.find("update out of sequence") != std::string::npos) {
    return Aborted(prefix + message);
  }
  switch (status) {
    case 404:
      return NotFound(prefix + message);
    case 409:
      return AlreadyExists(prefix + message);
    case 400:
      return InvalidArgument(prefix + message);
    default:
      return Internal(prefix + "docker engine answered " + std::to_string(status) + ": " + message);
  }
}

int CompareApiVersions(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& s) {
      long value = 0;
      std::size_t i = 0;
      // Saturates: a part longer than any real version must not overflow.
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value = value < 100'000'000 ? value * 10 + (s[i] - '0') : value;
        ++i;
      }
      s.remove_prefix(i < s.size() ? i + 1 : s.size());
      return value;
    };
    const long x = take(a);
    const long y = take(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace berth::docker
