// PostgresStore::ClaimPoolAgent (store.hpp): the warm pool's hand-over in one transaction. Two
// replicas claiming one pooled agent serialise on its row: the second finds it deleted.

#include "store/pool_claim_rows.hpp"
#include "store/postgres_queries.hpp"
#include "store/postgres_store.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/store_errors.hpp"

namespace berth::store {

using namespace postgres_helpers;  // NOLINT: this file's vocabulary
namespace q = postgres_queries;

Result<UserContainer> PostgresStore::ClaimPoolAgent(const std::string& pool_id,
                                                    const std::string& user_id, int64_t now_ms,
                                                    int default_idle_min) {
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Result<UserContainer> {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    PgParams user;
    user.Bind(1, user_id);
    auto existing = conn.Execute(q::kLockUserContainerByUser, user, deadline);
    if (!existing.ok()) return existing.status();
    int idle = default_idle_min;
    if (existing->rows() > 0) {
      const UserContainer old = ReadUserContainer(existing->row(0));
      if (!pool_claim::NeverRan(old)) {
        return AlreadyExists("the user's agent has run before; its state is its own");
      }
      idle = old.idle_timeout_min;
      PgParams id;
      id.Bind(1, old.id);
      auto removed = conn.Execute(q::kDeleteUserContainer, id, deadline);
      if (!removed.ok()) return removed.status();
    }
    PgParams pool;
    pool.Bind(1, pool_id);
    auto pooled = conn.Execute(q::kTakeSystemContainer, pool, deadline);
    if (!pooled.ok()) return pooled.status();
    if (pooled->rows() == 0) return NotFound("the pooled agent was taken or removed");
    UserContainer adopted =
        pool_claim::AdoptedRecord(ReadSystemContainer(pooled->row(0)), user_id, now_ms, idle);
    PgParams insert;
    rows::BindUserContainerInsert(insert, adopted);
    auto inserted = conn.Execute(q::kInsertUserContainer, insert, deadline);
    if (!inserted.ok()) {
      return errors::ExplainUserContainerWrite(inserted.status(), adopted, /*insert=*/true);
    }
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return adopted;
  });
}

}  // namespace berth::store
