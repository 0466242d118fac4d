#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "lifecycle_e2e/lifecycle_fixture.hpp"

// berth runs agents on the real Docker engine with the project's test agent image, driven over
// its HTTP API as an operator and users would.
namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string EnvOf(const docker::ContainerDetails& c, const std::string& name) {
  for (const auto& e : c.env) {
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  }
  return "";
}

TEST_F(LifecycleE2eTest, StartStopRestartAndRecreateOnTheRealEngine) {
  StartBerth();
  auto ready = berth_->Get("/api/ready");
  EXPECT_EQ(ready.Json()["checks"]["engine"], "ok") << ready.body;
  auto [user_id, token] = CreateUser("alice");
  // A provider key that must never reach the container's env.
  const std::string secret = "sk-e2e-never-in-env-0123456789";
  auto provider = berth_->Post(
      "/api/providers",
      json{{"name", "openai"}, {"type", "openai"}, {"apiKey", secret}, {"models", {"gpt-4o-mini"}}}
          .dump(),
      token);
  ASSERT_EQ(provider.status, 201) << provider.body;

  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "stopped");
  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body << berth_->Stderr();
  EXPECT_EQ(started.Json()["status"], "running");
  EXPECT_EQ(started.Json()["containerName"], "mosaic-user-" + user_id);

  auto containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  const std::string first_id = containers[0].id;
  auto details = client().InspectContainer(first_id);
  ASSERT_TRUE(details.ok());
  EXPECT_TRUE(details->running);
  // Seed env and hardening, as the engine applied them.
  EXPECT_FALSE(EnvOf(*details, "AGENT_TOKEN").empty());
  EXPECT_FALSE(EnvOf(*details, "AGENT_ID").empty());
  EXPECT_NE(EnvOf(*details, "MOSAIC_API_URL").find("/api"), std::string::npos);
  EXPECT_TRUE(details->init);
  EXPECT_EQ(details->memory, 64 << 20);
  EXPECT_EQ(details->memory_swap, 64 << 20);
  EXPECT_GT(details->pids_limit, 0);
  EXPECT_GT(details->nano_cpus, 0);
  EXPECT_EQ(details->cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(details->security_opt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_EQ(details->restart_policy, "no");
  ASSERT_EQ(details->mounts.size(), 1u);
  EXPECT_EQ(details->mounts[0].name, "mosaic-user-" + user_id + "-state");
  EXPECT_EQ(details->mounts[0].destination, "/home/node/.openclaw");
  // No provider key anywhere in what the engine knows about the container.
  for (const auto& e : details->env) EXPECT_EQ(e.find(secret), std::string::npos) << e;
  for (const auto& [k, v] : details->labels) EXPECT_EQ(v.find(secret), std::string::npos) << k;

  // Stop, then start again: the same container, started, not recreated.
  auto stopped = berth_->Post("/api/agent/stop", "", token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.Json()["status"], "stopped");
  EXPECT_FALSE(client().InspectContainer(first_id)->running);
  ASSERT_EQ(StartAgent(token).status, 200);
  containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].id, first_id);

  auto restarted = berth_->Post("/api/agent/restart", "", token);
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  EXPECT_EQ(restarted.Json()["status"], "running");
  EXPECT_EQ(ContainersOf(user_id).size(), 1u);

  // A changed image recreates the container; the state volume survives.
  std::string marker;
  ASSERT_EQ(Exec(first_id, "echo kept > /home/node/.openclaw/marker", &marker), 0) << marker;
  berth_->Stop(SIGTERM, 30);
  env_["OPENCLAW_IMAGE"] = TestAgentImages::Get().Variant("second", {"BERTH_TEST_AGENT_TAG=2"});
  StartBerth();
  ASSERT_EQ(StartAgent(token).status, 200);
  containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_NE(containers[0].id, first_id);
  EXPECT_EQ(containers[0].image, env_["OPENCLAW_IMAGE"]);
  std::string kept;
  EXPECT_EQ(Exec(containers[0].id, "cat /home/node/.openclaw/marker", &kept), 0);
  EXPECT_EQ(kept, "kept\n");
}

