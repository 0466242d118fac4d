#include "config/settings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/ids.hpp"
#include "common/logging.hpp"

namespace berth::config {
namespace {

constexpr const char* kKeyForm = "must be 32 bytes given as 64 hex characters or base64";

std::string Trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Status Bad(const std::string& name, const std::string& why) {
  return InvalidArgument(name + ": " + why);
}

Result<std::map<std::string, std::string>> ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Bad("BERTH_CONFIG", "cannot read config file " + path);
  std::map<std::string, std::string> values;
  std::string line;
  int line_no = 0;
  const auto& names = SettingNames();
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = Trim(t.substr(7));
    std::size_t eq = t.find('=');
    if (eq == std::string::npos) {
      return Bad("BERTH_CONFIG", path + ":" + std::to_string(line_no) + ": expected NAME=VALUE");
    }
    std::string name = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return Bad("BERTH_CONFIG",
                 path + ":" + std::to_string(line_no) + ": unknown setting '" + name + "'");
    }
    values[name] = value;
  }
  return values;
}

// A whole number in [min, max], or nullopt.
std::optional<int64_t> ParseCount(const std::string& v, int64_t min, int64_t max) {
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int64_t n = std::stoll(v);
  if (n < min || n > max) return std::nullopt;
  return n;
}

// A number of CPUs up to 1024: above zero, or from zero when `zero_ok`; nullopt when not.
std::optional<double> ParseCpus(const std::string& v, bool zero_ok) {
  char* end = nullptr;
  const double cpus = std::strtod(v.c_str(), &end);
  const bool low_ok = zero_ok ? cpus >= 0.0 : cpus > 0.0;
  if (v.empty() || end != v.c_str() + v.size() || !low_ok || cpus > 1024.0) return std::nullopt;
  return cpus;
}

// "2g", "1536m", "512k" or plain bytes; at most 1 TiB in all (so the product cannot overflow).
std::optional<int64_t> ParseBytes(std::string v) {
  int64_t unit = 1;
  if (!v.empty()) {
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(v.back())));
    if (last == 'k' || last == 'm' || last == 'g') {
      unit = last == 'k' ? 1 << 10 : last == 'm' ? 1 << 20 : 1 << 30;
      v.pop_back();
    }
  }
  auto n = ParseCount(v, 1, (int64_t{1} << 40) / unit);
  if (!n) return std::nullopt;
  return *n * unit;
}

// The docker CLI's DOCKER_HOST forms plus the seed's bare socket path.
bool IsEngineAddress(const std::string& v) {
  return v.rfind("unix://", 0) == 0 || v.rfind("tcp://", 0) == 0 || v.rfind("http://", 0) == 0 ||
         v.rfind("https://", 0) == 0 || (!v.empty() && v[0] == '/');
}

bool IsUrl(const std::string& v) {
  return (v.rfind("http://", 0) == 0 && v.size() > 7) ||
         (v.rfind("https://", 0) == 0 && v.size() > 8);
}

}  // namespace

std::string Settings::KeyFilePath() const {
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/encryption.key";
}

