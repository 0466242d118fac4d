// bench_lifecycle_cold_start: berth's start-to-ready of a user's agent against the raw engine's
// create+start+ready of the same image and spec, in the same run (goal: within 5 %).
//
// Each round, in alternating order (berth first on even rounds, the baseline first on odd ones):
//   berth, fresh   AgentManager::EnsureRunning(user) for a user that has no container record and
//                  no container: record provisioning, engine checks, create, start, and the
//                  manager's own readiness loop (inspect + GET /readyz every ready_poll_interval)
//                  until /readyz answers 200.
//   raw, fresh     the engine alone, through the same DockerRuntime: Create(spec) with the spec
//                  the manager builds (same env, volume, network, limits, hardening; a record and
//                  token provisioned beforehand, untimed), Start, one Inspect for the address,
//                  then GET /readyz every ready_poll_interval until 200.
// and, with COLD_STOPPED=1 (default), after both agents were stopped (untimed):
//   berth, stopped EnsureRunning(user) of a stopped agent whose container exists.
//   raw, stopped   Start, Inspect, GET /readyz until 200.
// Both sides then are removed (untimed), so every round starts from the same engine state. One
// untimed warm-up round comes first. All of it is repeated for each poll interval of
// COLD_INTERVALS_MS (default "100,10": berth's default, and a finer one that shows the overhead
// the 100 ms quantisation hides).
//
// Settings (environment): COLD_ROUNDS (20), COLD_INTERVALS_MS ("100,10"), COLD_STOPPED (1),
// BENCH_LOG_LEVEL (warn), and the env's (lifecycle_bench_env.hpp): BENCH_IMAGE, LIFECYCLE_TMPDIR,
// BENCH_TEST_AGENT_BINARY, DOCKER_HOST.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/lifecycle/lifecycle_bench_env.hpp"
#include "common/logging.hpp"

namespace berth::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Samples {
  std::vector<double> berth_fresh, raw_fresh, berth_stopped, raw_stopped;
  std::vector<double> ratio_fresh, ratio_stopped;  // berth / raw of the same round
  std::vector<double> calls_fresh, calls_stopped;  // engine calls per berth start
  std::string calls_fresh_detail, calls_stopped_detail;
};

// GET /readyz every options.ready_poll_interval until 200, as the manager's loop does (without
// its per-poll inspect). Inspects only after 2 s without an answer, to fail fast on an exit.
Status PollReady(runtime::ContainerRuntime& rt, lifecycle::GatewayProbe& probe,
                 const std::string& id, const std::string& host,
                 const lifecycle::LifecycleOptions& options) {
  const auto begin = Steady::now();
  auto last_check = begin;
  for (;;) {
    auto code = probe.Get(host, lifecycle::kGatewayPort, "/readyz", options.probe_timeout);
    if (code.ok() && *code == 200) return Status::Ok();
    const auto now = Steady::now();
    if (now - begin > options.start_timeout) return Unavailable("not ready within the timeout");
    if (now - last_check > std::chrono::seconds(2)) {
      last_check = now;
      auto info = rt.Inspect(id);
      if (info.ok() && info->state != runtime::ContainerState::kRunning) {
        auto logs = rt.Logs(id, 10);
        return Unavailable("raw container exited with code " + std::to_string(info->exit_code) +
                           (logs.ok() ? ": " + *logs : ""));
      }
    }
    std::this_thread::sleep_for(options.ready_poll_interval);
  }
}

// Start, Inspect for the address, poll: the raw engine's start-to-ready of container `id`.
Status RawStartToReady(runtime::ContainerRuntime& rt, lifecycle::GatewayProbe& probe,
                       const std::string& id, const lifecycle::LifecycleOptions& options) {
  BERTH_RETURN_IF_ERROR(rt.Start(id));
  auto info = rt.Inspect(id);
  if (!info.ok()) return info.status();
  if (info->ip_address.empty()) return Unavailable("raw container has no address after start");
  return PollReady(rt, probe, id, info->ip_address, options);
}