TEST_F(LifecycleE2eTest, HundredConcurrentStartsMakeOneContainerAndOneStart) {
  StartBerth();
  auto [user_id, token] = CreateUser("busy");
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    callers.emplace_back([&, t = token] {
      if (berth_->Post("/api/agent/start", "", t).status == 200) ++ok;
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok, 100);
  auto containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  // One start: the engine started the container once.
  auto details = client().InspectContainer(containers[0].id);
  ASSERT_TRUE(details.ok());
  std::string log = berth_->Stderr();
  std::size_t readies = 0;
  for (std::size_t at = log.find("is ready"); at != std::string::npos;
       at = log.find("is ready", at + 1)) {
    ++readies;
  }
  EXPECT_EQ(readies, 1u) << log;
}

TEST_F(LifecycleE2eTest, StartsBeyondTheCapGet429WithRetryAfter) {
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("slow", {"BERTH_TEST_AGENT_READY_DELAY_MS=4000"});
  env_["BERTH_MAX_CONCURRENT_STARTS"] = "1";
  StartBerth();
  auto [first, first_token] = CreateUser("first");
  auto [second, second_token] = CreateUser("second");
  HttpResult first_start;
  std::thread starter([&, t = first_token] { first_start = StartAgent(t); });
  ASSERT_TRUE(Eventually(
      [&] { return berth_->Get("/api/agent", first_token).Json()["status"] == "starting"; }));
  auto refused = StartAgent(second_token);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Json()["error"]["code"], "resource_exhausted");
  EXPECT_FALSE(refused.headers["retry-after"].empty());
  starter.join();
  EXPECT_EQ(first_start.status, 200) << first_start.body;
  EXPECT_EQ(StartAgent(second_token).status, 200);  // room again
}

TEST_F(LifecycleE2eTest, KillNineMidStartIsReconciledWithoutOrphans) {
  // An agent that takes a while to become ready, so berth can die mid-start.
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("slow", {"BERTH_TEST_AGENT_READY_DELAY_MS=4000"});
  StartBerth();
  auto [user_id, token] = CreateUser("crashy");
  std::thread starter([&, t = token] { (void)berth_->Post("/api/agent/start", "", t); });
  ASSERT_TRUE(Eventually([&] {
    auto c = ContainersOf(user_id);
    return !c.empty() && c[0].state == "running";
  }));
  KillBerth();
  starter.join();

  StartBerth();  // reconciles at start
  auto containers = ContainersOf(user_id);
  ASSERT_LE(containers.size(), 1u);
  auto listed = berth_->Get("/api/admin/containers", kAdminToken);
  ASSERT_EQ(listed.status, 200);
  auto records = listed.Json()["containers"];
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0]["status"], "starting") << listed.body;
  if (!containers.empty()) {
    EXPECT_EQ(records[0]["containerId"], containers[0].id) << "the record must own the container";
  }
  // And the user can use their agent: still one container.
  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(ContainersOf(user_id).size(), 1u);
}

TEST_F(LifecycleE2eTest, ContainerKilledOrRemovedBehindBerthsBackIsNoticedAndRecovered) {
  StartBerth();
  auto [user_id, token] = CreateUser("victim");
  ASSERT_EQ(StartAgent(token).status, 200);
  std::string id = ContainersOf(user_id).at(0).id;

  ASSERT_TRUE(client().KillContainer(id).ok());
  ASSERT_TRUE(Eventually([&] {
    return berth_->Get("/api/agent", token).Json()["status"] == "failed";
  })) << berth_->Get("/api/agent", token).body;
  EXPECT_NE(berth_->Get("/api/agent", token).Json()["error"].get<std::string>().find("137"),
            std::string::npos);
  ASSERT_EQ(StartAgent(token).status, 200);
  EXPECT_TRUE(client().InspectContainer(id)->running);

  ASSERT_TRUE(client().RemoveContainer(id, /*force=*/true).ok());
  ASSERT_TRUE(
      Eventually([&] { return berth_->Get("/api/agent", token).Json()["status"] != "running"; }));
  auto again = StartAgent(token);
  ASSERT_EQ(again.status, 200) << again.body;
  auto containers = ContainersOf(user_id);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_NE(containers[0].id, id);
}

