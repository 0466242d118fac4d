#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/agent_image_contract.hpp"

namespace berth::lifecycle {

// How berth reaches an agent's gateway (ARCHITECTURE.md, "Engine addressing"). Never a host port
// chosen by scanning a table.
enum class AddressMode {
  kContainerIp,    // berth runs on the host: the container's IP on the agent network
  kContainerName,  // berth runs in a container on the agent network: the container's name
  kPublished,      // the gateway port published on 127.0.0.1 at an engine-chosen port
  kNodePort,       // Swarm: published on the agent's node at a port the node picks; berth
                   // reaches it at the node's address (ContainerInfo::ip_address) and that port
};

struct LifecycleOptions {
  std::string image = "alpine/openclaw:latest";
  // What the image promises (gateway port, readiness path, state dir, uid, env). No default:
  // the wiring passes image::AgentContract(); AgentManager::Initialize() refuses an unset one.
  runtime::AgentImageContract contract;
  std::string network = "mosaic-internal";
  // MOSAIC_API_URL given to containers (berth's API base including /api). Required by
  // AgentManager; the binary derives it from the agent network's gateway when not configured.
  std::string api_url;
  AddressMode address_mode = AddressMode::kContainerIp;

  int64_t memory_bytes = int64_t{2} << 30;  // the gateway peaks at ~1.05 GiB; 1 GiB gets OOM-killed
  int64_t nano_cpus = 1'000'000'000;        // one CPU
  // The start's burst: an agent (re)started from cold gets this CPU limit, when higher, until
  // start_burst after it was ready (its first turn too), then nano_cpus (CpuBurst). A gateway
  // loads its modules and starts ~1.4x faster with 2 CPUs than with 1 (bench/README.md, "Where a
  // cold start's time goes"). 0, or not above nano_cpus: no burst. Runtimes that cannot change
  // a limit in place (Swarm) never burst.
  int64_t start_nano_cpus = 2'000'000'000;
  std::chrono::seconds start_burst{60};
  int64_t pids_limit = 512;

  std::chrono::milliseconds start_timeout{std::chrono::seconds(180)};
  std::chrono::milliseconds ready_poll_interval{100};
  std::chrono::seconds stop_grace{10};
  int max_concurrent_starts = 4;
  std::chrono::seconds retry_after{5};  // advertised to callers beyond the start cap

  std::chrono::milliseconds reap_interval{std::chrono::seconds(60)};
  // A user agent idle this long (no stream open) is paused by the reaper's pass, and resumed by
  // its next use; 0 = never. Only agents with an idle timeout are paused (one without is kept
  // running on purpose), and only on runtimes that can (ContainerRuntime::SupportsPause()).
  std::chrono::seconds idle_pause{300};
  // Agents kept started ahead with no user (WarmPool); a user whose agent never ran takes one.
  int warm_pool = 0;
  std::chrono::milliseconds pool_interval{std::chrono::seconds(5)};       // the refill's pass
  std::chrono::milliseconds pool_refill_delay{std::chrono::seconds(10)};  // after a hand-over
  // How often a ready pooled agent is kept warm (a config change and a turn: an idle gateway's
  // next change is slow again, WarmPool); 0 = never.
  std::chrono::milliseconds pool_keep_warm{std::chrono::seconds(20)};
  // How long a hand-over waits for the pooled gateway to apply the user's config.
  std::chrono::milliseconds pool_reload_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds health_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds activity_flush_interval{std::chrono::seconds(5)};
  std::chrono::milliseconds probe_timeout{2000};
  int health_parallelism = 32;
  int health_failures_before_unhealthy = 2;
  // System containers that fail to start are retried after this, doubling up to the maximum.
  std::chrono::milliseconds system_backoff_initial{std::chrono::seconds(5)};
  std::chrono::milliseconds system_backoff_max{std::chrono::minutes(5)};

  int log_tail_lines = 20;  // log lines quoted in a start failure
  // Leases shared by replicas on one database (start_lease.hpp, lease_leadership.hpp): how long
  // one lasts unrenewed (a dead replica's start or leadership is taken over after it), and how
  // often a start waiting for another replica's asks again.
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(10)};
  std::chrono::milliseconds lease_poll{200};
  // Whether other replicas share the store (PostgreSQL). Without it (SQLite: one berth) starts
  // take no lease and reconciliation heeds none.
  bool shared_store = false;
  // This replica's name as a lease holder; AgentManager::Initialize() makes a unique one when
  // empty (host, process id and a random part).
  std::string replica_id;
};

// What AgentManager::Initialize() settles before any part runs; read-only afterwards.
struct InstanceInfo {
  std::string instance_id;  // the store's random id: the berth.instance label's value
  std::string api_url;      // MOSAIC_API_URL as given to containers
  std::string replica_id;   // this process as a lease holder (never shared by two processes)
};

}  // namespace berth::lifecycle
