#include "lifecycle/config_pusher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth::lifecycle {

ConfigPusher::ConfigPusher(const runtime::AgentImageContract& contract, AgentRegistry& registry,
                           AgentRecords& records, const service::ProviderService& providers,
                           runtime::ContainerRuntime& runtime, const Clock& clock)
    : contract_(contract),
      registry_(registry),
      records_(records),
      providers_(providers),
      runtime_(runtime),
      clock_(clock) {}

ConfigPusher::~ConfigPusher() { Stop(); }

void ConfigPusher::Changed(const std::string& user_id) {
  {
    std::lock_guard lock(mu_);
    queue_.insert(user_id);
  }
  cv_.notify_all();
}

Status ConfigPusher::Push(const std::string& user_id) {
  const AgentKey key = AgentKey::User(user_id);
  std::string container_id;
  // Whole seconds in a tar header: each push from here moves at least one second forward.
  int64_t mtime = ToUnixMillis(clock_.Now()) / 1000;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry* entry = locked.Find(key);
    if (entry != nullptr && entry->status == AgentStatus::kRunning) {
      container_id = entry->container_id;
      mtime = std::max(mtime, entry->last_push_mtime + 1);
      entry->last_push_mtime = mtime;
    }
  }
  if (container_id.empty()) {
    // Not running here: perhaps on another replica, which shares the engine. The record says.
    auto record = records_.Find(key);
    if (!record.ok()) {
      return record.status().code() == ErrorCode::kNotFound ? Status::Ok() : record.status();
    }
    if (record->status != AgentStatus::kRunning || !record->container_id) return Status::Ok();
    container_id = *record->container_id;
  }
  auto config = providers_.BuildUserConfig(user_id);
  if (!config.ok()) return config.status();
  const std::string content = config->dump(2);
  const auto at = FromUnixMillis(mtime * 1000);
  // The backup first: the gateway watches only the config itself.
  Status pushed = WriteFile(container_id, BackupName(), content, at);
  if (pushed.ok()) pushed = WriteFile(container_id, contract_.config_file_name, content, at);
  if (pushed.code() == ErrorCode::kNotFound) return Status::Ok();  // it went meanwhile
  if (pushed.ok()) {
    spdlog::info("lifecycle: pushed a new {} to agent {}", contract_.config_file_name,
                 ToString(key));
  }
  return pushed;
}

Status ConfigPusher::WriteBackup(const std::string& container_id, const nlohmann::json& config) {
  return WriteFile(container_id, BackupName(), config.dump(2), clock_.Now());
}

std::string ConfigPusher::BackupName() const { return contract_.config_file_name + ".bak"; }

Status ConfigPusher::WriteFile(const std::string& container_id, const std::string& name,
                               const std::string& content,
                               std::chrono::system_clock::time_point mtime) {
  runtime::ContainerRuntime::FileSpec file;
  file.dir = contract_.state_dir;
  file.name = name;
  file.content = content;
  file.uid = contract_.uid;
  file.gid = contract_.gid;
  file.mode = 0600;
  file.mtime = mtime;
  return runtime_.PutFile(container_id, file);
}

void ConfigPusher::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void ConfigPusher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConfigPusher::Loop() {
  for (;;) {
    std::set<std::string> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    for (const std::string& user_id : batch) {
      Status pushed = Push(user_id);
      if (!pushed.ok()) {
        spdlog::warn("lifecycle: config push to the agent of user {} failed: {}", user_id,
                     pushed.message());
      }
    }
  }
}

}  // namespace berth::lifecycle
