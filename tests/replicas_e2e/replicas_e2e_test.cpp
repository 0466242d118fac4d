// Several berth replicas on one PostgreSQL and one engine (issue: no single point of failure):
// one start per agent across replicas, takeover of a dead replica's start, a new leader after
// the old one dies, and changes on one replica taking effect on the others.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "replicas_e2e/replicas_fixture.hpp"
#include "store/store.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

double SecondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

bool Running(const std::vector<docker::ContainerListEntry>& containers) {
  return containers.size() == 1 && containers[0].state == "running";
}

TEST_F(ReplicasE2eTest, SixtyConcurrentStartsOverThreeReplicasMakeOneContainerStartedOnce) {
  StartReplicas();
  ASSERT_FALSE(HasFatalFailure());
  berth_ = nullptr;
  auto created = Replica(0).Post("/api/admin/users", R"({"name":"many"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string user = created.Json()["user"]["id"];
  const std::string token = created.Json()["token"];

  std::vector<std::future<HttpResult>> calls;
  for (int i = 0; i < 60; ++i) {
    calls.push_back(std::async(std::launch::async, [this, i, &token] {
      return Replica(i % 3).Post("/api/agent/start", "", token);
    }));
  }
  std::set<std::string> names;
  for (auto& call : calls) {
    HttpResult r = call.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["status"], "running") << r.body;
    names.insert(r.Json()["containerName"].get<std::string>());
  }
  EXPECT_EQ(names.size(), 1u);  // every caller the same answer
  auto containers = ContainersOf(user);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].state, "running");
  EXPECT_EQ(EngineEvents("create"), 1);
  EXPECT_EQ(EngineEvents("start"), 1);
  // Whichever replica answers next finds it warm or verifies it; none starts another.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Replica(i).Post("/api/agent/start", "", token).status, 200);
  }
  EXPECT_EQ(EngineEvents("start"), 1);
}

