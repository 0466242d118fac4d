#include "lifecycle/event_watcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lifecycle/agent_labels.hpp"

namespace berth::lifecycle {

using runtime::ContainerEventKind;

EventWatcher::EventWatcher(runtime::ContainerRuntime& runtime, AgentRegistry& registry,
                           AgentRecords& records, const AgentNotifier& notifier,
                           const InstanceInfo& instance, std::function<void()> resync)
    : runtime_(runtime),
      registry_(registry),
      records_(records),
      notifier_(notifier),
      instance_(instance),
      resync_(std::move(resync)) {}

EventWatcher::~EventWatcher() { Stop(); }

void EventWatcher::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void EventWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (stream_) stream_->Close();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EventWatcher::WaitStopped(std::chrono::milliseconds period) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, period, [this] { return stopping_; });
}

void EventWatcher::Loop() {
  bool first = true;
  std::chrono::milliseconds backoff(200);
  for (;;) {
    auto stream = runtime_.Events(OwnLabels(instance_.instance_id));
    if (!stream.ok()) {
      registry_.SetEventsLive(false);
      registry_.InvalidateAll();
      spdlog::warn("lifecycle: engine event stream unavailable: {}", stream.status().message());
      if (WaitStopped(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    runtime::EventStream* events = nullptr;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stream_ = std::move(*stream);
      events = stream_.get();
    }
    backoff = std::chrono::milliseconds(200);
    if (!first && resync_) resync_();  // events were missed while the stream was down
    first = false;
    registry_.SetEventsLive(true);
    for (;;) {
      auto event = events->Next();
      if (!event.ok()) break;
      Handle(*event);
    }
    registry_.SetEventsLive(false);
    registry_.InvalidateAll();
    {
      std::lock_guard lock(mu_);
      stream_.reset();
      if (stopping_) return;
    }
    spdlog::warn("lifecycle: engine event stream ended; resubscribing");
  }
}

void EventWatcher::Handle(const runtime::ContainerEvent& event) {
  if (event.kind == ContainerEventKind::kPaused || event.kind == ContainerEventKind::kUnpaused) {
    // Whoever did it (this replica's reaper or start, another replica's): the warm path must
    // not hand out a frozen agent, and a resumed one may be warm again.
    // Watchers hear of it too, unless a start is under way (its own steps say what happens).
    AgentEvent notice;
    {
      AgentRegistry::Locked locked = registry_.Lock();
      auto found = locked.KeyOfContainer(event.container_id);
      AgentEntry* entry = found ? locked.Find(*found) : nullptr;
      if (entry == nullptr) return;
      entry->paused = event.kind == ContainerEventKind::kPaused;
      if (entry->start) return;
      notice = {found->kind, found->owner, entry->status, "", ""};
      notice.paused = entry->paused;
    }
    notifier_.Notify(notice);
    return;
  }
  const bool destroyed = event.kind == ContainerEventKind::kDestroyed;
  const bool died = event.kind == ContainerEventKind::kDied || destroyed;
  if (!died && event.kind != ContainerEventKind::kOomKilled) return;
  AgentKey key;
  AgentEvent notice;
  AgentStatus record_status = AgentStatus::kStopped;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    auto found = locked.KeyOfContainer(event.container_id);
    if (!found) return;
    key = *found;
    if (destroyed) locked.UnbindContainer(event.container_id);
    AgentEntry* entry = locked.Find(key);
    if (entry == nullptr) return;
    // From an earlier run of the same container (a stop berth made before starting it again,
    // delivered late): not about the run that is up now.
    if (entry->container_started_at && event.time <= *entry->container_started_at) return;
    if (event.kind == ContainerEventKind::kOomKilled) {
      entry->oom_seen = true;
      return;
    }
    // Starts watch their own container; stops are berth's own doing.
    if (entry->start || entry->status != AgentStatus::kRunning) return;
    if (entry->endpoint && entry->endpoint->container_id != event.container_id) return;
    entry->verified = false;
    entry->endpoint.reset();
    const int code = event.exit_code.value_or(0);
    if (entry->oom_seen || code != 0 || destroyed || !event.error.empty()) {
      std::string why = destroyed ? "the agent container was removed outside berth"
                        : !event.error.empty()
                            ? event.error
                            : "the agent container exited with code " + std::to_string(code);
      if (entry->oom_seen) why += " (OOM-killed)";
      entry->SetStatus(AgentStatus::kFailed, "", why);
      record_status = AgentStatus::kFailed;
    } else {
      entry->SetStatus(AgentStatus::kStopped);
    }
    notice = {key.kind, key.owner, entry->status, "", entry->error};
  }
  spdlog::info("lifecycle: agent {} {} outside berth's control", ToString(key),
               AgentStatusName(record_status));
  Status saved = records_.SaveState(key, record_status, std::nullopt);
  if (!saved.ok()) {
    spdlog::warn("lifecycle: cannot record that agent {} {}: {}", ToString(key),
                 AgentStatusName(record_status), saved.message());
  }
  notifier_.Notify(notice);
}

}  // namespace berth::lifecycle
