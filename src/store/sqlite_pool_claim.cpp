// SqliteStore::ClaimPoolAgent (store.hpp): the warm pool's hand-over in one transaction.

#include "store/pool_claim_rows.hpp"
#include "store/sqlite_queries.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/store_errors.hpp"

namespace berth::store {

using namespace sqlite_helpers;  // NOLINT: this file's vocabulary
namespace q = sqlite_queries;

Result<UserContainer> SqliteStore::ClaimPoolAgent(const std::string& pool_id,
                                                  const std::string& user_id, int64_t now_ms,
                                                  int default_idle_min) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<UserContainer> {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto existing = CollectAll(
        conn, q::kGetUserContainerByUser, [&](SqliteStatement& s) { s.Bind(1, user_id); },
        ReadUserContainer);
    if (!existing.ok()) return existing.status();
    int idle = default_idle_min;
    if (!existing->empty()) {
      const UserContainer& old = existing->front();
      if (!pool_claim::NeverRan(old)) {
        return AlreadyExists("the user's agent has run before; its state is its own");
      }
      idle = old.idle_timeout_min;
      auto removed = CollectAll(
          conn, q::kDeleteUserContainer, [&](SqliteStatement& s) { s.Bind(1, old.id); },
          [](const SqliteStatement&) { return 0; });
      if (!removed.ok()) return removed.status();
    }
    auto pooled = CollectAll(
        conn, q::kTakeSystemContainer, [&](SqliteStatement& s) { s.Bind(1, pool_id); },
        ReadSystemContainer);
    if (!pooled.ok()) return pooled.status();
    if (pooled->empty()) return NotFound("the pooled agent was taken or removed");
    UserContainer adopted = pool_claim::AdoptedRecord(pooled->front(), user_id, now_ms, idle);
    auto inserted = CollectAll(
        conn, q::kInsertUserContainer,
        [&](SqliteStatement& s) { rows::BindUserContainerInsert(s, adopted); },
        [](const SqliteStatement&) { return 0; });
    if (!inserted.ok()) {
      return errors::ExplainUserContainerWrite(inserted.status(), adopted, /*insert=*/true);
    }
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return adopted;
  });
}

}  // namespace berth::store
