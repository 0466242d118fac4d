// bench_lifecycle_sweep: AgentManager::HealthCheck() over SWEEP_AGENTS running test agents
// against the seed's way, a sequential inspect-each sweep, in the same run (goal: ≤ 1 s at 1,000).
//
// Setup: SWEEP_AGENTS users (default 1000), each agent started through the manager
// (EnsureRunning, SWEEP_START_PARALLELISM at a time) on one isolated bridge network, so the fleet
// is exactly what the manager's sweep sees in production. Progress goes to stderr. Creation stops
// early, with a message, when MemAvailable falls below SWEEP_MIN_AVAILABLE_MB (default 4096) or
// after 5 failed starts; the sweep then runs over the agents that did start, and says so.
//
// Then SWEEP_ROUNDS rounds (default 3), alternating which goes first:
//   berth     AgentManager::HealthCheck(): Reconcile (one list call and the store's records),
//             one more list call, then GET /readyz on every running agent with
//             health_parallelism (32) workers, inspecting only containers that were not listed
//             as running or whose address is unknown.
//   baseline  the seed's sweep: read the records (Store::ListUserContainers), then for each
//             record one by one Inspect its container and, when it runs, GET /readyz at its
//             address (same probe, same timeout).
// Reported: the median (and min, max) wall time of each, their ratio, engine calls and probes
// per sweep (CountingRuntime / CountingProbe), and how many agents each found healthy.
//
// Everything is removed at the end (4 removals at a time; this takes a while at 1,000).
// Settings (environment): SWEEP_AGENTS, SWEEP_ROUNDS, SWEEP_START_PARALLELISM (4),
// SWEEP_MIN_AVAILABLE_MB, BENCH_LOG_LEVEL (warn), and the env's (lifecycle_bench_env.hpp).

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/lifecycle/lifecycle_bench_env.hpp"
#include "common/logging.hpp"