const std::vector<std::string>& SettingNames() {
  static const std::vector<std::string> kNames = {"BERTH_LISTEN",
                                                  "BERTH_DATA_DIR",
                                                  "BERTH_DATABASE_URL",
                                                  "BERTH_DATABASE_WAIT",
                                                  "BERTH_ENCRYPTION_KEY",
                                                  "BERTH_ENCRYPTION_KEY_PREVIOUS",
                                                  "BERTH_ADMIN_TOKEN",
                                                  "OPENCLAW_IMAGE",
                                                  "OPENCLAW_NETWORK",
                                                  "MOSAIC_API_URL",
                                                  "DOCKER_HOST",
                                                  "DOCKER_TLS_VERIFY",
                                                  "DOCKER_CERT_PATH",
                                                  "BERTH_RUNTIME",
                                                  "BERTH_SWARM_NODE_ENGINES",
                                                  "BERTH_LOG_LEVEL",
                                                  "BERTH_LOG_FORMAT",
                                                  "BERTH_THREADS",
                                                  "BERTH_INTERNAL_LISTEN",
                                                  "BERTH_PROVIDER_ALLOW",
                                                  "BERTH_AGENT_EGRESS",
                                                  "BERTH_AGENT_ADDRESSING",
                                                  "BERTH_AGENT_MEMORY",
                                                  "BERTH_AGENT_CPUS",
                                                  "BERTH_AGENT_START_CPUS",
                                                  "BERTH_AGENT_START_BURST",
                                                  "BERTH_AGENT_PIDS",
                                                  "BERTH_START_TIMEOUT",
                                                  "BERTH_MAX_CONCURRENT_STARTS",
                                                  "BERTH_REAP_INTERVAL",
                                                  "BERTH_IDLE_PAUSE",
                                                  "BERTH_WARM_POOL",
                                                  "BERTH_POOL_KEEP_WARM",
                                                  "BERTH_HEALTH_INTERVAL",
                                                  "BERTH_MAX_CONNECTIONS",
                                                  "BERTH_CHAT_MAX_PER_USER",
                                                  "BERTH_CHAT_MAX_TOTAL",
                                                  "BERTH_CHAT_IDLE_GAP",
                                                  "BERTH_CHAT_KEEPALIVE_MS",
                                                  "BERTH_TOKEN_CACHE_MS",
                                                  "BERTH_LEASE_MS",
                                                  "BERTH_MAX_CONNECTIONS_PER_ADDRESS",
                                                  "BERTH_BODY_MEMORY",
                                                  "BERTH_MAX_PROVIDERS_PER_USER",
                                                  "BERTH_MAX_MODELS_PER_PROVIDER"};
  return kNames;
}

std::map<std::string, std::string> SettingsFromEnvironment() {
  std::map<std::string, std::string> env;
  auto take = [&](const std::string& name) {
    if (const char* v = std::getenv(name.c_str()); v != nullptr && *v != '\0') env[name] = v;
  };
  for (const auto& name : SettingNames()) take(name);
  take("BERTH_CONFIG");
  return env;
}

Status ParseListen(const std::string& value, std::string* host, unsigned short* port) {
  std::string h, p;
  if (!value.empty() && value[0] == '[') {
    std::size_t close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return Bad("BERTH_LISTEN", "expected [ipv6]:port");
    }
    h = value.substr(1, close - 1);
    p = value.substr(close + 2);
  } else {
    std::size_t colon = value.rfind(':');
    if (colon == std::string::npos) return Bad("BERTH_LISTEN", "expected host:port");
    h = value.substr(0, colon);
    p = value.substr(colon + 1);
    if (h.find(':') != std::string::npos) return Bad("BERTH_LISTEN", "wrap IPv6 hosts in [ ]");
  }
  if (h.empty()) h = "0.0.0.0";
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return Bad("BERTH_LISTEN", "port must be a number from 0 to 65535");
  }
  long n = std::stol(p);
  if (n > 65535) return Bad("BERTH_LISTEN", "port must be a number from 0 to 65535");
  *host = h;
  *port = static_cast<unsigned short>(n);
  return Status::Ok();
}

