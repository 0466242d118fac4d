#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::config {

// Service settings, resolved from (highest first) command-line flags, the environment, and an
// optional config file. Every source uses the same names: the environment variable names below.
struct Settings {
  std::string listen_host = "0.0.0.0";  // BERTH_LISTEN host part
  unsigned short listen_port = 3000;    // BERTH_LISTEN port part
  std::string data_dir = "./data";      // BERTH_DATA_DIR
  std::string database_url;             // BERTH_DATABASE_URL, default sqlite://<data dir>/berth.db
  // BERTH_DATABASE_WAIT: seconds `berth serve` keeps trying a PostgreSQL server that does not
  // answer at start before it gives up (0 = one attempt).
  int database_wait_s = 60;
  // BERTH_ENCRYPTION_KEY as raw 32 bytes; unset means the key file <data dir>/encryption.key.
  std::optional<std::string> encryption_key;
  // BERTH_ENCRYPTION_KEY_PREVIOUS: comma-separated keys still accepted for reading (rotation).
  std::vector<std::string> previous_keys;
  std::optional<std::string> admin_token;                 // BERTH_ADMIN_TOKEN
  std::string openclaw_image = "alpine/openclaw:latest";  // OPENCLAW_IMAGE
  std::string openclaw_network = "mosaic-internal";       // OPENCLAW_NETWORK
  // MOSAIC_API_URL given to agent containers; unset means derived from the agent network.
  std::optional<std::string> mosaic_api_url;
  std::string docker_host = "unix:///var/run/docker.sock";  // DOCKER_HOST
  bool docker_tls_verify = false;  // DOCKER_TLS_VERIFY (non-empty = on), as the docker CLI reads it
  std::string docker_cert_path;    // DOCKER_CERT_PATH; empty = ~/.docker
  // BERTH_RUNTIME: docker (one engine, DOCKER_HOST) | swarm (DOCKER_HOST names a swarm manager;
  // agents reached at their node's address and published port; needs MOSAIC_API_URL or a
  // BERTH_INTERNAL_LISTEN with a host the nodes reach berth at).
  std::string runtime = "docker";
  // BERTH_SWARM_NODE_ENGINES: comma-separated engines of the swarm's nodes (DOCKER_HOST forms,
  // DOCKER_TLS_VERIFY/DOCKER_CERT_PATH as for the manager), through which berth writes an
  // agent's config into its container and removes a deleted user's volume on its node.
  std::vector<std::string> swarm_node_engines;
  std::string log_level = "info";   // BERTH_LOG_LEVEL
  std::string log_format = "json";  // BERTH_LOG_FORMAT: json | text (common/logging.hpp)
  int threads = 0;                  // BERTH_THREADS, 0 = cores

  // BERTH_INTERNAL_LISTEN: the listener that serves only /api/internal/* to agent containers.
  // "[host]:port"; an empty host means the agent network's gateway address. "off" disables it
  // (agents then use MOSAIC_API_URL, which must be set). Used when MOSAIC_API_URL is not set.
  std::string internal_listen = ":3001";
  // BERTH_PROVIDER_ALLOW: CIDRs or addresses, comma or space separated, of private networks
  // berth's LLM gateway may reach providers on (llm/destination.hpp); none by default.
  std::string provider_allow;
  // BERTH_AGENT_EGRESS: "open" (agents reach anything the host routes to) or "berth-only" (an
  // internal agent network and a host firewall: berth's internal listener is all they reach).
  std::string agent_egress = "open";
  std::string agent_addressing = "ip";            // BERTH_AGENT_ADDRESSING: ip | name | published
  int64_t agent_memory_bytes = int64_t{2} << 30;  // BERTH_AGENT_MEMORY, e.g. 2g, 1536m
  double agent_cpus = 1.0;                        // BERTH_AGENT_CPUS
  double agent_start_cpus = 2.0;                  // BERTH_AGENT_START_CPUS (0 = no burst)
  int agent_start_burst_s = 60;                   // BERTH_AGENT_START_BURST (seconds)
  int64_t agent_pids = 512;                       // BERTH_AGENT_PIDS
  int start_timeout_s = 180;                      // BERTH_START_TIMEOUT (seconds)
  int max_concurrent_starts = 4;                  // BERTH_MAX_CONCURRENT_STARTS
  int reap_interval_s = 60;                       // BERTH_REAP_INTERVAL (seconds)
  int idle_pause_s = 300;                         // BERTH_IDLE_PAUSE (seconds; 0 = never)
  int warm_pool = 0;                              // BERTH_WARM_POOL (agents started ahead)
  int pool_keep_warm_s = 20;                      // BERTH_POOL_KEEP_WARM (seconds; 0 = never)
  int health_interval_s = 30;                     // BERTH_HEALTH_INTERVAL (seconds)
  int64_t max_connections = 30000;                // BERTH_MAX_CONNECTIONS (public listener)
  int64_t chat_max_per_user = 32;                 // BERTH_CHAT_MAX_PER_USER (chats in flight)
  int64_t chat_max_total = 20000;                 // BERTH_CHAT_MAX_TOTAL (chats in flight)
  int chat_idle_gap_s = 300;                      // BERTH_CHAT_IDLE_GAP (seconds of silence)
  int chat_keepalive_ms = 10000;                  // BERTH_CHAT_KEEPALIVE_MS (cold-start comments)
  int token_cache_ms = 5000;                      // BERTH_TOKEN_CACHE_MS (0 = no cache)
  int lease_ms = 10000;  // BERTH_LEASE_MS: replicas' lease period (leader, starts); PostgreSQL
  // BERTH_MAX_CONNECTIONS_PER_ADDRESS: open connections from one client address (0 = no limit,
  // for berth behind a proxy whose connections all come from one address).
  int64_t max_connections_per_address = 512;
  int64_t body_memory_bytes = int64_t{64} << 20;  // BERTH_BODY_MEMORY: request bodies in flight
  int64_t max_providers_per_user = 20;            // BERTH_MAX_PROVIDERS_PER_USER
  int64_t max_models_per_provider = 256;          // BERTH_MAX_MODELS_PER_PROVIDER

  std::string KeyFilePath() const;  // <data dir>/encryption.key
};

// Names accepted in every source, in the order they are documented.
const std::vector<std::string>& SettingNames();

// Resolves settings. `flags` and `env` map setting names to raw values; `config_file`, when set,
// is a file of NAME=VALUE lines ('#' comments, optional quotes; unknown names are an error).
// Errors (kInvalidArgument) name the offending setting and never echo secret values.
Result<Settings> LoadSettings(const std::map<std::string, std::string>& flags,
                              const std::map<std::string, std::string>& env,
                              const std::optional<std::string>& config_file);

// The process environment restricted to SettingNames() (plus BERTH_CONFIG).
std::map<std::string, std::string> SettingsFromEnvironment();

// Parses "host:port", "[v6]:port" or ":port". Exposed for tests.
Status ParseListen(const std::string& value, std::string* host, unsigned short* port);

}  // namespace berth::config
