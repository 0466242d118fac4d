#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "support/berth_process.hpp"
#include "support/postgres_test_cluster.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {

// A berth serving a fresh data dir, with a known admin token.
class BerthE2eTest : public ::testing::Test {
 protected:
  static constexpr const char* kAdminToken = "e2e-admin-token-0123456789abcdefghijklmnop";

  std::map<std::string, std::string> BaseEnv() const {
    // Agents would reach berth at its public listener (no internal listener), which then serves
    // the internal agent-config endpoint too.
    std::map<std::string, std::string> env = {{"BERTH_DATA_DIR", dir_.path().string()},
                                              {"BERTH_ADMIN_TOKEN", kAdminToken},
                                              {"MOSAIC_API_URL", "http://berth.test:3000/api"}};
    if (!database_url_.empty()) env["BERTH_DATABASE_URL"] = database_url_;
    return env;
  }

  std::unique_ptr<BerthProcess> StartBerth(std::map<std::string, std::string> env) {
    std::string error;
    auto p = BerthProcess::Start(dir_.path().string(), env, {}, &error);
    EXPECT_NE(p, nullptr) << error;
    return p;
  }

  void SetUp() override {
    berth_ = StartBerth(BaseEnv());
    ASSERT_NE(berth_, nullptr);
  }

  // Creates a user and returns {id, token}.
  std::pair<std::string, std::string> CreateUser(const std::string& name) {
    auto r = berth_->Post("/api/admin/users", nlohmann::json{{"name", name}}.dump(), kAdminToken);
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = r.Json();
    return {j["user"]["id"].get<std::string>(), j["token"].get<std::string>()};
  }

  static std::string ErrorCode(const HttpResult& r) {
    auto j = r.Json();
    if (!j.is_object() || !j.contains("error")) return "<no error object: " + r.body + ">";
    EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
    return j["error"]["code"].get<std::string>();
  }
  static std::string ErrorMessage(const HttpResult& r) {
    auto j = r.Json();
    if (!j.is_object() || !j.contains("error")) return "";
    return j["error"]["message"].get<std::string>();
  }

  TempDir dir_;
  // The store every berth of the test uses; empty: SQLite in the data dir (berth's default).
  std::string database_url_;
  std::unique_ptr<BerthProcess> berth_;
};

enum class E2eStore { kSqlite, kPostgres };

inline void PrintTo(E2eStore store, std::ostream* os) {
  *os << (store == E2eStore::kSqlite ? "sqlite" : "postgres");
}
inline std::string E2eStoreName(const ::testing::TestParamInfo<E2eStore>& info) {
  return info.param == E2eStore::kSqlite ? "sqlite" : "postgres";
}

// BerthE2eTest on the store its parameter names, with the same assertions on each: SQLite in the
// data dir, or a fresh database of the test process's throwaway PostgreSQL cluster
// (tests/support/postgres_test_cluster.hpp), dropped after the test's berths are gone.
class BerthStoreE2eTest : public BerthE2eTest, public ::testing::WithParamInterface<E2eStore> {
 protected:
  void SetUp() override {
    if (GetParam() == E2eStore::kPostgres) {
      std::string error;
      PostgresTestCluster* cluster = PostgresTestCluster::Shared(&error);
      ASSERT_NE(cluster, nullptr) << "cannot start PostgreSQL: " << error;
      database_ = std::make_unique<PostgresTestDatabase>(cluster, &error);
      ASSERT_FALSE(database_->name().empty()) << "cannot create a database: " << error;
      database_url_ = database_->Url();
    }
    BerthE2eTest::SetUp();
    if (HasFatalFailure()) return;
    if (GetParam() == E2eStore::kPostgres) {  // it runs where the test name says
      ASSERT_NE(berth_->Stderr().find("postgres: using"), std::string::npos) << berth_->Stderr();
    }
  }
  void TearDown() override { berth_.reset(); }  // before its database is dropped

  std::unique_ptr<PostgresTestDatabase> database_;
};

}  // namespace berth::testing

// Runs every TEST_P of `suite` against a berth on SQLite and on PostgreSQL; the test names end in
// /sqlite and /postgres.
#define BERTH_E2E_ON_EVERY_STORE(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Stores, suite,                                            \
                           ::testing::Values(::berth::testing::E2eStore::kSqlite,    \
                                             ::berth::testing::E2eStore::kPostgres), \
                           ::berth::testing::E2eStoreName)
