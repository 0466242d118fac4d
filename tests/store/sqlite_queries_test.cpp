#include "store/sqlite_queries.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite_store.hpp"
#include "store/store_fixtures.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using namespace ::berth::store::testing;  // NOLINT: test helpers
namespace q = sqlite_queries;

// The "detail" column of EXPLAIN QUERY PLAN, one entry per plan step.
std::vector<std::string> Plan(const std::string& path, const std::string& sql) {
  std::vector<std::string> steps;
  for (const auto& row : RawQuery(path, "EXPLAIN QUERY PLAN " + sql)) steps.push_back(row.back());
  return steps;
}

// A step that reads a whole table or index ("SCAN CONSTANT ROW" is SELECT without FROM).
bool IsScan(const std::string& step) {
  return step.starts_with("SCAN") && step != "SCAN CONSTANT ROW";
}

std::string Join(const std::vector<std::string>& steps) {
  std::string out;
  for (const std::string& s : steps) out += "\n  " + s;
  return out;
}

class SqliteStoreQueryPlanTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(SqliteStore::Open(path_)); }

  berth::testing::TempDir dir_;
  std::string path_ = dir_.File("berth.db");
};

// The lookups made on every request of the internal endpoint (and of API authentication) must
// be index searches: no table scan and no sort, whatever the table size.
TEST_F(SqliteStoreQueryPlanTest, HotPathLookupsAreIndexSearches) {
  for (const char* sql :
       {q::kFindAgentConfigSource, q::kGetUserContainer, q::kGetUserContainerByUser,
        q::kGetAgentConfig, q::kListActiveProviders, q::kFindApiTokenByHash, q::kGetUser,
        q::kGetProvider, q::kGetSystemContainer, q::kHasAdminToken}) {
    const std::vector<std::string> plan = Plan(path_, sql);
    ASSERT_FALSE(plan.empty()) << sql;
    bool searched = false;
    for (const std::string& step : plan) {
      EXPECT_FALSE(IsScan(step)) << sql << Join(plan);
      EXPECT_EQ(step.find("TEMP B-TREE"), std::string::npos) << sql << Join(plan);
      if (step.starts_with("SEARCH")) searched = true;
    }
    EXPECT_TRUE(searched) << sql << Join(plan);
  }
}

TEST_F(SqliteStoreQueryPlanTest, OrderedListsNeedNoSort) {
  for (const char* sql : {q::kListUsers, q::kListUserContainers, q::kListActiveProviders}) {
    const std::vector<std::string> plan = Plan(path_, sql);
    for (const std::string& step : plan) {
      EXPECT_EQ(step.find("TEMP B-TREE"), std::string::npos) << sql << Join(plan);
    }
  }
}

TEST_F(SqliteStoreQueryPlanTest, WritesByKeyAreIndexSearches) {
  for (const char* sql : {q::kUpdateProvider, q::kDeleteProvider, q::kUpdateUserContainer,
                          q::kUpdateSystemContainer, q::kSetUserContainerIdleTimeout,
                          q::kDeleteSystemContainer, q::kDeleteUser, q::kReplaceProviderApiKey,
                          q::kReplaceUserContainerToken, q::kReplaceSystemContainerToken}) {
    const std::vector<std::string> plan = Plan(path_, sql);
    for (const std::string& step : plan) {
      EXPECT_FALSE(IsScan(step)) << sql << Join(plan);
    }
  }
}

}  // namespace
}  // namespace berth::store