// One round; appends to `samples` unless `record` is false (the warm-up).
Status RunRound(LifecycleBenchEnv& env, lifecycle::AgentManager& manager,
                const lifecycle::LifecycleOptions& options, lifecycle::GatewayProbe& probe,
                const std::string& tag, bool berth_first, bool stopped_variant, bool record,
                Samples& samples) {
  CountingRuntime& rt = *env.runtime();
  auto berth_user = env.NewUser(tag + "b");
  if (!berth_user.ok()) return berth_user.status();
  auto raw_user = env.NewUser(tag + "r");
  if (!raw_user.ok()) return raw_user.status();
  auto provisioned = env.Provision(*raw_user);
  if (!provisioned.ok()) return provisioned.status();
  const runtime::ContainerSpec spec =
      env.RawSpec(options, "berth-bench-" + env.run_id() + "-" + tag + "raw",
                  provisioned->record.id, provisioned->token);
  env.TrackVolume(spec.volume_name);

  std::string raw_id;
  double berth_ms = 0, raw_ms = 0;
  CountingRuntime::Counts berth_calls;
  auto berth_start = [&]() -> Status {
    const auto before = rt.Snapshot();
    const auto t0 = Steady::now();
    auto endpoint = manager.EnsureRunning(*berth_user);
    berth_ms = MillisSince(t0);
    berth_calls = rt.Snapshot() - before;
    if (!endpoint.ok()) return endpoint.status();
    env.TrackContainer(endpoint->container_id);
    return Status::Ok();
  };
  auto raw_fresh = [&]() -> Status {
    const auto t0 = Steady::now();
    auto created = rt.Create(spec);
    if (!created.ok()) return created.status();
    raw_id = *created;
    env.TrackContainer(raw_id);
    Status ready = RawStartToReady(rt, probe, raw_id, options);
    raw_ms = MillisSince(t0);
    return ready;
  };
  auto raw_restart = [&]() -> Status {
    const auto t0 = Steady::now();
    Status ready = RawStartToReady(rt, probe, raw_id, options);
    raw_ms = MillisSince(t0);
    return ready;
  };

  auto run_pair = [&](const std::function<Status()>& raw) -> Status {
    if (berth_first) {
      BERTH_RETURN_IF_ERROR(berth_start());
      BERTH_RETURN_IF_ERROR(raw());
    } else {
      BERTH_RETURN_IF_ERROR(raw());
      BERTH_RETURN_IF_ERROR(berth_start());
    }
    return Status::Ok();
  };

  BERTH_RETURN_IF_ERROR(run_pair(raw_fresh));
  if (record) {
    samples.berth_fresh.push_back(berth_ms);
    samples.raw_fresh.push_back(raw_ms);
    samples.ratio_fresh.push_back(berth_ms / raw_ms);
    samples.calls_fresh.push_back(static_cast<double>(berth_calls.total()));
    samples.calls_fresh_detail = berth_calls.Describe();
  }
  std::fprintf(stderr, "  %-10s fresh:   berth %7.1f ms  raw %7.1f ms  (%s first)\n", tag.c_str(),
               berth_ms, raw_ms, berth_first ? "berth" : "raw");

  if (stopped_variant && !Interrupted()) {
    BERTH_RETURN_IF_ERROR(manager.StopAgent(*berth_user));
    BERTH_RETURN_IF_ERROR(rt.Stop(raw_id, options.stop_grace));
    BERTH_RETURN_IF_ERROR(run_pair(raw_restart));
    if (record) {
      samples.berth_stopped.push_back(berth_ms);
      samples.raw_stopped.push_back(raw_ms);
      samples.ratio_stopped.push_back(berth_ms / raw_ms);
      samples.calls_stopped.push_back(static_cast<double>(berth_calls.total()));
      samples.calls_stopped_detail = berth_calls.Describe();
    }
    std::fprintf(stderr, "  %-10s stopped: berth %7.1f ms  raw %7.1f ms\n", tag.c_str(), berth_ms,
                 raw_ms);
  }

  // Untimed: back to an empty engine for the next round.
  BERTH_RETURN_IF_ERROR(manager.RemoveAgent(*berth_user));
  Status removed = rt.Remove(raw_id, /*force=*/true);
  if (!removed.ok()) return removed;
  (void)rt.RemoveVolume(spec.volume_name);
  return Status::Ok();
}

void PrintVariant(const char* name, const std::vector<double>& berth,
                  const std::vector<double>& raw, const std::vector<double>& ratios) {
  const Summary b = Summarize(berth), r = Summarize(raw), q = Summarize(ratios);
  std::printf("%-26s %9.1f %9.1f %9.1f %9.1f %11.3f %9.3f %9.3f\n", name, b.p50, b.p90, r.p50,
              r.p90, b.p50 / r.p50, q.p50, q.p90);
}

