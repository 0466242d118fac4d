#include "lifecycle/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth::lifecycle {

Scheduler::Scheduler(const Clock& clock, Leadership& leadership)
    : clock_(clock), leadership_(leadership) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Add(Pass pass) {
  const auto next = clock_.SteadyNow() + pass.interval;
  passes_.push_back({std::move(pass), next});
}

std::vector<std::string> Scheduler::RunDue() {
  std::vector<std::string> ran;
  const auto now = clock_.SteadyNow();
  for (Scheduled& s : passes_) {
    if (now < s.next) continue;
    if (s.pass.scope == Scope::kLeaderOnly) {
      const bool leading = leadership_.IsLeader();
      if (leading != leading_) {
        spdlog::info("lifecycle: this replica {} the fleet-wide passes",
                     leading ? "now runs" : "no longer runs");
        leading_ = leading;
      }
      if (!leading) {
        s.next = now + s.pass.interval;
        continue;
      }
    }
    s.pass.run();
    ran.push_back(s.pass.name);
    s.next = clock_.SteadyNow() + s.pass.interval;
  }
  return ran;
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  const auto now = clock_.SteadyNow();
  for (Scheduled& s : passes_) s.next = now + s.pass.interval;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  for (;;) {
    // Woken at least hourly: no pass at all, or a clock moved by hand, is looked at again.
    auto wake = clock_.SteadyNow() + std::chrono::hours(1);
    for (const Scheduled& s : passes_) wake = std::min(wake, s.next);
    const auto wait =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(wake - clock_.SteadyNow()),
                 std::chrono::milliseconds(0));
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, wait, [this] { return stopping_; })) break;
    }
    RunDue();
  }
  for (Scheduled& s : passes_) {
    if (s.pass.run_at_stop) s.pass.run();
  }
}

}  // namespace berth::lifecycle
