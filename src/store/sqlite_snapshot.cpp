// SqliteStore as a SnapshotStore: whole-database reads and writes for `berth db copy`.
#include "store/snapshot_rows.hpp"
#include "store/sqlite_queries.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"

namespace berth::store {
namespace {

namespace q = sqlite_queries;
using namespace sqlite_helpers;  // NOLINT: this file's vocabulary

constexpr snapshot::Statements kStatements = {
    .instance_id = q::kSelectInstanceId,
    .all_users = q::kListUsers,
    .all_api_tokens = q::kAllApiTokens,
    .all_providers = q::kAllProviders,
    .all_agent_configs = q::kAllAgentConfigs,
    .all_user_containers = q::kListUserContainers,
    .all_system_containers = q::kListSystemContainers,
    .insert_user = q::kInsertUser,
    .insert_api_token = q::kCopyApiToken,
    .insert_provider = q::kInsertProvider,
    .insert_agent_config = q::kUpsertAgentConfig,
    .insert_user_container = q::kInsertUserContainer,
    .insert_system_container = q::kInsertSystemContainer,
    .set_instance_id = q::kSetInstanceId,
};

constexpr auto kNoBind = [](SqliteStatement&) {};

Result<TableCounts> CountRows(SqliteConnection& conn) {
  auto counted = CollectAll(conn, q::kCountRows, kNoBind, [](const SqliteStatement& s) {
    TableCounts c;
    c.users = static_cast<std::size_t>(s.Int64(0));
    c.api_tokens = static_cast<std::size_t>(s.Int64(1));
    c.providers = static_cast<std::size_t>(s.Int64(2));
    c.agent_configs = static_cast<std::size_t>(s.Int64(3));
    c.user_containers = static_cast<std::size_t>(s.Int64(4));
    c.system_containers = static_cast<std::size_t>(s.Int64(5));
    return c;
  });
  if (!counted.ok()) return counted.status();
  return counted->front();
}

}  // namespace

Result<StoreSnapshot> SqliteStore::ReadSnapshot() {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<StoreSnapshot> {
    // A deferred transaction holds one read snapshot (WAL) for every statement in it; it never
    // writes, so "committing" it only ends the snapshot.
    BERTH_RETURN_IF_ERROR(conn.Exec(q::kBeginRead));
    auto read = snapshot::Read(kStatements, [&](const char* sql, auto&& reader) {
      return CollectAll(conn, sql, kNoBind, reader);
    });
    Status end = conn.Exec(q::kCommit);
    if (!read.ok()) return read.status();
    if (!end.ok()) return end;
    return read;
  });
}

Status SqliteStore::WriteSnapshot(const StoreSnapshot& s, bool replace) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    if (replace) {
      BERTH_RETURN_IF_ERROR(conn.ExecScript(q::kDeleteEverything));
    } else {
      auto before = CountRows(conn);
      if (!before.ok()) return before.status();
      BERTH_RETURN_IF_ERROR(snapshot::ExpectEmpty(*before));
    }
    BERTH_RETURN_IF_ERROR(snapshot::Insert(kStatements, s, [&](const char* sql, auto&& bind) {
      auto stmt = conn.Prepare(sql);
      if (!stmt.ok()) return stmt.status();
      bind(*stmt);
      return stmt->Run();
    }));
    auto after = CountRows(conn);
    if (!after.ok()) return after.status();
    BERTH_RETURN_IF_ERROR(snapshot::ExpectWritten(*after, s));
    return txn->Commit();
  });
}

}  // namespace berth::store