Result<Settings> LoadSettings(const std::map<std::string, std::string>& flags,
                              const std::map<std::string, std::string>& env,
                              const std::optional<std::string>& config_file) {
  std::map<std::string, std::string> file_values;
  std::optional<std::string> file_path = config_file;
  if (!file_path) {
    if (auto it = env.find("BERTH_CONFIG"); it != env.end()) file_path = it->second;
  }
  if (file_path) {
    auto read = ReadConfigFile(*file_path);
    if (!read.ok()) return read.status();
    file_values = std::move(*read);
  }
  auto get = [&](const std::string& name) -> std::optional<std::string> {
    if (auto it = flags.find(name); it != flags.end()) return it->second;
    if (auto it = env.find(name); it != env.end()) return it->second;
    if (auto it = file_values.find(name); it != file_values.end()) return it->second;
    return std::nullopt;
  };

  Settings s;
  if (auto v = get("BERTH_LISTEN")) {
    BERTH_RETURN_IF_ERROR(ParseListen(*v, &s.listen_host, &s.listen_port));
  }
  if (auto v = get("BERTH_DATA_DIR")) {
    if (v->empty()) return Bad("BERTH_DATA_DIR", "must not be empty");
    s.data_dir = *v;
  }
  if (auto v = get("BERTH_DATABASE_URL")) {
    if (v->rfind("sqlite://", 0) != 0 && v->rfind("postgres://", 0) != 0 &&
        v->rfind("postgresql://", 0) != 0) {
      return Bad("BERTH_DATABASE_URL", "expected sqlite://<path> or postgres://...");
    }
    s.database_url = *v;
  } else {
    s.database_url = "sqlite://" + s.data_dir + "/berth.db";
  }
  if (auto v = get("BERTH_ENCRYPTION_KEY")) {
    std::string key;
    if (!DecodeKey32(*v, &key)) return Bad("BERTH_ENCRYPTION_KEY", kKeyForm);
    s.encryption_key = std::move(key);
  }
  if (auto v = get("BERTH_ENCRYPTION_KEY_PREVIOUS")) {
    std::size_t start = 0;
    while (start <= v->size()) {
      std::size_t comma = v->find(',', start);
      std::string part =
          Trim(v->substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!part.empty()) {
        std::string key;
        if (!DecodeKey32(part, &key)) return Bad("BERTH_ENCRYPTION_KEY_PREVIOUS", kKeyForm);
        s.previous_keys.push_back(std::move(key));
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (auto v = get("BERTH_ADMIN_TOKEN")) {
    // A guessable admin token would open every user's data; insist on a real secret.
    if (v->size() < 32 || v->find_first_of(" \t\r\n") != std::string::npos) {
      return Bad("BERTH_ADMIN_TOKEN", "must be at least 32 characters without whitespace");
    }
    s.admin_token = *v;
  }
  if (auto v = get("OPENCLAW_IMAGE")) {
    if (v->empty() || v->find_first_of(" \t") != std::string::npos) {
      return Bad("OPENCLAW_IMAGE", "must be an image reference");
    }
    s.openclaw_image = *v;
  }
  if (auto v = get("OPENCLAW_NETWORK")) {
    if (v->empty()) return Bad("OPENCLAW_NETWORK", "must not be empty");
    s.openclaw_network = *v;
  }
  if (auto v = get("MOSAIC_API_URL")) {
    if (!IsUrl(*v)) return Bad("MOSAIC_API_URL", "must be an http:// or https:// URL");
    s.mosaic_api_url = *v;
  }
  if (auto v = get("DOCKER_HOST")) {
    if (!IsEngineAddress(*v))
      return Bad("DOCKER_HOST", "expected unix://, tcp://, http(s):// or a socket path");
    s.docker_host = *v;
  }
  if (auto v = get("BERTH_RUNTIME")) {
    if (*v != "docker" && *v != "swarm") return Bad("BERTH_RUNTIME", "expected docker or swarm");
    s.runtime = *v;
  }
  if (auto v = get("BERTH_SWARM_NODE_ENGINES")) {
    std::stringstream list(*v);
    for (std::string item; std::getline(list, item, ',');) {
      if (item.empty()) continue;
      if (!IsEngineAddress(item)) {
        return Bad("BERTH_SWARM_NODE_ENGINES",
                   "expected comma-separated unix://, tcp://, http(s):// or socket paths");
      }
      s.swarm_node_engines.push_back(item);
    }
  }
  if (auto v = get("BERTH_LOG_LEVEL")) {
    static const std::vector<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
    if (std::find(kLevels.begin(), kLevels.end(), *v) == kLevels.end()) {
      return Bad("BERTH_LOG_LEVEL", "expected trace|debug|info|warn|error|critical|off");
    }
    s.log_level = *v;
  }
  if (auto v = get("BERTH_LOG_FORMAT")) {
    if (!ParseLogFormat(*v).ok()) return Bad("BERTH_LOG_FORMAT", "expected json|text");
    s.log_format = *v;
  }
  if (auto v = get("DOCKER_TLS_VERIFY")) s.docker_tls_verify = !v->empty();
  if (auto v = get("DOCKER_CERT_PATH")) s.docker_cert_path = *v;
  if (auto v = get("BERTH_INTERNAL_LISTEN")) {
    if (*v != "off") {
      std::string host;
      unsigned short port = 0;
      Status parsed = ParseListen(*v, &host, &port);
      if (!parsed.ok()) {
        return Bad("BERTH_INTERNAL_LISTEN", "expected [host]:port or off");
      }
    }
    s.internal_listen = *v;
  }
  // Checked where the LLM gateway's destination policy is made (llm/destination.hpp).
  if (auto v = get("BERTH_PROVIDER_ALLOW")) s.provider_allow = *v;
  if (auto v = get("BERTH_AGENT_EGRESS")) {
    if (*v != "open" && *v != "berth-only") {
      return Bad("BERTH_AGENT_EGRESS", "expected open or berth-only");
    }
    s.agent_egress = *v;
  }
  if (auto v = get("BERTH_AGENT_ADDRESSING")) {
    if (*v != "ip" && *v != "name" && *v != "published") {
      return Bad("BERTH_AGENT_ADDRESSING", "expected ip, name or published");
    }
    s.agent_addressing = *v;
  }
  if (auto v = get("BERTH_AGENT_MEMORY")) {
    auto bytes = ParseBytes(*v);
    // The engine refuses limits under 6 MiB.
    if (!bytes || *bytes < (int64_t{6} << 20)) {
      return Bad("BERTH_AGENT_MEMORY", "expected a size of at least 6m, like 2g or 1536m");
    }
    s.agent_memory_bytes = *bytes;
  }
  if (auto v = get("BERTH_BODY_MEMORY")) {
    auto bytes = ParseBytes(*v);
    // Below one body at the 1 MiB limit, no large request could ever be read.
    if (!bytes || *bytes < (int64_t{1} << 20)) {
      return Bad("BERTH_BODY_MEMORY", "expected a size of at least 1m, like 64m or 1g");
    }
    s.body_memory_bytes = *bytes;
  }
  if (auto v = get("BERTH_AGENT_CPUS")) {
    auto cpus = ParseCpus(*v, /*zero_ok=*/false);
    if (!cpus) return Bad("BERTH_AGENT_CPUS", "expected a positive number of CPUs, like 1 or 0.5");
    s.agent_cpus = *cpus;
  }
  if (auto v = get("BERTH_AGENT_START_CPUS")) {
    auto cpus = ParseCpus(*v, /*zero_ok=*/true);
    if (!cpus) {
      return Bad("BERTH_AGENT_START_CPUS",
                 "expected a number of CPUs, like 2 (0: start with BERTH_AGENT_CPUS)");
    }
    s.agent_start_cpus = *cpus;
  }
  struct CountSetting {
    const char* name;
    int64_t min;
    int64_t max;
    std::function<void(int64_t)> set;
  };
  const CountSetting counts[] = {
      {"BERTH_DATABASE_WAIT", 0, 86400, [&](int64_t n) { s.database_wait_s = int(n); }},
      {"BERTH_AGENT_PIDS", 16, 1 << 22, [&](int64_t n) { s.agent_pids = n; }},
      {"BERTH_START_TIMEOUT", 1, 3600, [&](int64_t n) { s.start_timeout_s = int(n); }},
      {"BERTH_MAX_CONCURRENT_STARTS", 1, 1024,
       [&](int64_t n) { s.max_concurrent_starts = int(n); }},
      {"BERTH_REAP_INTERVAL", 1, 86400, [&](int64_t n) { s.reap_interval_s = int(n); }},
      {"BERTH_IDLE_PAUSE", 0, 86400 * 7, [&](int64_t n) { s.idle_pause_s = int(n); }},
      {"BERTH_WARM_POOL", 0, 1024, [&](int64_t n) { s.warm_pool = int(n); }},
      {"BERTH_POOL_KEEP_WARM", 0, 3600, [&](int64_t n) { s.pool_keep_warm_s = int(n); }},
      {"BERTH_AGENT_START_BURST", 0, 3600, [&](int64_t n) { s.agent_start_burst_s = int(n); }},
      {"BERTH_HEALTH_INTERVAL", 1, 86400, [&](int64_t n) { s.health_interval_s = int(n); }},
      {"BERTH_MAX_CONNECTIONS", 1, 1 << 20, [&](int64_t n) { s.max_connections = n; }},
      {"BERTH_CHAT_MAX_PER_USER", 1, 1 << 20, [&](int64_t n) { s.chat_max_per_user = n; }},
      {"BERTH_CHAT_MAX_TOTAL", 1, 1 << 20, [&](int64_t n) { s.chat_max_total = n; }},
      {"BERTH_CHAT_IDLE_GAP", 1, 86400, [&](int64_t n) { s.chat_idle_gap_s = int(n); }},
      {"BERTH_CHAT_KEEPALIVE_MS", 10, 600000, [&](int64_t n) { s.chat_keepalive_ms = int(n); }},
      {"BERTH_TOKEN_CACHE_MS", 0, 600000, [&](int64_t n) { s.token_cache_ms = int(n); }},
      {"BERTH_LEASE_MS", 500, 600000, [&](int64_t n) { s.lease_ms = int(n); }},
      {"BERTH_MAX_CONNECTIONS_PER_ADDRESS", 0, 1 << 20,
       [&](int64_t n) { s.max_connections_per_address = n; }},
      {"BERTH_MAX_PROVIDERS_PER_USER", 1, 1000, [&](int64_t n) { s.max_providers_per_user = n; }},
      // The gateway's config loader and berth's validation stop at 1,024 models per provider.
      {"BERTH_MAX_MODELS_PER_PROVIDER", 1, 1024, [&](int64_t n) { s.max_models_per_provider = n; }},
  };
  for (const CountSetting& c : counts) {
    if (auto v = get(c.name)) {
      auto n = ParseCount(*v, c.min, c.max);
      if (!n) {
        return Bad(c.name, "must be a whole number from " + std::to_string(c.min) + " to " +
                               std::to_string(c.max));
      }
      c.set(*n);
    }
  }
  if (auto v = get("BERTH_THREADS")) {
    if (v->empty() || v->size() > 3 || v->find_first_not_of("0123456789") != std::string::npos) {
      return Bad("BERTH_THREADS", "must be a number from 0 to 256");
    }
    s.threads = std::stoi(*v);
    if (s.threads > 256) return Bad("BERTH_THREADS", "must be a number from 0 to 256");
  }
  if (s.runtime == "swarm" && !s.mosaic_api_url &&
      (s.internal_listen == "off" || s.internal_listen.front() == ':')) {
    // A swarm network's gateway is each node's own bridge, never berth.
    return Bad("BERTH_RUNTIME",
               "swarm needs MOSAIC_API_URL, or BERTH_INTERNAL_LISTEN with the address the nodes "
               "reach berth at (host:port)");
  }
  if (s.agent_egress == "berth-only" &&
      (s.runtime == "swarm" || s.mosaic_api_url || s.internal_listen == "off")) {
    // Agents then reach berth only at its internal listener on their network's gateway.
    return Bad("BERTH_AGENT_EGRESS",
               "berth-only needs BERTH_RUNTIME=docker, berth's internal listener (not off) and no "
               "MOSAIC_API_URL");
  }
  return s;
}

}  // namespace berth::config
