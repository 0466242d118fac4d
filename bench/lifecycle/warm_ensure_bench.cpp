// bench_lifecycle_warm_ensure: the warm path of AgentManager::EnsureRunning, i.e. a call for a user
// whose agent runs and is verified while the engine's event stream is live (goal: p99 < 100 µs and
// no engine call).
//
// One agent is cold-started on the real engine (test-agent image), the manager's event stream is
// confirmed live, then after WARM_WARMUP untimed calls, WARM_CALLS calls are timed one by one
// (steady_clock around each call) on each thread count of WARM_THREADS (default "1,2"; the calls
// are split between the threads, all for the same user, so they contend for the manager's lock).
// Engine calls are counted by a CountingRuntime wrapped around the DockerRuntime the manager
// uses (every method of the seam counts), gateway probes by a CountingProbe; both are compared
// before and after each timed loop. EnsureRunningAsync with an inline callback is timed too (the
// synchronous call adds a promise/future).
//
// Reference, same run: one engine Inspect of the same container (WARM_INSPECTS times), the
// least that a path asking the engine pays per call; the seed made several per chat.
//
// Settings (environment): WARM_CALLS (200000), WARM_WARMUP (10000), WARM_THREADS ("1,2"),
// WARM_INSPECTS (2000), BENCH_LOG_LEVEL (warn), and the env's (lifecycle_bench_env.hpp).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/lifecycle/lifecycle_bench_env.hpp"
#include "common/logging.hpp"

namespace berth::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct LoopResult {
  Summary us;  // per-call latency, microseconds
  int64_t calls = 0;
  int64_t failures = 0;
  CountingRuntime::Counts engine;
  int64_t probes = 0;
  double wall_s = 0;
};

