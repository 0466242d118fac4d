#include "store/store_backends.hpp"

#include "store/sqlite_store.hpp"
#include "store/store_fixtures.hpp"

namespace berth::store::testing {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "sqlite" : "postgres");
}

std::string BackendDatabases::NewUrl() {
  if (backend_ == Backend::kSqlite) {
    return "sqlite://" + dir_.File("berth-" + std::to_string(++files_) + ".db");
  }
  std::string error;
  auto* cluster = berth::testing::PostgresTestCluster::Shared(&error);
  if (cluster == nullptr) {
    ADD_FAILURE() << "cannot start PostgreSQL: " << error;
    return "";
  }
  auto db = std::make_unique<berth::testing::PostgresTestDatabase>(cluster, &error);
  if (db->name().empty()) {
    ADD_FAILURE() << "cannot create a database: " << error;
    return "";
  }
  databases_.push_back(std::move(db));
  return databases_.back()->Url();
}

Result<SnapshotStorePtr> BackendDatabases::Open(const std::string& url,
                                                std::size_t max_connections) {
  if (max_connections == 0) return OpenSnapshotStore(url);
  if (backend_ == Backend::kPostgres) {
    return OpenSnapshotStore(url + "&pool_max_conns=" + std::to_string(max_connections));
  }
  SqliteStoreOptions options;
  options.max_connections = max_connections;
  auto store = SqliteStore::Open(url.substr(std::string("sqlite://").size()), options);
  if (!store.ok()) return store.status();
  return SnapshotStorePtr(std::move(*store));
}

void StoreContractTest::SetUp() {
  url_ = databases_.NewUrl();
  ASSERT_FALSE(url_.empty());
  auto opened = databases_.Open(url_);
  ASSERT_OK(opened);
  store_ = *opened;
}

void StoreContractTest::CreateTwoUsers() {
  ASSERT_OK(store_->CreateUser(MakeUser("u1")));
  ASSERT_OK(store_->CreateUser(MakeUser("u2")));
}

SnapshotStorePtr StoreContractTest::OpenAnother() {
  auto opened = databases_.Open(databases_.NewUrl());
  EXPECT_OK(opened);
  return opened.ok() ? *opened : nullptr;
}

SnapshotStorePtr StoreContractTest::OpenThisWithPool(std::size_t max_connections) {
  auto opened = databases_.Open(url_, max_connections);
  EXPECT_OK(opened);
  return opened.ok() ? *opened : nullptr;
}

}  // namespace berth::store::testing
