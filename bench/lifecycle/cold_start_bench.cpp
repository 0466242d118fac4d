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

#include <cmath>
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

// One start, taken apart: wall time, and the part of it spent inside engine calls (by method)
// and readiness probes; "rest" is everything else (poll waits, the store, berth's own work).
struct StartSample {
  double total = 0;
  CountingRuntime::Counts engine;
  int64_t probes = 0;
  double probe_ms = 0;
  double rest() const { return total - engine.total_millis() - probe_ms; }
};

struct Samples {
  std::vector<StartSample> berth_fresh, raw_fresh, berth_stopped, raw_stopped;
};

// Times `start` and attributes its time to engine calls and probes.
StartSample Measure(CountingRuntime& rt, CountingProbe& probe, const std::function<Status()>& start,
                    Status* status) {
  StartSample sample;
  const auto engine_before = rt.Snapshot();
  const int64_t probes_before = probe.probes();
  const double probe_ms_before = probe.millis();
  const auto t0 = Steady::now();
  *status = start();
  sample.total = MillisSince(t0);
  sample.engine = rt.Snapshot() - engine_before;
  sample.probes = probe.probes() - probes_before;
  sample.probe_ms = probe.millis() - probe_ms_before;
  return sample;
}

// GET /readyz every options.ready_poll_interval until 200, as the manager's loop does (without
// its per-poll inspect). Inspects only after 2 s without an answer, to fail fast on an exit.
Status PollReady(runtime::ContainerRuntime& rt, lifecycle::GatewayProbe& probe,
                 const std::string& id, const std::string& host,
                 const lifecycle::LifecycleOptions& options) {
  const auto begin = Steady::now();
  auto last_check = begin;
  for (;;) {
    auto code = probe.Get(host, options.contract.gateway_port, options.contract.readiness_path,
                          options.probe_timeout);
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
                const lifecycle::LifecycleOptions& options, CountingProbe& probe,
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
  auto berth_start = [&]() -> Status {
    auto endpoint = manager.EnsureRunning(*berth_user);
    if (!endpoint.ok()) return endpoint.status();
    env.TrackContainer(endpoint->container_id);
    return Status::Ok();
  };
  auto raw_fresh = [&]() -> Status {
    auto created = rt.Create(spec);
    if (!created.ok()) return created.status();
    raw_id = *created;
    env.TrackContainer(raw_id);
    return RawStartToReady(rt, probe, raw_id, options);
  };
  auto raw_restart = [&]() -> Status { return RawStartToReady(rt, probe, raw_id, options); };

  // Both starts of a pair, in this round's order.
  StartSample berth, raw;
  auto run_pair = [&](const std::function<Status()>& raw_start) -> Status {
    Status berth_status, raw_status;
    if (berth_first) {
      berth = Measure(rt, probe, berth_start, &berth_status);
      BERTH_RETURN_IF_ERROR(berth_status);
      raw = Measure(rt, probe, raw_start, &raw_status);
    } else {
      raw = Measure(rt, probe, raw_start, &raw_status);
      BERTH_RETURN_IF_ERROR(raw_status);
      berth = Measure(rt, probe, berth_start, &berth_status);
    }
    BERTH_RETURN_IF_ERROR(berth_status);
    return raw_status;
  };

  BERTH_RETURN_IF_ERROR(run_pair(raw_fresh));
  if (record) {
    samples.berth_fresh.push_back(berth);
    samples.raw_fresh.push_back(raw);
  }
  std::fprintf(stderr, "  %-10s fresh:   berth %7.1f ms  raw %7.1f ms  (%s first)\n", tag.c_str(),
               berth.total, raw.total, berth_first ? "berth" : "raw");

  if (stopped_variant && !Interrupted()) {
    BERTH_RETURN_IF_ERROR(manager.StopAgent(*berth_user));
    BERTH_RETURN_IF_ERROR(rt.Stop(raw_id, options.stop_grace));
    BERTH_RETURN_IF_ERROR(run_pair(raw_restart));
    if (record) {
      samples.berth_stopped.push_back(berth);
      samples.raw_stopped.push_back(raw);
    }
    std::fprintf(stderr, "  %-10s stopped: berth %7.1f ms  raw %7.1f ms\n", tag.c_str(),
                 berth.total, raw.total);
  }

  // Untimed: back to an empty engine for the next round.
  BERTH_RETURN_IF_ERROR(manager.RemoveAgent(*berth_user));
  Status removed = rt.Remove(raw_id, /*force=*/true);
  if (!removed.ok()) return removed;
  (void)rt.RemoveVolume(spec.volume_name);
  return Status::Ok();
}

template <typename Fn>
Summary Of(const std::vector<StartSample>& samples, Fn field) {
  std::vector<double> values;
  for (const auto& s : samples) values.push_back(field(s));
  return Summarize(std::move(values));
}

// Medians and p90s of both sides, the ratio of the medians, and the median and p90 of the
// per-round ratios (each round's berth / raw: both ran back to back under the same load).
void PrintVariant(const char* name, const std::vector<StartSample>& berth,
                  const std::vector<StartSample>& raw) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < berth.size() && i < raw.size(); ++i) {
    ratios.push_back(berth[i].total / raw[i].total);
  }
  const Summary b = Of(berth, [](const StartSample& s) { return s.total; });
  const Summary r = Of(raw, [](const StartSample& s) { return s.total; });
  const Summary q = Summarize(ratios);
  std::printf("%-26s %9.1f %9.1f %9.1f %9.1f %11.3f %9.3f %9.3f\n", name, b.p50, b.p90, r.p50,
              r.p90, b.p50 / r.p50, q.p50, q.p90);
}

