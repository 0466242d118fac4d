#include <string>

#include "store/database_url.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "store/store_snapshot.hpp"

namespace berth::store {

Result<SnapshotStorePtr> OpenSnapshotStore(const std::string& database_url) {
  auto url = ParseDatabaseUrl(database_url);
  if (!url.ok()) return url.status();
  if (url->kind == DatabaseUrl::Kind::kSqlite) {
    auto store = SqliteStore::Open(url->sqlite_path);
    if (!store.ok()) return store.status();
    return SnapshotStorePtr(std::move(*store));
  }
  PostgresStoreOptions options;
  options.conninfo = url->postgres_conninfo;
  options.display = url->display;
  options.max_connections = url->pool_max_conns;
  options.query_timeout = url->query_timeout;
  auto store = PostgresStore::Open(std::move(options));
  if (!store.ok()) {
    return Status(store.status().code(), "BERTH_DATABASE_URL: " + store.status().message());
  }
  return SnapshotStorePtr(std::move(*store));
}

Result<StorePtr> OpenStore(const std::string& database_url) {
  auto store = OpenSnapshotStore(database_url);
  if (!store.ok()) return store.status();
  return StorePtr(std::move(*store));
}

}  // namespace berth::store
