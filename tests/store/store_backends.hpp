#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/store_snapshot.hpp"
#include "support/postgres_test_cluster.hpp"
#include "support/temp_dir.hpp"

// The store contract tests run once per backend with the same assertions: a value-parameterised
// fixture that gives each test a fresh, empty store of its backend (a SQLite file in a temp dir,
// or a new database in the test process's throwaway PostgreSQL cluster).
namespace berth::store::testing {

enum class Backend { kSqlite, kPostgres };

// "sqlite" / "postgres": the suffix of each test's name, and how gtest prints the parameter.
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);
void PrintTo(Backend backend, std::ostream* os);

// Fresh empty databases of one backend, removed when this is destroyed.
class BackendDatabases {
 public:
  explicit BackendDatabases(Backend backend) : backend_(backend) {}
  // The URL of a new empty database ("" after a test failure).
  std::string NewUrl();
  // Opens `url` with a pool of at most `max_connections` (0: the backend's default).
  Result<SnapshotStorePtr> Open(const std::string& url, std::size_t max_connections = 0);
  Backend backend() const { return backend_; }

 private:
  Backend backend_;
  berth::testing::TempDir dir_;
  int files_ = 0;
  std::vector<std::unique_ptr<berth::testing::PostgresTestDatabase>> databases_;
};

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;

  // Creates users "u1" and "u2".
  void CreateTwoUsers();
  // Another fresh empty database of the same backend.
  SnapshotStorePtr OpenAnother();
  // A second store on this test's database with a pool of at most `max_connections`.
  SnapshotStorePtr OpenThisWithPool(std::size_t max_connections);

  BackendDatabases databases_{GetParam()};
  std::string url_;
  SnapshotStorePtr store_;
};

}  // namespace berth::store::testing

// Runs every TEST_P of `suite` against SQLite and PostgreSQL.
#define BERTH_ON_EVERY_BACKEND(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                \
                           ::testing::Values(::berth::store::testing::Backend::kSqlite,    \
                                             ::berth::store::testing::Backend::kPostgres), \
                           ::berth::store::testing::BackendName)
