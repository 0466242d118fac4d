// SqliteStore's coordination of replicas (store.hpp, coordination.hpp). One berth runs on a
// SQLite file (serve_lock.hpp), so nothing here is contended; it keeps both backends one schema.

#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/store_errors.hpp"

namespace berth::store {
namespace {

using namespace sqlite_helpers;

// The database's clock in Unix milliseconds ('now' is fixed within one statement).
#define BERTH_SQLITE_NOW "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

constexpr const char kAcquireLease[] =
    "INSERT INTO leases (name, holder, epoch, until_ms) VALUES (?1, ?2, 1, " BERTH_SQLITE_NOW
    " + ?3) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = leases.epoch + 1, "
    "until_ms = excluded.until_ms WHERE leases.until_ms <= " BERTH_SQLITE_NOW
    " OR leases.holder = excluded.holder RETURNING epoch";
constexpr const char kRenewLease[] = "UPDATE leases SET until_ms = " BERTH_SQLITE_NOW
                                     " + ?4 WHERE name = ?1 AND holder = ?2 AND epoch = ?3";
constexpr const char kReleaseLease[] =
    "UPDATE leases SET until_ms = MIN(until_ms, " BERTH_SQLITE_NOW
    ") WHERE name = ?1 AND holder = ?2 AND epoch = ?3";
constexpr const char kListHeldLeases[] =
    "SELECT name, holder, epoch, until_ms - " BERTH_SQLITE_NOW
    " FROM leases WHERE substr(name, 1, length(?1)) = ?1 AND until_ms > " BERTH_SQLITE_NOW
    " ORDER BY name";
#define BERTH_SAVE_AGENT_STATE(table)                                                           \
  "UPDATE " table                                                                               \
  " SET status = ?2, container_id = COALESCE(?3, container_id), last_active_at = CASE WHEN ?2 " \
  "= 'running' THEN MAX(COALESCE(last_active_at, 0), ?4) ELSE last_active_at END, "             \
  "updated_at = ?4 WHERE id = ?1 AND (?5 = '' OR EXISTS (SELECT 1 FROM leases WHERE name = ?5 " \
  "AND "                                                                                        \
  "holder = ?6 AND epoch = ?7))"
constexpr const char kSaveUserAgentState[] = BERTH_SAVE_AGENT_STATE("user_containers");
constexpr const char kSaveSystemAgentState[] = BERTH_SAVE_AGENT_STATE("system_containers");
constexpr const char kUserRecordExists[] = "SELECT 1 FROM user_containers WHERE id = ?1";
constexpr const char kSystemRecordExists[] = "SELECT 1 FROM system_containers WHERE id = ?1";
constexpr const char kPinUserNode[] =
    "UPDATE user_containers SET node_id = ?2, node_name = ?3 WHERE id = ?1 AND node_id IS NULL";
constexpr const char kPinSystemNode[] =
    "UPDATE system_containers SET node_id = ?2, node_name = ?3 WHERE id = ?1 AND node_id IS NULL";
constexpr const char kUserNode[] =
    "SELECT COALESCE(node_id, ''), COALESCE(node_name, '') FROM user_containers WHERE id = ?1";
constexpr const char kSystemNode[] =
    "SELECT COALESCE(node_id, ''), COALESCE(node_name, '') FROM system_containers WHERE id = ?1";
constexpr const char kPublishChange[] =
    "INSERT INTO changes (kind, subject, at_ms) VALUES (?1, ?2, " BERTH_SQLITE_NOW ")";
constexpr const char kChangesSince[] =
    "SELECT seq, kind, subject, at_ms FROM changes WHERE at_ms >= ?1 ORDER BY seq LIMIT ?2";
constexpr const char kNow[] = "SELECT " BERTH_SQLITE_NOW;
constexpr const char kPruneChanges[] =
    "DELETE FROM changes WHERE at_ms < " BERTH_SQLITE_NOW " - ?1";
constexpr const char kPruneLeases[] =
    "DELETE FROM leases WHERE until_ms < " BERTH_SQLITE_NOW " - ?1";

void BindFence(SqliteStatement& s, int first, const LeaseFence& fence) {
  s.Bind(first, fence.name);
  s.Bind(first + 1, fence.holder);
  s.Bind(first + 2, fence.epoch);
}

}  // namespace

Result<std::optional<int64_t>> SqliteStore::AcquireLease(const std::string& name,
                                                         const std::string& holder,
                                                         int64_t ttl_ms) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<std::optional<int64_t>> {
    auto stmt = conn.Prepare(kAcquireLease);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, name);
    stmt->Bind(2, holder);
    stmt->Bind(3, ttl_ms);
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<int64_t>();
    const int64_t epoch = stmt->Int64(0);
    auto rest = stmt->Step();  // finish the statement so its write completes
    if (!rest.ok()) return rest.status();
    return std::optional<int64_t>(epoch);
  });
}

Result<bool> SqliteStore::RenewLease(const LeaseFence& fence, int64_t ttl_ms) {
  auto changed = Write(*pool_, kRenewLease, [&](SqliteStatement& s) {
    BindFence(s, 1, fence);
    s.Bind(4, ttl_ms);
  });
  if (!changed.ok()) return changed.status();
  return *changed == 1;
}

