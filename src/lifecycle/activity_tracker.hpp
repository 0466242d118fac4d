#pragma once

#include <string>

#include "common/clock.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"

namespace berth::lifecycle {

class ActivityTracker;

// An open stream counts as activity for as long as the guard lives: the reaper never stops an
// agent with a stream open. Closing it is activity too. Movable; must not outlive its tracker.
class StreamGuard {
 public:
  StreamGuard() = default;
  StreamGuard(StreamGuard&& other) noexcept;
  StreamGuard& operator=(StreamGuard&& other) noexcept;
  ~StreamGuard();

 private:
  friend class ActivityTracker;
  StreamGuard(ActivityTracker* tracker, std::string user_id)
      : tracker_(tracker), user_id_(std::move(user_id)) {}
  void Release();
  ActivityTracker* tracker_ = nullptr;
  std::string user_id_;
};

// When each user's agent was last used: in memory on every request (Touch, streams), written to
// the store in batches (Flush, every activity_flush_interval by the scheduler, and at shutdown).
// Every replica runs it; the reaper reads what it keeps.
//
// Thread-safe. Touch and the guards take only AgentRegistry's lock, never block, and never call
// the store; Flush makes one store call with no lock held. Activity of an agent this process has
// not seen yet is dropped (Touch) or creates its entry (streams).
class ActivityTracker {
 public:
  ActivityTracker(AgentRegistry& registry, AgentRecords& records, const Clock& clock);

  // Pushes the idle deadline of the user's agent out.
  void Touch(const std::string& user_id);
  StreamGuard OpenStream(const std::string& user_id);
  // Writes every changed last-activity stamp of user agents in one store call; on failure they
  // stay pending for the next flush (logged).
  void Flush();

 private:
  friend class StreamGuard;
  void CloseStream(const std::string& user_id);

  AgentRegistry& registry_;
  AgentRecords& records_;
  const Clock& clock_;
};

}  // namespace berth::lifecycle
