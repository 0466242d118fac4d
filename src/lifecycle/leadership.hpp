#pragma once

#include <cstdint>
#include <memory>

namespace berth::lifecycle {

// Whether this replica may run the fleet-wide passes (reconcile, health sweep, reap, system
// keeper), which exactly one replica of a fleet must run. A seam: with SQLite there is one
// replica and it always leads (AlwaysLeader); with PostgreSQL a lease row with a fencing epoch
// decides (ARCHITECTURE.md, "Several replicas").
//
// Leadership can be lost and regained at any moment: callers ask before each pass, never cache
// the answer across passes, and a pass that began as leader may finish after leadership moved on
// (an implementation that must fence writes does so below this seam). IsLeader() must not block
// (answer from state a background renewal keeps) and is thread-safe.
class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual bool IsLeader() = 0;
  // Changes each time this replica becomes leader anew (the lease's fencing epoch), so a new
  // leader can learn the fleet before its first pass. Thread-safe, never blocks.
  virtual int64_t Term() = 0;
};
using LeadershipPtr = std::shared_ptr<Leadership>;

// The single replica on SQLite: always the leader.
class AlwaysLeader final : public Leadership {
 public:
  bool IsLeader() override { return true; }
  int64_t Term() override { return 1; }
};

}  // namespace berth::lifecycle
