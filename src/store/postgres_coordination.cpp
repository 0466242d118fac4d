// PostgresStore's coordination of replicas (store.hpp, coordination.hpp): leases judged by the
// server's clock, fenced writes of starts, and the change feed.

#include "store/postgres_queries.hpp"
#include "store/postgres_store.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/store_errors.hpp"

namespace berth::store {
namespace {

using namespace postgres_helpers;  // NOLINT: this file's vocabulary

constexpr const char kAcquireLease[] =
    "INSERT INTO leases (name, holder, epoch, until_ms) VALUES ($1, $2, 1, " BERTH_PG_NOW
    " + $3::bigint) ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = "
    "leases.epoch + 1, until_ms = EXCLUDED.until_ms WHERE leases.until_ms <= " BERTH_PG_NOW
    " OR leases.holder = EXCLUDED.holder RETURNING epoch";
constexpr const char kRenewLease[] = "UPDATE leases SET until_ms = " BERTH_PG_NOW
                                     " + $4::bigint WHERE name = $1 AND holder = $2 AND "
                                     "epoch = $3::bigint";
constexpr const char kReleaseLease[] = "UPDATE leases SET until_ms = LEAST(until_ms, " BERTH_PG_NOW
                                       ") WHERE name = $1 AND holder = $2 AND epoch = $3::bigint";
constexpr const char kListHeldLeases[] =
    "SELECT name, holder, epoch, until_ms - " BERTH_PG_NOW
    " FROM leases WHERE starts_with(name, $1) AND until_ms > " BERTH_PG_NOW " ORDER BY name";
// FOR SHARE: a takeover's UPDATE of the lease row waits until this write commits, and this
// write waits for a takeover in progress and then sees its new epoch.
#define BERTH_SAVE_AGENT_STATE(table)                                                          \
  "UPDATE " table                                                                              \
  " SET status = $2, container_id = COALESCE($3, container_id), last_active_at = CASE WHEN "   \
  "$2 = 'running' THEN GREATEST(COALESCE(last_active_at, 0), $4::bigint) ELSE last_active_at " \
  "END, updated_at = $4::bigint WHERE id = $1 AND ($5 = '' OR EXISTS (SELECT 1 FROM leases "   \
  "WHERE name = $5 AND holder = $6 AND epoch = $7::bigint FOR SHARE))"
constexpr const char kSaveUserAgentState[] = BERTH_SAVE_AGENT_STATE("user_containers");
constexpr const char kSaveSystemAgentState[] = BERTH_SAVE_AGENT_STATE("system_containers");
constexpr const char kUserRecordExists[] = "SELECT 1 FROM user_containers WHERE id = $1";
constexpr const char kSystemRecordExists[] = "SELECT 1 FROM system_containers WHERE id = $1";
constexpr const char kPinUserNode[] =
    "UPDATE user_containers SET node_id = $2, node_name = $3 WHERE id = $1 AND node_id IS NULL";
constexpr const char kPinSystemNode[] =
    "UPDATE system_containers SET node_id = $2, node_name = $3 WHERE id = $1 AND node_id IS NULL";
constexpr const char kUserNode[] =
    "SELECT COALESCE(node_id, ''), COALESCE(node_name, '') FROM user_containers WHERE id = $1";
constexpr const char kSystemNode[] =
    "SELECT COALESCE(node_id, ''), COALESCE(node_name, '') FROM system_containers WHERE id = $1";
constexpr const char kPublishChange[] =
    "INSERT INTO changes (kind, subject, at_ms) VALUES ($1, $2, " BERTH_PG_NOW ")";
// The server's clock comes with every read, so the reader needs no clock of its own.
constexpr const char kChangesSince[] =
    "SELECT " BERTH_PG_NOW
    ", seq, kind, subject, at_ms FROM (SELECT 0) AS now_row LEFT JOIN "
    "(SELECT seq, kind, subject, at_ms FROM changes WHERE at_ms >= $1::bigint ORDER BY seq "
    "LIMIT $2::bigint) AS c ON true ORDER BY seq";
constexpr const char kPruneChanges[] =
    "DELETE FROM changes WHERE at_ms < " BERTH_PG_NOW " - $1::bigint";
constexpr const char kPruneLeases[] =
    "DELETE FROM leases WHERE until_ms < " BERTH_PG_NOW " - $1::bigint";

void BindFence(PgParams& p, int first, const LeaseFence& fence) {
  p.Bind(first, fence.name);
  p.Bind(first + 1, fence.holder);
  p.Bind(first + 2, fence.epoch);
}

}  // namespace

Result<std::optional<int64_t>> PostgresStore::AcquireLease(const std::string& name,
                                                           const std::string& holder,
                                                           int64_t ttl_ms) {
  auto result = Run(*pool_, Deadline(), kAcquireLease, [&](PgParams& p) {
    p.Bind(1, name);
    p.Bind(2, holder);
    p.Bind(3, ttl_ms);
  });
  if (!result.ok()) return result.status();
  if (result->rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(result->row(0).Int64(0));
}

Result<bool> PostgresStore::RenewLease(const LeaseFence& fence, int64_t ttl_ms) {
  auto result = Run(*pool_, Deadline(), kRenewLease, [&](PgParams& p) {
    BindFence(p, 1, fence);
    p.Bind(4, ttl_ms);
  });
  if (!result.ok()) return result.status();
  return result->affected() == 1;
}

Status PostgresStore::ReleaseLease(const LeaseFence& fence) {
  auto result =
      Run(*pool_, Deadline(), kReleaseLease, [&](PgParams& p) { BindFence(p, 1, fence); });
  return result.ok() ? Status::Ok() : result.status();
}

Result<std::vector<Lease>> PostgresStore::ListHeldLeases(const std::string& prefix) {
  return QueryAll(
      *pool_, Deadline(), kListHeldLeases, [&](PgParams& p) { p.Bind(1, prefix); },
      [](const PgRow& r) {
        return Lease{r.Text(0), r.Text(1), r.Int64(2), r.Int64(3)};
      });
}

Status PostgresStore::SaveAgentState(ContainerKind kind, const std::string& record_id,
                                     const AgentStateWrite& write, const LeaseFence& fence) {
  const bool user = kind == ContainerKind::kUser;
  auto result =
      Run(*pool_, Deadline(), user ? kSaveUserAgentState : kSaveSystemAgentState, [&](PgParams& p) {
        p.Bind(1, record_id);
        p.Bind(2, write.status);
        p.Bind(3, write.container_id);
        p.Bind(4, write.now_ms);
        BindFence(p, 5, fence);
      });
  if (!result.ok()) return result.status();
  if (result->affected() == 1) return Status::Ok();
  auto exists = QueryOne(
      *pool_, Deadline(), user ? kUserRecordExists : kSystemRecordExists,
      [&](PgParams& p) { p.Bind(1, record_id); }, [](const PgRow&) { return true; },
      "container record not found");
  if (!exists.ok()) return exists.status();
  return Aborted("the start lease " + fence.name + " was taken over by another replica");
}

Status PostgresStore::PinAgentNode(ContainerKind kind, const std::string& record_id,
                                   const std::string& node_id, const std::string& node_name) {
  const bool user = kind == ContainerKind::kUser;
  auto result = Run(*pool_, Deadline(), user ? kPinUserNode : kPinSystemNode, [&](PgParams& p) {
    p.Bind(1, record_id);
    p.Bind(2, node_id);
    p.Bind(3, node_name);
  });
  if (!result.ok()) return result.status();
  if (result->affected() == 1) return Status::Ok();
  auto pinned = QueryOne(
      *pool_, Deadline(), user ? kUserNode : kSystemNode,
      [&](PgParams& p) { p.Bind(1, record_id); },
      [](const PgRow& r) { return std::make_pair(r.Text(0), r.Text(1)); },
      "container record not found");
  if (!pinned.ok()) return pinned.status();
  return errors::PinOutcome(record_id, node_id, pinned->first, pinned->second);
}

Status PostgresStore::PublishChange(const std::string& kind, const std::string& subject) {
  auto result = Run(*pool_, Deadline(), kPublishChange, [&](PgParams& p) {
    p.Bind(1, kind);
    p.Bind(2, subject);
  });
  return result.ok() ? Status::Ok() : result.status();
}

Result<ChangeBatch> PostgresStore::ChangesSince(int64_t since_ms, std::size_t limit) {
  auto result = Run(*pool_, Deadline(), kChangesSince, [&](PgParams& p) {
    p.Bind(1, since_ms);
    p.Bind(2, static_cast<int64_t>(limit));
  });
  if (!result.ok()) return result.status();
  ChangeBatch batch;
  for (int i = 0; i < result->rows(); ++i) {
    const PgRow row = result->row(i);
    batch.db_now_ms = row.Int64(0);
    if (row.IsNull(1)) continue;  // the clock's row when there are no changes
    batch.changes.push_back({row.Int64(1), row.Text(2), row.Text(3), row.Int64(4)});
  }
  return batch;
}

Status PostgresStore::PruneCoordination(int64_t max_age_ms) {
  for (const char* sql : {kPruneChanges, kPruneLeases}) {
    auto result = Run(*pool_, Deadline(), sql, [&](PgParams& p) { p.Bind(1, max_age_ms); });
    if (!result.ok()) return result.status();
  }
  return Status::Ok();
}

}  // namespace berth::store