Status SqliteStore::ReleaseLease(const LeaseFence& fence) {
  auto changed = Write(*pool_, kReleaseLease, [&](SqliteStatement& s) { BindFence(s, 1, fence); });
  return changed.ok() ? Status::Ok() : changed.status();
}

Result<std::vector<Lease>> SqliteStore::ListHeldLeases(const std::string& prefix) {
  return QueryAll(
      *pool_, kListHeldLeases, [&](SqliteStatement& s) { s.Bind(1, prefix); },
      [](const SqliteStatement& s) {
        return Lease{s.Text(0), s.Text(1), s.Int64(2), s.Int64(3)};
      });
}

Status SqliteStore::SaveAgentState(ContainerKind kind, const std::string& record_id,
                                   const AgentStateWrite& write, const LeaseFence& fence) {
  const bool user = kind == ContainerKind::kUser;
  auto changed =
      Write(*pool_, user ? kSaveUserAgentState : kSaveSystemAgentState, [&](SqliteStatement& s) {
        s.Bind(1, record_id);
        s.Bind(2, write.status);
        s.Bind(3, write.container_id);
        s.Bind(4, write.now_ms);
        BindFence(s, 5, fence);
      });
  if (!changed.ok()) return changed.status();
  if (*changed == 1) return Status::Ok();
  auto exists = QueryOne(
      *pool_, user ? kUserRecordExists : kSystemRecordExists,
      [&](SqliteStatement& s) { s.Bind(1, record_id); },
      [](const SqliteStatement&) { return true; }, "container record not found");
  if (!exists.ok()) return exists.status();
  return Aborted("the start lease " + fence.name + " was taken over by another replica");
}

Status SqliteStore::PinAgentNode(ContainerKind kind, const std::string& record_id,
                                 const std::string& node_id, const std::string& node_name) {
  const bool user = kind == ContainerKind::kUser;
  auto changed = Write(*pool_, user ? kPinUserNode : kPinSystemNode, [&](SqliteStatement& s) {
    s.Bind(1, record_id);
    s.Bind(2, node_id);
    s.Bind(3, node_name);
  });
  if (!changed.ok()) return changed.status();
  if (*changed == 1) return Status::Ok();
  auto pinned = QueryOne(
      *pool_, user ? kUserNode : kSystemNode, [&](SqliteStatement& s) { s.Bind(1, record_id); },
      [](const SqliteStatement& s) { return std::make_pair(s.Text(0), s.Text(1)); },
      "container record not found");
  if (!pinned.ok()) return pinned.status();
  return errors::PinOutcome(record_id, node_id, pinned->first, pinned->second);
}

Status SqliteStore::DeleteNoting(const char* delete_sql, const std::string& id, const char* kind,
                                 const char* not_found) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto deleted = conn.Prepare(delete_sql);
    if (!deleted.ok()) return deleted.status();
    deleted->Bind(1, id);
    BERTH_RETURN_IF_ERROR(deleted->Run());
    if (conn.Changes() == 0) return NotFound(not_found);
    auto noted = conn.Prepare(kPublishChange);
    if (!noted.ok()) return noted.status();
    noted->Bind(1, kind);
    noted->Bind(2, id);
    BERTH_RETURN_IF_ERROR(noted->Run());
    // Nobody follows the feed of a SQLite file (one berth runs on it): keep it from growing.
    auto pruned = conn.Prepare(kPruneChanges);
    if (!pruned.ok()) return pruned.status();
    pruned->Bind(1, kChangeKeepMs);
    BERTH_RETURN_IF_ERROR(pruned->Run());
    return txn->Commit();
  });
}

Status SqliteStore::PublishChange(const std::string& kind, const std::string& subject) {
  auto changed = Write(*pool_, kPublishChange, [&](SqliteStatement& s) {
    s.Bind(1, kind);
    s.Bind(2, subject);
  });
  return changed.ok() ? Status::Ok() : changed.status();
}

Result<ChangeBatch> SqliteStore::ChangesSince(int64_t since_ms, std::size_t limit) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<ChangeBatch> {
    ChangeBatch batch;
    auto now = CollectAll(
        conn, kNow, [](SqliteStatement&) {}, [](const SqliteStatement& s) { return s.Int64(0); });
    if (!now.ok()) return now.status();
    batch.db_now_ms = now->empty() ? 0 : now->front();
    auto changes = CollectAll(
        conn, kChangesSince,
        [&](SqliteStatement& s) {
          s.Bind(1, since_ms);
          s.Bind(2, static_cast<int64_t>(limit));
        },
        [](const SqliteStatement& s) {
          return Change{s.Int64(0), s.Text(1), s.Text(2), s.Int64(3)};
        });
    if (!changes.ok()) return changes.status();
    batch.changes = std::move(*changes);
    return batch;
  });
}

Status SqliteStore::PruneCoordination(int64_t max_age_ms) {
  for (const char* sql : {kPruneChanges, kPruneLeases}) {
    auto changed = Write(*pool_, sql, [&](SqliteStatement& s) { s.Bind(1, max_age_ms); });
    if (!changed.ok()) return changed.status();
  }
  return Status::Ok();
}

}  // namespace berth::store