// Runs `calls` calls of `one` split over `threads` threads, each call timed.
template <typename Fn>
LoopResult TimedLoop(LifecycleBenchEnv& env, CountingProbe& probe, int threads, int64_t calls,
                     Fn one) {
  std::vector<std::vector<double>> per_thread(threads);
  std::vector<int64_t> failures(threads, 0);
  const auto engine_before = env.runtime()->Snapshot();
  const int64_t probes_before = probe.probes();
  const auto t0 = Steady::now();
  auto work = [&](int t) {
    const int64_t n = calls / threads + (t < calls % threads ? 1 : 0);
    auto& out = per_thread[t];
    out.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      const auto begin = Steady::now();
      const bool ok = one();
      const auto end = Steady::now();
      out.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
      if (!ok) ++failures[t];
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  LoopResult r;
  r.wall_s = MillisSince(t0) / 1000.0;
  r.engine = env.runtime()->Snapshot() - engine_before;
  r.probes = probe.probes() - probes_before;
  std::vector<double> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  for (int64_t f : failures) r.failures += f;
  r.calls = static_cast<int64_t>(all.size());
  r.us = Summarize(std::move(all));
  return r;
}

void PrintRow(const std::string& name, int threads, const LoopResult& r) {
  std::printf("%-34s %7d %8lld %8.2f %8.2f %9.2f %9.1f %8.1f %12.6f %9.6f %9lld\n", name.c_str(),
              threads, static_cast<long long>(r.calls), r.us.p50, r.us.p99, r.us.p999, r.us.max,
              r.us.mean, static_cast<double>(r.engine.total()) / static_cast<double>(r.calls),
              static_cast<double>(r.probes) / static_cast<double>(r.calls),
              static_cast<long long>(r.failures));
}

int Main() {
  const char* level = std::getenv("BENCH_LOG_LEVEL");
  InitLogging(level != nullptr && *level != '\0' ? level : "warn");
  const int64_t calls = EnvInt("WARM_CALLS", 200000);
  const int64_t warmup = EnvInt("WARM_WARMUP", 10000);
  const int64_t inspects = EnvInt("WARM_INSPECTS", 2000);
  const std::vector<int64_t> thread_counts = EnvIntList("WARM_THREADS", {1, 2});

  auto created = LifecycleBenchEnv::Create("warm");
  if (!created.ok()) {
    std::fprintf(stderr, "bench_lifecycle_warm_ensure: %s\n", created.status().message().c_str());
    return 1;
  }
  LifecycleBenchEnv& env = **created;
  auto probe = std::make_shared<CountingProbe>(std::make_shared<lifecycle::HttpGatewayProbe>());
  auto manager = env.StartManager(env.BaseOptions(), probe);
  if (!manager.ok()) {
    std::fprintf(stderr, "manager: %s\n", manager.status().message().c_str());
    return 1;
  }
  lifecycle::AgentManager& m = **manager;
  auto user = env.NewUser("warm");
  if (!user.ok()) {
    std::fprintf(stderr, "user: %s\n", user.status().message().c_str());
    return 1;
  }
  const auto cold_begin = Steady::now();
  auto endpoint = m.EnsureRunning(*user);
  const double cold_ms = MillisSince(cold_begin);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "cold start: %s\n", endpoint.status().message().c_str());
    return 1;
  }
  env.TrackContainer(endpoint->container_id);
  const std::string container_id = endpoint->container_id;

  std::printf("== warm EnsureRunning: a running, verified agent (real engine, test-agent image)\n");
  std::printf("machine: %s\n", env.MachineLine().c_str());
  std::printf("cold start before the loop: %.1f ms; event stream live: %s\n", cold_ms,
              m.events_live() ? "yes" : "NO");

  auto ensure = [&] {
    auto r = m.EnsureRunning(*user);
    return r.ok() && r->container_id == container_id;
  };
  auto ensure_async = [&] {
    bool ok = false;
    m.EnsureRunningAsync(*user, [&](Result<lifecycle::AgentEndpoint> r) {
      ok = r.ok() && r->container_id == container_id;
    });
    return ok;  // the warm path runs the callback inline; a cold one would leave ok false
  };
  (void)TimedLoop(env, *probe, 1, warmup, ensure);

  std::printf("\n%-34s %7s %8s %8s %8s %9s %9s %8s %12s %9s %9s\n", "call (latency in µs)",
              "threads", "calls", "p50", "p99", "p99.9", "max", "mean", "engine/call", "probe/call",
              "failures");
  LoopResult single;
  bool any_engine_call = false;
  int64_t total_failures = 0;
  for (int64_t threads : thread_counts) {
    if (Interrupted()) break;
    LoopResult r = TimedLoop(env, *probe, static_cast<int>(threads), calls, ensure);
    PrintRow("EnsureRunning (warm)", static_cast<int>(threads), r);
    if (threads == 1) single = r;
    any_engine_call = any_engine_call || r.engine.total() != 0 || r.probes != 0;
    total_failures += r.failures;
    std::fflush(stdout);
  }
  if (!Interrupted()) {
    LoopResult r = TimedLoop(env, *probe, 1, calls, ensure_async);
    PrintRow("EnsureRunningAsync (inline callback)", 1, r);
    any_engine_call = any_engine_call || r.engine.total() != 0 || r.probes != 0;
    total_failures += r.failures;
  }
  LoopResult inspect;
  if (!Interrupted() && inspects > 0) {
    inspect = TimedLoop(env, *probe, 1, inspects,
                        [&] { return env.runtime()->Inspect(container_id).ok(); });
    PrintRow("reference: one engine Inspect", 1, inspect);
  }
  std::printf("calls/s at 1 thread: %.0f\n",
              single.calls > 0 ? static_cast<double>(single.calls) / single.wall_s : 0.0);
  if (inspect.calls > 0 && single.calls > 0) {
    std::printf("one engine Inspect / warm EnsureRunning, p50: %.0fx, p99: %.0fx\n",
                inspect.us.p50 / single.us.p50, inspect.us.p99 / single.us.p99);
  }
  if (single.calls > 0) {
    const bool pass = single.us.p99 < 100.0 && !any_engine_call && total_failures == 0;
    std::printf("goal (1 thread p99 < 100 µs, 0 engine calls, 0 probes): %s (p99 %.2f µs)\n",
                pass ? "PASS" : "MISSED", single.us.p99);
  }
  std::fflush(stdout);
  env.Cleanup();
  if (Interrupted()) return 130;
  return total_failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace berth::bench

int main() {
  berth::bench::InstallInterruptHandler();
  return berth::bench::Main();
}