void PrintRounds(const char* name, const std::vector<double>& values) {
  std::printf("  %-24s", name);
  for (double v : values) std::printf(" %.0f", v);
  std::printf("\n");
}

int Main() {
  const char* level = std::getenv("BENCH_LOG_LEVEL");
  InitLogging(level != nullptr && *level != '\0' ? level : "warn");
  const int rounds = static_cast<int>(EnvInt("COLD_ROUNDS", 20));
  const std::vector<int64_t> intervals = EnvIntList("COLD_INTERVALS_MS", {100, 10});
  const bool stopped_variant = EnvInt("COLD_STOPPED", 1) != 0;

  auto created = LifecycleBenchEnv::Create("cold_start");
  if (!created.ok()) {
    std::fprintf(stderr, "bench_lifecycle_cold_start: %s\n", created.status().message().c_str());
    return 1;
  }
  LifecycleBenchEnv& env = **created;
  auto probe = std::make_shared<lifecycle::HttpGatewayProbe>();
  std::printf("== cold start: berth EnsureRunning vs the raw engine, same image and spec\n");
  std::printf("machine: %s\nimage: %s, %d rounds per interval (+1 warm-up), alternating order\n",
              env.MachineLine().c_str(), env.image().c_str(), rounds);

  int exit_code = 0;
  for (int64_t interval : intervals) {
    if (Interrupted()) break;
    lifecycle::LifecycleOptions options = env.BaseOptions();
    options.ready_poll_interval = std::chrono::milliseconds(interval);
    auto manager = env.StartManager(options, probe);
    if (!manager.ok()) {
      std::fprintf(stderr, "manager: %s\n", manager.status().message().c_str());
      exit_code = 1;
      break;
    }
    std::fprintf(stderr, "[cold_start] poll interval %lld ms\n", static_cast<long long>(interval));
    Samples samples;
    for (int round = -1; round < rounds && !Interrupted(); ++round) {
      // Built by appending: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
      std::string tag = "i";
      tag += std::to_string(interval);
      tag += '-';
      tag += round < 0 ? std::string("warm") : std::to_string(round);
      Status st = RunRound(env, **manager, options, *probe, tag, round % 2 == 0, stopped_variant,
                           round >= 0, samples);
      if (!st.ok()) {
        std::fprintf(stderr, "round %s failed: %s\n", tag.c_str(), st.message().c_str());
        exit_code = 1;
        break;
      }
    }
    if (samples.berth_fresh.empty()) break;

    std::printf("\n-- poll interval %lld ms, %zu rounds (times in ms; ratio = berth / raw)\n",
                static_cast<long long>(interval), samples.berth_fresh.size());
    std::printf("%-26s %9s %9s %9s %9s %11s %9s %9s\n", "variant", "berth p50", "berth p90",
                "raw p50", "raw p90", "ratio p50s", "paired50", "paired90");
    PrintVariant("fresh (create+start+ready)", samples.berth_fresh, samples.raw_fresh,
                 samples.ratio_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintVariant("stopped (start+ready)", samples.berth_stopped, samples.raw_stopped,
                   samples.ratio_stopped);
    }
    std::printf("per round (ms):\n");
    PrintRounds("berth fresh", samples.berth_fresh);
    PrintRounds("raw fresh", samples.raw_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintRounds("berth stopped", samples.berth_stopped);
      PrintRounds("raw stopped", samples.raw_stopped);
    }
    std::printf("engine calls per berth fresh start: %.1f (last: %s)\n",
                Summarize(samples.calls_fresh).mean, samples.calls_fresh_detail.c_str());
    if (!samples.calls_stopped.empty()) {
      std::printf("engine calls per berth stopped start: %.1f (last: %s)\n",
                  Summarize(samples.calls_stopped).mean, samples.calls_stopped_detail.c_str());
    }
    const double ratio = Summarize(samples.berth_fresh).p50 / Summarize(samples.raw_fresh).p50;
    std::printf("goal (fresh, ratio of medians <= 1.05): %s (%.3f)\n",
                ratio <= 1.05 ? "PASS" : "MISSED", ratio);
    std::fflush(stdout);
  }
  env.Cleanup();
  if (Interrupted()) return 130;
  return exit_code;
}

}  // namespace
}  // namespace berth::bench

int main() {
  berth::bench::InstallInterruptHandler();
  return berth::bench::Main();
}
