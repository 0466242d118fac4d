// Whole-database copies between backends (`berth db copy`): SQLite to PostgreSQL and back.
#include "store/store_copy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite_store.hpp"
#include "store/store_backends.hpp"
#include "store/store_fixtures.hpp"
#include "support/postgres_test_cluster.hpp"
#include "support/temp_dir.hpp"

namespace berth::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace ::berth::store::testing;  // NOLINT: test helpers

using Direction = std::pair<Backend, Backend>;

std::string DirectionName(const ::testing::TestParamInfo<Direction>& info) {
  auto name = [](Backend b) { return b == Backend::kSqlite ? "sqlite" : "postgres"; };
  return std::string(name(info.param.first)) + "_to_" + name(info.param.second);
}

// Every kind of record, with NULLs and set optionals, equal creation times (the insertion
// order tiebreak must survive) and secrets that are not valid sealed values (copied as they are).
void Populate(Store& s) {
  ASSERT_OK(s.CreateUser(MakeUser("zeta", 1000)));
  User bare = MakeUser("alpha", 1000);
  bare.email.reset();
  ASSERT_OK(s.CreateUser(bare));
  ASSERT_OK(s.CreateUser(MakeUser("old", 10)));
  ApiToken token = MakeUserToken("t1", "zeta", "hash-t1");
  token.prefix = "bu_Abcd";
  ASSERT_OK(s.CreateApiToken(token));
  ASSERT_OK(s.CreateApiToken(MakeUserToken("t2", "alpha", "hash-t2")));
  ASSERT_OK(s.CreateApiToken(MakeAdminToken("t3", "hash-t3")));
  ASSERT_OK(s.RecordTokenUse({{"t1", 123456}}));
  LlmProvider legacy = MakeProvider("p1", "zeta", "work");
  legacy.api_key = "sk-imported 'plain' \"key\" \\ ключ 🔑";
  ASSERT_OK(s.CreateProvider(legacy));
  LlmProvider off = MakeProvider("p2", "zeta", "off");
  off.is_active = false;
  off.api_key.reset();
  off.display_name.reset();
  ASSERT_OK(s.CreateProvider(off));
  ASSERT_OK(s.CreateProvider(MakeProvider("p3", "alpha", "work")));
  ASSERT_OK(s.UpsertAgentConfig({"zeta", "work/gpt-4o-mini", 5, 6}));
  ASSERT_OK(s.UpsertAgentConfig({"alpha", std::nullopt, 7, 8}));
  ASSERT_OK(s.CreateUserContainer(MakeUserContainer("c1", "zeta", "ctr-1")));
  UserContainer minimal;
  minimal.id = "c2";
  minimal.user_id = "alpha";
  minimal.container_name = "mosaic-user-alpha";
  minimal.gateway_token = "enc:v1:k1:AAAA";
  minimal.token_hash = "ctr-2";
  ASSERT_OK(s.CreateUserContainer(minimal));
  ASSERT_OK(s.CreateSystemContainer(MakeSystemContainer("s1", "indexer", "ctr-3")));
  ASSERT_OK(s.PinAgentNode(ContainerKind::kUser, "c1", "node-id-1", "worker-1"));
  ASSERT_OK(s.PinAgentNode(ContainerKind::kSystem, "s1", "node-id-2", "worker-2"));
  // What agents used through the LLM gateway, the limits on it, a budget window mid-day and
  // the log of recent calls: a moved installation keeps its users' spend.
  ASSERT_OK(
      s.AddUsage({UsageRow{"zeta", "work", "gpt-4o", "2026-12-07", 3, 300, 30, 5, 0, 2, 12345, 0},
                  UsageRow{"alpha", "work", "local", "2026-12-06", 1, 9, 1, 0, 0, 0, 0, 1}}));
  ASSERT_OK(s.SetLlmLimits(
      {"zeta", 5'000'000'000, std::nullopt, std::nullopt, 1'000'000, 60, std::nullopt, 77}));
  auto reserved = s.ReserveBudget(
      "zeta", {BudgetWindow{"d:2026-12-07", 5'000'000'000, std::nullopt, std::nullopt, 99999}},
      {400, 40, 1});
  ASSERT_OK(reserved);
  ASSERT_OK(s.SettleBudget("zeta", {"d:2026-12-07"}, {400, 40, 0}, {300, 35, 0}));
  LlmRequestLogEntry call{0,   "zeta", 1765000000000, "work", "gpt-4o", "openai-completions",
                          200, "ok",   300,           30,     5,        0,
                          2,   12345,  true,          812};
  LlmRequestLogEntry refused = call;
  refused.status = 429;
  refused.outcome = "refused";
  ASSERT_OK(s.AddRequestLog({call, refused}));
}

class StoreCopyTest : public ::testing::TestWithParam<Direction> {
 protected:
  void SetUp() override {
    auto from = from_dbs_.Open(from_dbs_.NewUrl());
    ASSERT_OK(from);
    from_ = *from;
    auto to = to_dbs_.Open(to_dbs_.NewUrl());
    ASSERT_OK(to);
    to_ = *to;
  }

  BackendDatabases from_dbs_{GetParam().first};
  BackendDatabases to_dbs_{GetParam().second};
  SnapshotStorePtr from_;
  SnapshotStorePtr to_;
};

TEST_P(StoreCopyTest, CopiesEveryRecordByteForByteAndTheInstanceId) {
  Populate(*from_);
  auto report = CopyStore(*from_, *to_);
  ASSERT_OK(report);
  EXPECT_EQ(report->outcome, CopyReport::Outcome::kCopied);
  EXPECT_EQ(report->counts.ToString(),
            "3 users, 3 api tokens, 3 providers, 2 agent configs, 2 user containers, "
            "1 system containers, 2 usage rows, 1 limits, 1 budget windows, 2 logged requests");

  auto source = from_->ReadSnapshot();
  auto copy = to_->ReadSnapshot();
  ASSERT_OK(source);
  ASSERT_OK(copy);
  EXPECT_EQ(copy->instance_id, source->instance_id);
  EXPECT_EQ(*to_->InstanceId(), *from_->InstanceId());
  EXPECT_EQ(copy->users, source->users);
  EXPECT_EQ(copy->api_tokens, source->api_tokens);
  EXPECT_EQ(copy->providers, source->providers);
  EXPECT_EQ(copy->agent_configs, source->agent_configs);
  EXPECT_EQ(copy->user_containers, source->user_containers);
  EXPECT_EQ(copy->system_containers, source->system_containers);
  EXPECT_EQ(copy->usage, source->usage);
  EXPECT_EQ(copy->limits, source->limits);
  EXPECT_EQ(copy->budgets, source->budgets);
  ASSERT_EQ(copy->budgets.size(), 1u);
  EXPECT_EQ(copy->budgets[0].spent_nano_usd, 300);
  EXPECT_EQ(copy->request_log, source->request_log);

  // Through the Store API as berth will use it: order, secrets and lookups as before.
  EXPECT_THAT(Ids(*to_->ListUsers()), ElementsAre("old", "zeta", "alpha"));
  EXPECT_EQ(to_->GetProvider("zeta", "p1")->api_key, "sk-imported 'plain' \"key\" \\ ключ 🔑");
  EXPECT_EQ(to_->GetApiToken("t1")->last_used_at, 123456);
  EXPECT_EQ(to_->GetUserContainer("c1")->node_name, "worker-1") << "the agent's state is there";
  EXPECT_EQ(to_->GetSystemContainer("s1")->node_id, "node-id-2");
  EXPECT_EQ(to_->GetUserContainer("c2")->node_id, std::nullopt);
  EXPECT_EQ(to_->ListSecrets()->size(), from_->ListSecrets()->size());
  auto source_config = to_->LoadAgentConfigSource("ctr-1");
  ASSERT_OK(source_config);
  EXPECT_EQ(source_config->primary_model, "work/gpt-4o-mini");
  EXPECT_THAT(Ids(source_config->active_providers), ElementsAre("p1"));
  EXPECT_EQ(to_->GetLlmLimits("zeta")->value().requests_per_minute, 60);
  auto usage = to_->ListUsage({"zeta", "2026-12-01", "2026-12-31"});
  ASSERT_OK(usage);
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].cost_nano_usd, 12345);
  // The copy is a working database: writes go on from where the source stopped.
  EXPECT_CODE(to_->CreateUser(MakeUser("zeta")), kAlreadyExists);
  EXPECT_OK(to_->CreateUser(MakeUser("new")));
  // New log entries come after the copied ones (PostgreSQL's identity was moved past them).
  LlmRequestLogEntry later = source->request_log.back();
  later.outcome = "later";
  ASSERT_OK(to_->AddRequestLog({later}));
  auto log = to_->ListRequestLog(std::string("zeta"), 10);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].outcome, "later");
  EXPECT_GT((*log)[0].id, (*log)[1].id);
}

TEST_P(StoreCopyTest, RunningItAgainChangesNothing) {
  Populate(*from_);
  ASSERT_OK(CopyStore(*from_, *to_));
  auto first = to_->ReadSnapshot();
  auto again = CopyStore(*from_, *to_);
  ASSERT_OK(again);
  EXPECT_EQ(again->outcome, CopyReport::Outcome::kAlreadyCopied);
  auto second = to_->ReadSnapshot();
  ASSERT_OK(second);
  EXPECT_EQ(second->users, first->users);
  EXPECT_EQ(second->api_tokens.size(), 3u);
}

TEST_P(StoreCopyTest, ATargetHoldingOtherRecordsIsRefusedUnlessForced) {
  Populate(*from_);
  ASSERT_OK(to_->CreateUser(MakeUser("someone-else")));
  auto refused = CopyStore(*from_, *to_);
  EXPECT_CODE(refused, kAlreadyExists);
  EXPECT_THAT(refused.status().message(), HasSubstr("not empty (1 users, 0 api tokens"));
  EXPECT_THAT(Ids(*to_->ListUsers()), ElementsAre("someone-else"));

  auto forced = CopyStore(*from_, *to_, {.force = true});
  ASSERT_OK(forced);
  EXPECT_EQ(forced->outcome, CopyReport::Outcome::kReplaced);
  EXPECT_EQ(to_->ReadSnapshot()->users, from_->ReadSnapshot()->users);
  EXPECT_CODE(to_->GetUser("someone-else"), kNotFound);
}

TEST_P(StoreCopyTest, AWriteThatFailsHalfwayLeavesTheTargetEmpty) {
  Populate(*from_);
  auto snapshot = from_->ReadSnapshot();
  ASSERT_OK(snapshot);
  snapshot->system_containers.push_back(MakeSystemContainer("s2", "clash", "ctr-1"));
  EXPECT_CODE(to_->WriteSnapshot(*snapshot, /*replace=*/false), kAlreadyExists);
  auto after = to_->ReadSnapshot();
  ASSERT_OK(after);
  EXPECT_EQ(TableCounts::Of(*after).total(), 0u);
  EXPECT_NE(after->instance_id, snapshot->instance_id);
  // So the copy can simply be run again.
  EXPECT_OK(CopyStore(*from_, *to_));
}

INSTANTIATE_TEST_SUITE_P(Directions, StoreCopyTest,
                         ::testing::Values(Direction{Backend::kSqlite, Backend::kPostgres},
                                           Direction{Backend::kPostgres, Backend::kSqlite},
                                           Direction{Backend::kPostgres, Backend::kPostgres}),
                         DirectionName);

// PostgreSQL's lock table is shared by all sessions and small: max_locks_per_transaction x
// ~(max_connections + 22) entries, plus what spare shared memory lends it. A copy is one
// transaction, so it must not hold a lock per row: on this server (~320 entries) a lock per
// container failed with 53200 "out of shared memory" at ~600 containers, 5 times fewer than here.
TEST(StoreCopyLockTable, ThousandsOfContainersCopyIntoAServerWithASmallLockTable) {
  std::string error;
  auto cluster = berth::testing::PostgresTestCluster::Start(
      &error, {"max_locks_per_transaction=10", "max_connections=10"});
  ASSERT_NE(cluster, nullptr) << error;
  berth::testing::PostgresTestDatabase db(cluster.get(), &error);
  ASSERT_FALSE(db.name().empty()) << error;
  berth::testing::TempDir dir;
  auto from = SqliteStore::Open(dir.File("berth.db"));
  ASSERT_OK(from);
  auto to = OpenSnapshotStore(db.Url());
  ASSERT_OK(to);

  constexpr int kUserContainers = 2000;
  constexpr int kSystemContainers = 1000;
  StoreSnapshot source;
  source.instance_id = "0123456789abcdef0123456789abcdef";
  for (int i = 0; i < kUserContainers; ++i) {
    const std::string n = std::to_string(i);
    source.users.push_back(MakeUser("u" + n, 1000 + i));
    source.user_containers.push_back(MakeUserContainer("c" + n, "u" + n, "uh" + n, 1000 + i));
  }
  for (int i = 0; i < kSystemContainers; ++i) {
    const std::string n = std::to_string(i);
    source.system_containers.push_back(MakeSystemContainer("s" + n, "sys" + n, "sh" + n, 1000 + i));
  }
  ASSERT_OK((*from)->WriteSnapshot(source, /*replace=*/false));

  auto report = CopyStore(**from, **to);
  ASSERT_OK(report);
  EXPECT_EQ(report->outcome, CopyReport::Outcome::kCopied);
  EXPECT_EQ(report->counts, TableCounts::Of(source));
  EXPECT_EQ(cluster->Query(db.name(),
                           "SELECT (SELECT COUNT(*) FROM users), "
                           "(SELECT COUNT(*) FROM user_containers), "
                           "(SELECT COUNT(*) FROM system_containers)"),
            (std::vector<std::vector<std::string>>{{std::to_string(kUserContainers),
                                                    std::to_string(kUserContainers),
                                                    std::to_string(kSystemContainers)}}));
  // The bulk path is the copy's alone: ordinary writes still keep a token hash to one
  // container across both tables.
  EXPECT_CODE((*to)->CreateSystemContainer(MakeSystemContainer("s-new", "new", "uh7")),
              kAlreadyExists);
  ASSERT_OK((*to)->CreateUser(MakeUser("u-new")));
  auto clash = (*to)->CreateUserContainer(MakeUserContainer("c-new", "u-new", "sh7"));
  EXPECT_CODE(clash, kAlreadyExists);
  EXPECT_EQ(clash.message(), "container token hash already exists");
  EXPECT_OK((*to)->CreateUserContainer(MakeUserContainer("c-new", "u-new", "fresh")));
}

}  // namespace
}  // namespace berth::store
