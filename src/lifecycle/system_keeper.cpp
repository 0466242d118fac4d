#include "lifecycle/system_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_parse.hpp"

namespace berth::lifecycle {
namespace {

bool DesiredStopped(const std::string& config_json) {
  auto parsed = ParseJson(config_json, "system container config").value_or(nlohmann::json());
  return parsed.is_object() && parsed.value("desiredState", "") == "stopped";
}

}  // namespace

SystemKeeper::SystemKeeper(const LifecycleOptions& options, AgentRecords& records,
                           AgentRegistry& registry, AgentStarter& starter, AgentStopper& stopper,
                           const Clock& clock)
    : options_(options),
      records_(records),
      registry_(registry),
      starter_(starter),
      stopper_(stopper),
      clock_(clock) {}

void SystemKeeper::Keep() {
  auto systems = records_.ListSystem();
  if (!systems.ok()) {
    spdlog::warn("lifecycle: cannot list system containers to keep them running: {}",
                 systems.status().message());
    return;
  }
  const auto now = clock_.SteadyNow();
  for (const AgentRecord& record : *systems) {
    if (DesiredStopped(record.config_json)) continue;
    {
      std::lock_guard lock(mu_);
      auto it = backoff_.find(record.key.owner);
      if (it != backoff_.end() && now < it->second.next_attempt) continue;
    }
    {
      AgentRegistry::Locked locked = registry_.Lock();
      const AgentEntry& entry = locked.Get(record.key);
      if (entry.start || entry.status == AgentStatus::kRunning ||
          entry.status == AgentStatus::kStopping) {
        continue;
      }
    }
    starter_.EnsureRunning(record.key, [this, id = record.key.owner](Result<AgentEndpoint> r) {
      StartFinished(id, r);
    });
  }
}

void SystemKeeper::StartFinished(const std::string& id, const Result<AgentEndpoint>& result) {
  std::lock_guard lock(mu_);
  if (result.ok()) {
    backoff_.erase(id);
    return;
  }
  Retry& b = backoff_[id];
  b.delay = b.delay.count() == 0 ? options_.system_backoff_initial
                                 : std::min(b.delay * 2, options_.system_backoff_max);
  b.next_attempt = clock_.SteadyNow() + b.delay;
  spdlog::warn("lifecycle: system container {} did not start ({}); next try in {}", id,
               result.status().message(), SecondsText(b.delay));
}

std::optional<std::chrono::milliseconds> SystemKeeper::Backoff(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = backoff_.find(id);
  if (it == backoff_.end()) return std::nullopt;
  return it->second.delay;
}

Result<AgentEndpoint> SystemKeeper::Start(const std::string& id) {
  const AgentKey key = AgentKey::System(id);
  auto record = records_.Find(key);
  if (!record.ok()) return record.status();
  if (DesiredStopped(record->config_json)) {
    BERTH_RETURN_IF_ERROR(records_.SaveConfigJson(key, "{}"));
  }
  {
    std::lock_guard lock(mu_);
    backoff_.erase(id);
  }
  return starter_.EnsureRunningAndWait(key);
}

Status SystemKeeper::Stop(const std::string& id) {
  const AgentKey key = AgentKey::System(id);
  auto record = records_.Find(key);
  if (!record.ok()) return record.status();
  BERTH_RETURN_IF_ERROR(
      records_.SaveConfigJson(key, nlohmann::json{{"desiredState", "stopped"}}.dump()));
  return stopper_.Stop(key);
}

}  // namespace berth::lifecycle