TEST_F(LifecycleE2eTest, EntrypointThatExitsFailsFastWithItsExitCode) {
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("exits", {"BERTH_TEST_AGENT_EXIT_CODE=3"});
  StartBerth();
  auto [user_id, token] = CreateUser("doomed");
  const auto begin = std::chrono::steady_clock::now();
  auto started = StartAgent(token);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(started.status, 503) << started.body;
  EXPECT_LT(took, 15s) << "fail fast, not at the 60 s start timeout";
  auto message = started.Json()["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("exited with code 3"), std::string::npos) << message;
  EXPECT_NE(message.find("last log lines"), std::string::npos) << message;
  auto agent = berth_->Get("/api/agent", token).Json();
  EXPECT_EQ(agent["status"], "failed");
}

TEST_F(LifecycleE2eTest, MemoryLimitKillIsReportedAsOom) {
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("hungry", {"BERTH_TEST_AGENT_ALLOCATE_MB=256"});
  env_["BERTH_AGENT_MEMORY"] = "32m";
  StartBerth();
  auto [user_id, token] = CreateUser("hungry");
  auto started = StartAgent(token);
  EXPECT_EQ(started.status, 503) << started.body;
  auto message = started.Json()["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("OOM-killed"), std::string::npos) << message;
}

TEST_F(LifecycleE2eTest, AgentsCannotReachEachOtherButReachBerth) {
  StartBerth();
  auto [alice, alice_token] = CreateUser("alice");
  auto [bob, bob_token] = CreateUser("bob");
  ASSERT_EQ(StartAgent(alice_token).status, 200);
  ASSERT_EQ(StartAgent(bob_token).status, 200);
  std::string a = ContainersOf(alice).at(0).id;
  auto b = client().InspectContainer(ContainersOf(bob).at(0).id);
  ASSERT_TRUE(b.ok());
  const std::string b_ip = b->network_ips.at(NetworkName());
  ASSERT_FALSE(b_ip.empty());
  std::string url = [&] {
    auto details = client().InspectContainer(a);
    return EnvOf(*details, "MOSAIC_API_URL");
  }();
  // http://<gateway>:<port>/api
  std::string host_port = url.substr(7, url.find("/api") - 7);
  std::string gateway = host_port.substr(0, host_port.find(':'));
  std::string port = host_port.substr(host_port.find(':') + 1);

  std::string out;
  // Positive control: the same probe reaches berth's internal endpoint.
  EXPECT_EQ(Exec(a, "echo | nc -w 3 " + gateway + " " + port, &out), 0) << out;
  // Agent A cannot open a connection to agent B's gateway port.
  EXPECT_NE(Exec(a, "echo | nc -w 3 " + b_ip + " 18789", &out), 0) << out;
}

TEST_F(LifecycleE2eTest, ConfigPushReachesTheRunningAgent) {
  StartBerth();
  auto [user_id, token] = CreateUser("tinkerer");
  ASSERT_EQ(StartAgent(token).status, 200);
  std::string id = ContainersOf(user_id).at(0).id;
  auto created = berth_->Post("/api/providers",
                              json{{"name", "local-llm"},
                                   {"type", "custom"},
                                   {"baseUrl", "http://127.0.0.1:9/v1"},
                                   {"models", {"pushed-model-7"}}}
                                  .dump(),
                              token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string config;
  ASSERT_TRUE(Eventually([&] {
    Exec(id, "cat /home/node/.openclaw/openclaw.json", &config);
    return config.find("pushed-model-7") != std::string::npos;
  })) << config;
  // The agent applied it (its own log says so), without a restart.
  ASSERT_TRUE(Eventually([&] {
    auto logs = client().ContainerLogs(id, 200);
    return logs.ok() && logs->combined.find("config hot reload applied") != std::string::npos;
  }));
  EXPECT_EQ(ContainersOf(user_id).at(0).id, id);
  std::string owner;
  EXPECT_EQ(Exec(id, "stat -c %u:%a /home/node/.openclaw/openclaw.json", &owner), 0);
  EXPECT_EQ(owner, "1000:600\n");
}

TEST_F(LifecycleE2eTest, AdminSeesTheFleetAndSweepsIt) {
  StartBerth();
  auto [user_id, token] = CreateUser("fleet");
  ASSERT_EQ(StartAgent(token).status, 200);
  auto system =
      berth_->Post("/api/admin/system-containers", json{{"name", "indexer"}}.dump(), kAdminToken);
  ASSERT_EQ(system.status, 201) << system.body;
  const std::string system_id = system.Json()["container"]["id"];
  auto started =
      berth_->Post("/api/admin/system-containers/" + system_id + "/start", "", kAdminToken);
  ASSERT_EQ(started.status, 200) << started.body;

  auto listed = berth_->Get("/api/admin/containers", kAdminToken).Json()["containers"];
  ASSERT_EQ(listed.size(), 2u);
  auto health = berth_->Post("/api/admin/health-check", "", kAdminToken);
  ASSERT_EQ(health.status, 200) << health.body;
  auto results = health.Json()["results"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["userId"], user_id);
  EXPECT_EQ(results[0]["healthy"], true);
  // Nothing is idle yet.
  EXPECT_EQ(berth_->Post("/api/admin/reap", "", kAdminToken).Json()["stopped"], json::array());

  auto stopped =
      berth_->Post("/api/admin/system-containers/" + system_id + "/stop", "", kAdminToken);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  // A sweep does not start an admin-stopped system container again.
  ASSERT_EQ(berth_->Post("/api/admin/health-check", "", kAdminToken).status, 200);
  for (const auto& c : berth_->Get("/api/admin/containers", kAdminToken).Json()["containers"]) {
    if (c["kind"] == "system") {
      EXPECT_EQ(c["status"], "stopped");
    }
  }

  // Deleting the user removes their container and volume.
  auto deleted = berth_->Delete("/api/admin/users/" + user_id, kAdminToken);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(ContainersOf(user_id).empty());
  EXPECT_FALSE(client().InspectVolume("mosaic-user-" + user_id + "-state").ok());
}

}  // namespace
}  // namespace berth::testing
