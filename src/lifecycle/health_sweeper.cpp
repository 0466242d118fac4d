#include "lifecycle/health_sweeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "lifecycle/agent_labels.hpp"
#include "lifecycle/start_failure.hpp"

namespace berth::lifecycle {

// One agent the sweep looks at.
struct HealthSweeper::Target {
  AgentKey key;
  std::optional<AgentEndpoint> endpoint;
  std::string container_id;  // empty when its container is not listed at all
  bool listed_running = false;
  bool healthy = false;
  std::string error;
};

HealthSweeper::HealthSweeper(const LifecycleOptions& options, const InstanceInfo& instance,
                             runtime::ContainerRuntime& runtime, AgentRecords& records,
                             AgentRegistry& registry, Reconciler& reconciler,
                             const crypto::SecretBox& secrets, GatewayProbe& probe)
    : options_(options),
      instance_(instance),
      runtime_(runtime),
      records_(records),
      registry_(registry),
      reconciler_(reconciler),
      secrets_(secrets),
      probe_(probe),
      // With the calling thread, health_parallelism probes at once. Room for two sweeps' helpers
      // (the scheduler's and an admin's); beyond that the caller probes alone.
      pool_("berth-probe", std::max(options.health_parallelism - 1, 1),
            2 * static_cast<std::size_t>(std::max(options.health_parallelism, 1))) {}

Result<std::vector<HealthResult>> HealthSweeper::Sweep() {
  // One list call serves both the reconcile and the sweep. Containers the reconcile removes
  // (orphans, duplicates) belong to no entry, so the sweep never looks at them.
  auto listed = runtime_.List(OwnLabels(instance_.instance_id));
  if (!listed.ok()) return listed.status();
  BERTH_RETURN_IF_ERROR(reconciler_.ReconcileWith(*listed));
  std::unordered_map<std::string, runtime::ContainerState> state_of;
  for (const auto& c : *listed) state_of[c.id] = c.state;

  std::vector<Target> targets;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    for (auto& [key, entry] : locked.entries()) {
      if (entry.status != AgentStatus::kRunning || entry.start) continue;
      auto state = state_of.find(entry.container_id);
      // A paused agent answers nothing until resumed: not judged (its next use resumes it and
      // checks it). The listing is the truth about pauses events may have missed.
      if (state != state_of.end()) entry.paused = state->second == runtime::ContainerState::kPaused;
      if (entry.paused && state != state_of.end()) continue;
      Target t;
      t.key = key;
      t.endpoint = entry.endpoint;
      if (state != state_of.end()) {
        t.container_id = entry.container_id;
        t.listed_running = state->second == runtime::ContainerState::kRunning;
      }
      targets.push_back(std::move(t));
    }
  }

  if (options_.health_parallelism <= 1) {
    for (Target& t : targets) Check(t);
  } else {
    pool_.RunParallel(targets.size(), [&](std::size_t i) { Check(targets[i]); });
  }

  std::vector<HealthResult> results;
  std::vector<AgentKey> failed;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    for (Target& t : targets) {
      AgentEntry* entry = locked.Find(t.key);
      if (entry == nullptr) continue;
      if (entry->status != AgentStatus::kRunning || entry->start) continue;  // changed meanwhile
      if (!t.healthy) ++failures_total_;
      if (t.healthy) {
        entry->health_failures = 0;
        entry->endpoint = t.endpoint;
        if (registry_.events_live()) entry->verified = true;
      } else if (t.container_id.empty() || !t.listed_running) {
        // Gone or exited: marked now, started again on next use.
        entry->verified = false;
        entry->endpoint.reset();
        entry->SetStatus(AgentStatus::kFailed, "", t.error);
        failed.push_back(t.key);
      } else if (++entry->health_failures >= options_.health_failures_before_unhealthy) {
        entry->verified = false;
        entry->needs_restart = true;
        entry->SetStatus(AgentStatus::kFailed, "", t.error);
        failed.push_back(t.key);
      }
      if (t.key.is_user()) results.push_back({t.key.owner, t.healthy, t.healthy ? "" : t.error});
    }
  }
  for (const AgentKey& key : failed) {
    spdlog::warn("lifecycle: agent {} is unhealthy", ToString(key));
    Status saved = records_.SaveState(key, AgentStatus::kFailed, std::nullopt);
    if (!saved.ok()) {
      spdlog::warn("lifecycle: cannot record agent {} as failed: {}", ToString(key),
                   saved.message());
    }
  }
  return results;
}

void HealthSweeper::Check(Target& t) {
  const runtime::AgentImageContract& contract = options_.contract;
  if (t.container_id.empty()) {
    t.error = "the agent container vanished";
    return;
  }
  if (!t.listed_running || !t.endpoint) {
    // Not running, or adopted and never reached: inspect for its address or exit details.
    auto info = runtime_.Inspect(t.container_id);
    if (!info.ok()) {
      t.error = info.status().message();
      return;
    }
    if (info->state != runtime::ContainerState::kRunning) {
      t.error = DescribeExit(runtime_, SettleOomVerdict(runtime_, std::move(*info)),
                             options_.memory_bytes, options_.log_tail_lines);
      return;
    }
    auto record = records_.Find(t.key);
    if (!record.ok()) {
      t.error = record.status().message();
      return;
    }
    auto token = secrets_.Open(record->sealed_token);
    if (!token.ok()) {
      t.error = token.status().message();
      return;
    }
    auto endpoint = EndpointOf(*info, record->container_name, record->id, *token,
                               options_.address_mode, contract.gateway_port);
    if (!endpoint.ok()) {
      t.error = endpoint.status().message();
      return;
    }
    t.endpoint = *endpoint;
  }
  auto code = probe_.Get(t.endpoint->host, t.endpoint->port, contract.readiness_path,
                         options_.probe_timeout);
  if (code.ok() && *code == 200) {
    t.healthy = true;
  } else {
    t.error = "readiness probe failed: " +
              (code.ok() ? contract.readiness_path + " answered " + std::to_string(*code)
                         : code.status().message());
  }
}

}  // namespace berth::lifecycle
