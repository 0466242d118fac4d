#include "store/database_url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store_fixtures.hpp"

namespace berth::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DatabaseUrl, SqliteKeepsThePathVerbatim) {
  auto url = ParseDatabaseUrl("SQLite:///var/lib/berth/berth.db");
  ASSERT_OK(url);
  EXPECT_EQ(url->kind, DatabaseUrl::Kind::kSqlite);
  EXPECT_EQ(url->sqlite_path, "/var/lib/berth/berth.db");
  EXPECT_EQ(ParseDatabaseUrl("sqlite://data/berth.db")->sqlite_path, "data/berth.db");
}

TEST(DatabaseUrl, PostgresPassesLibpqParametersAndTakesBerthsOwn) {
  auto url = ParseDatabaseUrl(
      "postgres://berth:s3cret@db.example:5433/berth?sslmode=verify-full&pool_max_conns=25&"
      "application_name=x&query_timeout_ms=2500");
  ASSERT_OK(url);
  EXPECT_EQ(url->kind, DatabaseUrl::Kind::kPostgres);
  EXPECT_EQ(url->postgres_conninfo,
            "postgresql://berth:s3cret@db.example:5433/berth?sslmode=verify-full&"
            "application_name=x");
  EXPECT_EQ(url->pool_max_conns, 25u);
  EXPECT_EQ(url->query_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(url->display,
            "postgres://berth:***@db.example:5433/berth?sslmode=verify-full&pool_max_conns=25&"
            "application_name=x&query_timeout_ms=2500");

  auto plain = ParseDatabaseUrl("postgresql://localhost/berth");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->postgres_conninfo, "postgresql://localhost/berth");
  EXPECT_EQ(plain->pool_max_conns, 10u);
  EXPECT_EQ(plain->query_timeout, std::chrono::milliseconds(10000));
}

TEST(DatabaseUrl, BadBerthParametersAndSslModesAreRefusedWithoutEchoingTheUrl) {
  for (const std::string bad :
       {"postgres://u:hunter2@h/db?pool_max_conns=0", "postgres://u:hunter2@h/db?pool_max_conns=x",
        "postgres://u:hunter2@h/db?query_timeout_ms=5",
        "postgres://u:hunter2@h/db?sslmode=maybe"}) {
    auto url = ParseDatabaseUrl(bad);
    EXPECT_CODE(url, kInvalidArgument);
    EXPECT_THAT(url.status().message(), HasSubstr("BERTH_DATABASE_URL")) << bad;
    EXPECT_THAT(url.status().message(), Not(HasSubstr("hunter2"))) << bad;
  }
}

TEST(DatabaseUrl, MaskHidesEveryFormOfPassword) {
  EXPECT_EQ(MaskDatabaseUrl("postgres://u:p@h:5432/db"), "postgres://u:***@h:5432/db");
  EXPECT_EQ(MaskDatabaseUrl("postgres://u:p/w@rd@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(MaskDatabaseUrl("postgres://u@h/db?password=p&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=require");
  EXPECT_EQ(MaskDatabaseUrl("postgres://h/db?sslmode=disable&password=p"),
            "postgres://h/db?sslmode=disable&password=***");
  EXPECT_EQ(MaskDatabaseUrl("postgres://u@h/db"), "postgres://u@h/db");
  EXPECT_EQ(MaskDatabaseUrl("sqlite:///var/lib/berth.db"), "sqlite:///var/lib/berth.db");
}

}  // namespace
}  // namespace berth::store
