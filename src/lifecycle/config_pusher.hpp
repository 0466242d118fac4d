#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "runtime/agent_image_contract.hpp"
#include "runtime/container_runtime.hpp"
#include "service/providers.hpp"

namespace berth::lifecycle {

// Pushes a user's current openclaw.json into their running agent (the engine's file upload into
// the contract's state dir; the gateway hot-reloads it: ARCHITECTURE.md, "Config push"). The same
// content goes to openclaw.json.bak first: OpenClaw restores its config from that backup when it
// finds the file "suspicious" (missing the `meta` its own writes add, or under half the size of
// the last good one), so the backup must never hold a config berth no longer serves (the warm
// pool's placeholder, or a deleted provider's key). The entrypoint refreshes a backup it finds.
// Every replica runs it: the replica where the change was made pushes, to the agent it runs or else
// to the container the agent's record names (started by another replica on the shared engine).
//
// Changed() queues a push and returns at once; one thread of its own (Start/Stop) drains the
// queue, coalescing repeated changes of a user (at most one pending push per user). Push() pushes
// now, blocking on the store and the engine. Each push carries a newer mtime than the last (the
// gateway's watcher needs it).
//
// Lock order: its queue mutex is a leaf; AgentRegistry's lock is taken alone and released before
// the store, the provider service and the engine are called. Thread-safe.
class ConfigPusher {
 public:
  ConfigPusher(const runtime::AgentImageContract& contract, AgentRegistry& registry,
               AgentRecords& records, const service::ProviderService& providers,
               runtime::ContainerRuntime& runtime, const Clock& clock);
  ~ConfigPusher();  // Stop()

  void Changed(const std::string& user_id);
  // Ok, and nothing sent, when the agent is not running (here, nor by its record).
  Status Push(const std::string& user_id);
  // The config Push() sends (for a push through the gateway's own API: WarmPool).
  Result<nlohmann::json> UserConfig(const std::string& user_id) const {
    return providers_.BuildUserConfig(user_id);
  }
  // Writes `config` as the backup only (after the gateway wrote the config itself).
  Status WriteBackup(const std::string& container_id, const nlohmann::json& config);

  void Start();  // idempotent; not after Stop()
  void Stop();   // drops what is queued (a stopped agent fetches its config when it starts)

 private:
  void Loop();
  std::string BackupName() const;
  Status WriteFile(const std::string& container_id, const std::string& name,
                   const std::string& content, std::chrono::system_clock::time_point mtime);

  const runtime::AgentImageContract& contract_;
  AgentRegistry& registry_;
  AgentRecords& records_;
  const service::ProviderService& providers_;
  runtime::ContainerRuntime& runtime_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> queue_;  // user ids; guarded by mu_
  bool started_ = false;         // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::lifecycle
