#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// What several berth replicas on one database coordinate through (ARCHITECTURE.md, "Several
// replicas"): leases with fencing epochs, and a feed of changes every replica follows.
namespace berth::store {

// A lease as held: by whom, at which epoch, and for how much longer by the database's clock.
struct Lease {
  std::string name;
  std::string holder;
  int64_t epoch = 0;
  int64_t remaining_ms = 0;
};

// The proof a holder shows with each write it makes under a lease: refused once the lease was
// taken by another (its epoch moved on).
struct LeaseFence {
  std::string name;
  std::string holder;
  int64_t epoch = 0;
};

// A start's write to its agent's record: the status, the engine's container id when given, and
// for a running agent last_active_at raised to now_ms (never lowered).
struct AgentStateWrite {
  std::string status;
  std::optional<std::string> container_id;
  int64_t now_ms = 0;
};

// One entry of the change feed: what changed (a kind such as "user_deleted") and about whom.
struct Change {
  int64_t seq = 0;
  std::string kind;
  std::string subject;
  int64_t at_ms = 0;  // the database's clock
};

// The kinds of change the store itself enters in the feed, in the same transaction as the
// deletion they report (DeleteUser, DeleteApiToken): a replica that caches a token must never
// miss one, and a separate publish could fail after the deletion committed.
inline constexpr const char kChangeUserDeleted[] = "user_deleted";    // subject: user id
inline constexpr const char kChangeTokenRevoked[] = "token_revoked";  // subject: API token id
// How long changes stay in the feed; older ones are pruned.
inline constexpr int64_t kChangeKeepMs = 10 * 60'000;

// Changes read from the feed, with the database's clock at the time of the read.
struct ChangeBatch {
  std::vector<Change> changes;
  int64_t db_now_ms = 0;
};

}  // namespace berth::store