// Where the time of one side's starts went, medians over the rounds (ms; calls per start).
void PrintBreakdown(const char* name, const std::vector<StartSample>& samples) {
  auto engine_ms = [&](CountingRuntime::Method m) {
    return Of(samples, [m](const StartSample& s) { return s.engine.millis(m); }).p50;
  };
  auto engine_n = [&](CountingRuntime::Method m) {
    return Of(samples,
              [m](const StartSample& s) { return static_cast<double>(s.engine.by_method[m]); })
        .mean;
  };
  std::printf(
      "%-16s %8.1f %8.1f %8.1f %7.1f (%3.1f) %9.1f (%3.1f) %7.1f (%3.1f) %8.1f %12.1f\n", name,
      Of(samples, [](const StartSample& s) { return s.total; }).p50,
      engine_ms(CountingRuntime::kCreate), engine_ms(CountingRuntime::kStart),
      engine_ms(CountingRuntime::kInspect), engine_n(CountingRuntime::kInspect),
      engine_ms(CountingRuntime::kEnsureImage), engine_n(CountingRuntime::kEnsureImage),
      Of(samples, [](const StartSample& s) { return s.probe_ms; }).p50,
      Of(samples, [](const StartSample& s) { return static_cast<double>(s.probes); }).mean,
      Of(samples, [](const StartSample& s) { return s.rest(); }).p50,
      Of(samples, [](const StartSample& s) { return static_cast<double>(s.engine.total()); }).mean);
}

// Mean of berth - raw over the rounds, with a 95 % interval (normal approximation), in ms and as
// a share of the raw side's mean: first of the whole start, then of everything but the engine's
// Create and Start calls. Both sides send those two calls with the same spec, and their duration
// (the engine's work, nearly all of a start) swings by hundreds of ms with the machine's load;
// what is left is what berth adds (its other engine calls, probes, waits, the store) and
// carries far less of that noise.
void PrintDifference(const char* name, const std::vector<StartSample>& berth,
                     const std::vector<StartSample>& raw) {
  auto report = [&](const char* what, auto part) {
    std::vector<double> d;
    for (std::size_t i = 0; i < berth.size() && i < raw.size(); ++i) {
      d.push_back(part(berth[i]) - part(raw[i]));
    }
    if (d.size() < 2) return;
    double mean = 0;
    for (double v : d) mean += v;
    mean /= static_cast<double>(d.size());
    double var = 0;
    for (double v : d) var += (v - mean) * (v - mean);
    var /= static_cast<double>(d.size() - 1);
    const double half = 1.96 * std::sqrt(var / static_cast<double>(d.size()));
    const double raw_mean = Of(raw, [](const StartSample& s) { return s.total; }).mean;
    std::printf(
        "%-8s berth - raw, %-32s mean %+7.1f ms (95%% %+.1f .. %+.1f), median %+7.1f ms; "
        "%+.1f %% of raw (%+.1f .. %+.1f %%)\n",
        name, what, mean, mean - half, mean + half, Summarize(d).p50, 100 * mean / raw_mean,
        100 * (mean - half) / raw_mean, 100 * (mean + half) / raw_mean);
  };
  report("whole start:", [](const StartSample& s) { return s.total; });
  report("all but engine Create+Start:", [](const StartSample& s) {
    return s.total - s.engine.millis(CountingRuntime::kCreate) -
           s.engine.millis(CountingRuntime::kStart);
  });
}

void PrintRounds(const char* name, const std::vector<StartSample>& samples) {
  std::printf("  %-24s", name);
  for (const auto& s : samples) std::printf(" %.0f", s.total);
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
  auto probe = std::make_shared<CountingProbe>(std::make_shared<lifecycle::HttpGatewayProbe>());
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
    PrintVariant("fresh (create+start+ready)", samples.berth_fresh, samples.raw_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintVariant("stopped (start+ready)", samples.berth_stopped, samples.raw_stopped);
    }
    PrintDifference("fresh", samples.berth_fresh, samples.raw_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintDifference("stopped", samples.berth_stopped, samples.raw_stopped);
    }
    std::printf(
        "where the time went, medians in ms (mean calls per start in parentheses); rest = "
        "outside engine calls and probes; engine calls = mean per start, every method:\n");
    std::printf("%-16s %8s %8s %8s %13s %15s %13s %8s %12s\n", "", "total", "Create", "Start",
                "Inspect (n)", "EnsureImage (n)", "probes (n)", "rest", "engine calls");
    PrintBreakdown("berth fresh", samples.berth_fresh);
    PrintBreakdown("raw fresh", samples.raw_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintBreakdown("berth stopped", samples.berth_stopped);
      PrintBreakdown("raw stopped", samples.raw_stopped);
    }
    std::printf("per round (ms):\n");
    PrintRounds("berth fresh", samples.berth_fresh);
    PrintRounds("raw fresh", samples.raw_fresh);
    if (!samples.berth_stopped.empty()) {
      PrintRounds("berth stopped", samples.berth_stopped);
      PrintRounds("raw stopped", samples.raw_stopped);
    }
    const auto total = [](const StartSample& s) { return s.total; };
    std::vector<double> ratios;
    for (std::size_t i = 0; i < samples.berth_fresh.size(); ++i) {
      ratios.push_back(samples.berth_fresh[i].total / samples.raw_fresh[i].total);
    }
    const double of_medians = Of(samples.berth_fresh, total).p50 / Of(samples.raw_fresh, total).p50;
    const double paired = Summarize(ratios).p50;
    std::printf(
        "goal (fresh start within 5 %% of the raw engine): ratio of medians %.3f %s, "
        "median of paired ratios %.3f %s\n",
        of_medians, of_medians <= 1.05 ? "PASS" : "MISSED", paired,
        paired <= 1.05 ? "PASS" : "MISSED");
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