namespace berth::bench {
namespace {

using Steady = std::chrono::steady_clock;

// The host's IPv4 neighbour (ARP) table. It is one table for every network namespace, so the
// agents' own entries (for their gateway) count against it too. The kernel keeps up to
// gc_thresh3 entries and cannot drop one updated in the last 5 s: touching more agents than
// about gc_thresh3 / 2 within a few seconds (an entry on each side per agent) fills it, and
// every new connection then fails until entries age ("neighbor table overflow" in dmesg).
int64_t ReadSysctl(const char* path) {
  std::ifstream in(path);
  int64_t value = -1;
  in >> value;
  return value;
}
// Times the table was full (table_fulls of /proc/net/stat/arp_cache, summed over the CPUs).
int64_t NeighbourTableFulls() {
  std::ifstream in("/proc/net/stat/arp_cache");
  std::string line;
  if (!std::getline(in, line)) return -1;
  int64_t sum = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field, last;
    while (fields >> field) last = field;
    if (!last.empty()) sum += std::stoll(last, nullptr, 16);
  }
  return sum;
}

struct SweepRun {
  double ms = 0;
  std::size_t checked = 0;
  std::size_t healthy = 0;
  CountingRuntime::Counts engine;
  int64_t probes = 0;
  double probe_ms = 0;      // summed over the probes (HealthCheck runs them in parallel)
  int64_t table_fulls = 0;  // neighbour table full events during the sweep
};

SweepRun TimeHealthCheck(LifecycleBenchEnv& env, lifecycle::AgentManager& manager,
                         CountingProbe& probe, std::string* error) {
  SweepRun run;
  const auto engine_before = env.runtime()->Snapshot();
  const int64_t probes_before = probe.probes();
  const double probe_ms_before = probe.millis();
  const int64_t fulls_before = NeighbourTableFulls();
  const auto t0 = Steady::now();
  auto results = manager.HealthCheck();
  run.ms = MillisSince(t0);
  run.table_fulls = NeighbourTableFulls() - fulls_before;
  run.engine = env.runtime()->Snapshot() - engine_before;
  run.probes = probe.probes() - probes_before;
  run.probe_ms = probe.millis() - probe_ms_before;
  if (!results.ok()) {
    *error = results.status().message();
    return run;
  }
  run.checked = results->size();
  for (const auto& r : *results) {
    if (r.healthy) {
      ++run.healthy;
    } else if (error->empty()) {
      *error = "user " + r.user_id + ": " + r.error;
    }
  }
  return run;
}

// The seed's sweep: records from the store, then inspect + probe each container in turn.
SweepRun TimeSequential(LifecycleBenchEnv& env, CountingProbe& probe,
                        const lifecycle::LifecycleOptions& options, std::string* error) {
  SweepRun run;
  const auto engine_before = env.runtime()->Snapshot();
  const int64_t probes_before = probe.probes();
  const double probe_ms_before = probe.millis();
  const int64_t fulls_before = NeighbourTableFulls();
  const auto t0 = Steady::now();
  auto records = env.store()->ListUserContainers();
  if (records.ok()) {
    for (const auto& record : *records) {
      if (!record.container_id) continue;
      ++run.checked;
      auto info = env.runtime()->Inspect(*record.container_id);
      if (!info.ok() || info->state != runtime::ContainerState::kRunning ||
          info->ip_address.empty()) {
        continue;
      }
      auto code = probe.Get(info->ip_address, options.contract.gateway_port,
                            options.contract.readiness_path, options.probe_timeout);
      if (code.ok() && *code == 200) ++run.healthy;
    }
  } else {
    *error = records.status().message();
  }
  run.ms = MillisSince(t0);
  run.table_fulls = NeighbourTableFulls() - fulls_before;
  run.engine = env.runtime()->Snapshot() - engine_before;
  run.probes = probe.probes() - probes_before;
  run.probe_ms = probe.millis() - probe_ms_before;
  return run;
}

int Main() {
  const char* level = std::getenv("BENCH_LOG_LEVEL");
  InitLogging(level != nullptr && *level != '\0' ? level : "warn");
  const int64_t wanted = EnvInt("SWEEP_AGENTS", 1000);
  const int rounds = static_cast<int>(EnvInt("SWEEP_ROUNDS", 3));
  const int parallelism =
      static_cast<int>(std::max<int64_t>(1, EnvInt("SWEEP_START_PARALLELISM", 4)));
  const int64_t min_available = EnvInt("SWEEP_MIN_AVAILABLE_MB", 4096);

  const int64_t available_at_start = MemAvailableMiB();
  std::fprintf(stderr, "[sweep] MemAvailable %lld MiB; stopping creation below %lld MiB\n",
               static_cast<long long>(available_at_start), static_cast<long long>(min_available));
  if (available_at_start >= 0 && available_at_start < min_available) {
    std::fprintf(stderr,
                 "bench_lifecycle_sweep: only %lld MiB available, below "
                 "SWEEP_MIN_AVAILABLE_MB=%lld: not starting\n",
                 static_cast<long long>(available_at_start), static_cast<long long>(min_available));
    return 1;
  }

  const int64_t gc_thresh3 = ReadSysctl("/proc/sys/net/ipv4/neigh/default/gc_thresh3");
  const bool neighbour_table_too_small = gc_thresh3 > 0 && 2 * wanted + 64 > gc_thresh3;
  if (neighbour_table_too_small) {
    std::fprintf(stderr,
                 "[sweep] WARNING: net.ipv4.neigh.default.gc_thresh3 is %lld: a sweep of %lld "
                 "agents needs about %lld fresh neighbour entries (one on each side per agent), "
                 "so probes will fail with 'neighbor table overflow'. Raise "
                 "net.ipv4.neigh.default.gc_thresh{1,2,3} (e.g. 2048 4096 8192) or lower "
                 "SWEEP_AGENTS to about %lld.\n",
                 static_cast<long long>(gc_thresh3), static_cast<long long>(wanted),
                 static_cast<long long>(2 * wanted), static_cast<long long>((gc_thresh3 - 64) / 2));
  }

  auto created = LifecycleBenchEnv::Create("sweep");
  if (!created.ok()) {
    std::fprintf(stderr, "bench_lifecycle_sweep: %s\n", created.status().message().c_str());
    return 1;
  }
  LifecycleBenchEnv& env = **created;
  lifecycle::LifecycleOptions options = env.BaseOptions();
  options.max_concurrent_starts = parallelism;
  auto probe = std::make_shared<CountingProbe>(std::make_shared<lifecycle::HttpGatewayProbe>());
  auto manager_or = env.StartManager(options, probe);
  if (!manager_or.ok()) {
    std::fprintf(stderr, "manager: %s\n", manager_or.status().message().c_str());
    return 1;
  }
  lifecycle::AgentManager& manager = **manager_or;

  std::vector<std::string> users;
  for (int64_t i = 0; i < wanted; ++i) {
    auto user = env.NewUser(std::to_string(i).insert(0, 1, 's'));
    if (!user.ok()) {
      std::fprintf(stderr, "user: %s\n", user.status().message().c_str());
      return 1;
    }
    users.push_back(*user);
  }

  // Start the fleet.
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> started{0};
  std::atomic<int> failures{0};
  std::atomic<bool> stop_creating{false};
  std::mutex report_mu;
  std::string stop_reason;
  const auto t_fleet = Steady::now();
  auto starter = [&] {
    for (;;) {
      if (Interrupted() || stop_creating) return;
      const int64_t available = MemAvailableMiB();
      if (available >= 0 && available < min_available) {
        std::lock_guard lock(report_mu);
        if (!stop_creating.exchange(true)) {
          stop_reason = "MemAvailable fell to " + std::to_string(available) +
                        " MiB, below SWEEP_MIN_AVAILABLE_MB=" + std::to_string(min_available);
        }
        return;
      }
      const std::size_t i = next++;
      if (i >= users.size()) return;
      auto endpoint = manager.EnsureRunning(users[i]);
      if (!endpoint.ok()) {
        std::lock_guard lock(report_mu);
        std::fprintf(stderr, "[sweep] start of agent %zu failed: %s\n", i,
                     endpoint.status().message().c_str());
        if (++failures >= 5 && !stop_creating.exchange(true)) {
          stop_reason = "5 starts failed";
        }
        continue;
      }
      env.TrackContainer(endpoint->container_id);
      const std::size_t n = ++started;
      if (n % 50 == 0 || n == users.size()) {
        std::lock_guard lock(report_mu);
        const double s = MillisSince(t_fleet) / 1000.0;
        std::fprintf(stderr,
                     "[sweep] %zu/%zu agents running, %.0f s, %.1f starts/s, "
                     "MemAvailable %lld MiB\n",
                     n, users.size(), s, static_cast<double>(n) / s,
                     static_cast<long long>(MemAvailableMiB()));
      }
    }
  };
  {
    std::vector<std::thread> pool;
    for (int i = 1; i < parallelism; ++i) pool.emplace_back(starter);
    starter();
    for (auto& t : pool) t.join();
  }
  const double fleet_s = MillisSince(t_fleet) / 1000.0;
  const std::size_t running = started.load();
  const int64_t available_after = MemAvailableMiB();

  std::printf("== health sweep: AgentManager::HealthCheck vs a sequential inspect-each sweep\n");
  std::printf("machine: %s\n", env.MachineLine().c_str());
  std::printf(
      "fleet: %zu of %lld test agents running, started through the manager in %.0f s "
      "(%.1f/s, %d at a time)\n",
      running, static_cast<long long>(wanted), fleet_s, static_cast<double>(running) / fleet_s,
      parallelism);
  std::printf("host neighbour table: gc_thresh1/2/3 %lld/%lld/%lld%s\n",
              static_cast<long long>(ReadSysctl("/proc/sys/net/ipv4/neigh/default/gc_thresh1")),
              static_cast<long long>(ReadSysctl("/proc/sys/net/ipv4/neigh/default/gc_thresh2")),
              static_cast<long long>(gc_thresh3),
              neighbour_table_too_small ? " (too small for this fleet: expect failed probes)" : "");
  if (!stop_reason.empty() || Interrupted()) {
    std::printf("NOTE: creation stopped early: %s\n",
                Interrupted() ? "interrupted" : stop_reason.c_str());
  }
  if (available_at_start >= 0 && available_after >= 0 && running > 0) {
    // The machine is shared: other processes change MemAvailable too, so this is rough.
    const int64_t used = available_at_start - available_after;
    std::printf("MemAvailable %lld -> %lld MiB", static_cast<long long>(available_at_start),
                static_cast<long long>(available_after));
    if (used > 0) {
      std::printf(
          ": roughly %.1f MiB per running agent (agent, init and shim processes, engine "
          "state)\n",
          static_cast<double>(used) / static_cast<double>(running));
    } else {
      std::printf(" (other processes freed memory meanwhile: no per-agent estimate)\n");
    }
  }
  if (running == 0 || Interrupted()) {
    env.Cleanup();
    return Interrupted() ? 130 : 1;
  }

  std::vector<SweepRun> berth_runs, seq_runs;
  std::vector<double> reconcile_ms;  // Reconcile() alone: the first step of every HealthCheck
  std::string berth_error, seq_error;
  for (int r = 0; r < rounds && !Interrupted(); ++r) {
    auto run_berth = [&] {
      berth_runs.push_back(TimeHealthCheck(env, manager, *probe, &berth_error));
      std::fprintf(stderr, "[sweep] round %d: HealthCheck %.0f ms (%zu/%zu healthy)\n", r,
                   berth_runs.back().ms, berth_runs.back().healthy, berth_runs.back().checked);
    };
    auto run_seq = [&] {
      seq_runs.push_back(TimeSequential(env, *probe, options, &seq_error));
      std::fprintf(stderr, "[sweep] round %d: sequential %.0f ms (%zu/%zu healthy)\n", r,
                   seq_runs.back().ms, seq_runs.back().healthy, seq_runs.back().checked);
    };
    if (r % 2 == 0) {
      run_berth();
      run_seq();
    } else {
      run_seq();
      run_berth();
    }
    const auto t0 = Steady::now();
    Status reconciled = manager.Reconcile();
    if (reconciled.ok()) reconcile_ms.push_back(MillisSince(t0));
  }
  if (berth_runs.empty() || seq_runs.empty()) {
    env.Cleanup();
    return Interrupted() ? 130 : 1;
  }

  auto times = [](const std::vector<SweepRun>& runs) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.ms);
    return Summarize(v);
  };
  const Summary b = times(berth_runs), s = times(seq_runs);
  // Per side: wall time over the rounds, the worst round's healthy count, probes and engine
  // calls of the last round, neighbour-table-full events summed over the rounds.
  auto row = [&](const char* name, const std::vector<SweepRun>& runs, const Summary& t) {
    std::size_t worst = runs.front().healthy;
    int64_t fulls = 0;
    for (const auto& r : runs) {
      worst = std::min(worst, r.healthy);
      fulls += r.table_fulls;
    }
    std::printf("%-34s %7zu %9.0f %9.0f %9.0f %5zu/%-4zu %7lld %10lld  %lld (%s)\n", name,
                runs.size(), t.p50, t.min, t.max, worst, runs.back().checked,
                static_cast<long long>(runs.back().probes), static_cast<long long>(fulls),
                static_cast<long long>(runs.back().engine.total()),
                runs.back().engine.Describe().c_str());
  };
  std::printf("\n%-34s %7s %9s %9s %9s %10s %7s %10s  %s\n", "sweep (wall time in ms)", "rounds",
              "p50", "min", "max", "healthy", "probes", "table full", "engine calls per sweep");
  row("berth AgentManager::HealthCheck", berth_runs, b);
  row("seed: sequential inspect + probe", seq_runs, s);
  std::printf("per round (ms): HealthCheck");
  for (const auto& r : berth_runs) std::printf(" %.0f", r.ms);
  std::printf("; sequential");
  for (const auto& r : seq_runs) std::printf(" %.0f", r.ms);
  std::printf("\n");
  std::printf(
      "where the time went, last round: HealthCheck: List %.0f ms (%lld calls), probes "
      "%.0f ms summed (%.2f ms each, %d workers); Reconcile alone (HealthCheck's first "
      "step, timed apart) p50 %.0f ms. Sequential: Inspect %.0f ms (%.2f ms each), "
      "probes %.0f ms (%.2f ms each), rest %.0f ms\n",
      berth_runs.back().engine.millis(CountingRuntime::kList),
      static_cast<long long>(berth_runs.back().engine.by_method[CountingRuntime::kList]),
      berth_runs.back().probe_ms,
      berth_runs.back().probe_ms / std::max<double>(1, berth_runs.back().probes),
      options.health_parallelism, Summarize(reconcile_ms).p50,
      seq_runs.back().engine.millis(CountingRuntime::kInspect),
      seq_runs.back().engine.millis(CountingRuntime::kInspect) /
          std::max<double>(1, seq_runs.back().checked),
      seq_runs.back().probe_ms,
      seq_runs.back().probe_ms / std::max<double>(1, seq_runs.back().probes),
      seq_runs.back().ms - seq_runs.back().engine.total_millis() - seq_runs.back().probe_ms);
  std::printf("sequential / HealthCheck, medians: %.1fx\n", s.p50 / b.p50);
  if (!berth_error.empty()) std::printf("HealthCheck problem seen: %s\n", berth_error.c_str());
  if (!seq_error.empty()) std::printf("sequential problem seen: %s\n", seq_error.c_str());
  bool all_healthy = true;
  for (const auto& r : berth_runs) all_healthy = all_healthy && r.healthy == running;
  std::printf("goal (HealthCheck over %zu agents <= 1 s%s): %s (p50 %.0f ms)\n", running,
              running < 1000 ? ", fewer than 1,000 agents" : "",
              b.p50 <= 1000.0 && all_healthy ? "PASS" : "MISSED", b.p50);
  std::fflush(stdout);

  const auto t_cleanup = Steady::now();
  env.Cleanup();
  std::fprintf(stderr, "[sweep] cleanup took %.0f s\n", MillisSince(t_cleanup) / 1000.0);
  if (Interrupted()) return 130;
  return all_healthy ? 0 : 1;
}

}  // namespace
}  // namespace berth::bench

int main() {
  berth::bench::InstallInterruptHandler();
  return berth::bench::Main();
}