TEST_F(ReplicasE2eTest, AStartWhoseReplicaIsKilledIsCompletedByAnotherAfterTheLease) {
  // An agent slow to get ready, so the start is surely in flight when its replica dies.
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("slow", {"BERTH_TEST_AGENT_READY_DELAY_MS=6000"});
  StartReplicas();
  ASSERT_FALSE(HasFatalFailure());
  berth_ = nullptr;
  auto created = Replica(2).Post("/api/admin/users", R"({"name":"orphan"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string user = created.Json()["user"]["id"];
  const std::string token = created.Json()["token"];

  auto doomed = std::async(std::launch::async,
                           [&] { return Replica(0).Post("/api/agent/start", "", token); });
  ASSERT_TRUE(Eventually([&] { return ContainersOf(user).size() == 1; }, 20s));
  KillReplica(0);
  (void)doomed.get();  // its connection died with it
  const auto killed = Steady::now();

  HttpResult r = Replica(1).Post("/api/agent/start", "", token);
  const double took = SecondsSince(killed);
  ASSERT_EQ(r.status, 200) << r.body << "\n" << Replica(1).Stderr();
  EXPECT_EQ(r.Json()["status"], "running");
  auto containers = ContainersOf(user);
  EXPECT_TRUE(Running(containers)) << containers.size();  // no orphan, no duplicate
  EXPECT_EQ(EngineEvents("create"), 1);  // the dead replica's container was taken over
  // The lease (2 s) had to expire; readiness of the slow agent adds up to 6 s.
  EXPECT_GE(took, 0.5);
  std::printf("[ measure  ] start-lease takeover: the start completed %.2f s after the kill\n",
              took);
}

TEST_F(ReplicasE2eTest, WhenTheLeaderIsKilledAnotherReplicaReapsWithinTwoLeasePeriods) {
  env_["BERTH_REAP_INTERVAL"] = "1";
  StartReplicas();
  ASSERT_FALSE(HasFatalFailure());
  berth_ = nullptr;
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  // The leader starts the agent, so that the replicas left know of it only from the store.
  const int starter = leader;
  auto created = Replica(starter).Post("/api/admin/users", R"({"name":"idle"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string user = created.Json()["user"]["id"];
  const std::string token = created.Json()["token"];
  ASSERT_EQ(Replica(starter).Post("/api/agent/start", "", token).status, 200);
  std::this_thread::sleep_for(6s);  // the starter's activity flush (every 5 s) has happened

  // Idle for ten minutes with a one-minute timeout, as the store tells every replica.
  auto store = store::OpenStore(DatabaseUrl());
  ASSERT_TRUE(store.ok());
  auto record = (*store)->GetUserContainerByUser(user);
  ASSERT_TRUE(record.ok());
  record->idle_timeout_min = 1;
  record->last_active_at = record->last_active_at.value_or(0) - 10 * 60'000;
  ASSERT_TRUE((*store)->UpdateUserContainer(*record).ok());

  KillReplica(leader);
  const auto killed = Steady::now();
  ASSERT_TRUE(Eventually([&] { return !Running(ContainersOf(user)); }, 40s));
  const double took = SecondsSince(killed);
  const int next = Leader();
  EXPECT_GE(next, 0);
  EXPECT_NE(next, leader);
  // Takeover within 2 lease periods, then one reap interval and the stop itself.
  EXPECT_LT(took, 2 * kLeaseMs / 1000.0 + 1 + 10);
  std::printf("[ measure  ] leader failover: idle agent reaped %.2f s after the leader's kill\n",
              took);
}

TEST_F(ReplicasE2eTest, AProviderChangeOnOneReplicaReachesAnAgentAnotherStarted) {
  StartReplicas();
  ASSERT_FALSE(HasFatalFailure());
  berth_ = nullptr;
  auto created = Replica(0).Post("/api/admin/users", R"({"name":"push"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string user = created.Json()["user"]["id"];
  const std::string token = created.Json()["token"];
  ASSERT_EQ(Replica(1).Post("/api/agent/start", "", token).status, 200);
  auto containers = ContainersOf(user);
  ASSERT_EQ(containers.size(), 1u);

  auto added = Replica(0).Post("/api/providers",
                               json{{"name", "pushed-provider"},
                                    {"type", "custom"},
                                    {"baseUrl", "http://llm.test/v1"},
                                    {"apiKey", "sk-replica-push"},
                                    {"models", {"m1"}}}
                                   .dump(),
                               token);
  ASSERT_EQ(added.status, 201) << added.body;
  std::string config;
  EXPECT_TRUE(Eventually(
      [&] {
        Exec(containers[0].id, "cat /home/node/.openclaw/openclaw.json", &config);
        return config.find("pushed-provider") != std::string::npos;
      },
      10s))
      << config;
}

TEST_F(ReplicasE2eTest, AUserDeletedOnOneReplicaIsRefusedByAnotherWithinASecond) {
  StartReplicas(2);
  ASSERT_FALSE(HasFatalFailure());
  berth_ = nullptr;
  auto created = Replica(0).Post("/api/admin/users", R"({"name":"gone"})", kAdminToken);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string user = created.Json()["user"]["id"];
  const std::string token = created.Json()["token"];
  auto extra = Replica(0).Post("/api/admin/users/" + user + "/tokens", "", kAdminToken);
  ASSERT_EQ(extra.status, 201) << extra.body;
  const std::string second = extra.Json()["token"];
  auto listed = Replica(0).Get("/api/admin/users/" + user + "/tokens", kAdminToken);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const std::string second_id = listed.Json()["tokens"].back()["id"];  // oldest first
  // Replica 1 resolves both tokens and caches them (BERTH_TOKEN_CACHE_MS=60000).
  ASSERT_EQ(Replica(1).Get("/api/me", token).status, 200);
  ASSERT_EQ(Replica(1).Get("/api/me", second).status, 200);

  auto revoke = Replica(0).Delete("/api/admin/users/" + user + "/tokens/" + second_id, kAdminToken);
  ASSERT_LT(revoke.status, 300) << revoke.body;
  auto revoked = Steady::now();
  EXPECT_TRUE(Eventually([&] { return Replica(1).Get("/api/me", second).status == 401; }, 5s));
  const double revoke_took = SecondsSince(revoked);
  EXPECT_LT(revoke_took, 1.0);
  EXPECT_EQ(Replica(1).Get("/api/me", token).status, 200);  // the other token still serves

  auto removed = Replica(0).Delete("/api/admin/users/" + user, kAdminToken);
  ASSERT_LT(removed.status, 300) << removed.body;
  auto deleted = Steady::now();
  EXPECT_TRUE(Eventually([&] { return Replica(1).Get("/api/me", token).status == 401; }, 5s));
  const double delete_took = SecondsSince(deleted);
  EXPECT_LT(delete_took, 1.0);
  std::printf("[ measure  ] changes across replicas: token revoked %.3f s, user deleted %.3f s\n",
              revoke_took, delete_took);
}

}  // namespace
}  // namespace berth::testing
