// The fast paths of a first chat on the real three-node swarm. The warm pool (BERTH_WARM_POOL):
// pooled agents, started together, spread over the nodes by memory like any agent; a new user
// takes one (their config pushed into it through its node's engine, their chat answered with
// their own provider) and the pool refills. The pause tier (BERTH_IDLE_PAUSE): an idle agent is
// frozen through its node's engine, shows as paused, and the next chat resumes the same
// container. The real gateway's hand-over is tests/lifecycle_openclaw/warm_pool_openclaw_test.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "swarm_e2e/swarm_fixture.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kReady[] = "berth_warm_pool_agents{state=\"ready\"}";

class SwarmE2eFirstChat : public SwarmE2eTest {
 protected:
  // The value of a sample line of /metrics ("name{labels} value"), or -1.
  double Metric(const std::string& sample) const {
    const std::string text = berth_->Get("/metrics").body;
    const std::size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }
  // This berth's services by id, with the node their task meant to run is on ("" when none).
  std::map<std::string, std::string> Services() const {
    std::map<std::string, std::string> out;
    auto services = manager_->ListServices({{"berth.instance", InstanceId()}});
    if (!services.ok()) return out;
    for (const auto& s : *services) {
      std::string& node = out[s.id];
      auto tasks = manager_->ListTasks({{"service", {s.id}}, {"desired-state", {"running"}}});
      if (tasks.ok() && !tasks->empty()) node = tasks->front().node_id;
    }
    return out;
  }
  // A container's state on its node's engine ("exited 0" with the exit code when it ended).
  std::string EngineState(const std::string& node_id, const std::string& container_id) const {
    auto endpoint = docker::ParseDockerHost(NodeHost(node_id), "", "");
    if (!endpoint.ok()) return endpoint.status().ToString();
    auto client = docker::DockerClient::Create(*endpoint);
    if (!client.ok()) return client.status().ToString();
    auto info = (*client)->InspectContainer(container_id);
    if (!info.ok()) return info.status().ToString();
    return info->status == "exited" ? "exited " + std::to_string(info->exit_code) : info->status;
  }
  // The running task's container of a service, and its node ({"", ""} when none).
  std::pair<std::string, std::string> ContainerOf(const std::string& service_id) const {
    auto tasks = manager_->ListTasks({{"service", {service_id}}, {"desired-state", {"running"}}});
    if (!tasks.ok()) return {"", ""};
    for (const auto& t : *tasks) {
      if (t.state == "running") return {t.container_id, t.node_id};
    }
    return {"", ""};
  }
};

TEST_F(SwarmE2eFirstChat, PooledAgentsSpreadOverTheNodesAndANewUserTakesOne) {
  env_["BERTH_WARM_POOL"] = "3";
  StartBerth();
  ASSERT_TRUE(Eventually([&] { return Metric(kReady) == 3; }, 120s)) << berth_->Stderr();
  const std::map<std::string, std::string> pooled = Services();
  ASSERT_EQ(pooled.size(), 3u);
  std::set<std::string> nodes;
  for (const auto& [service, node] : pooled) nodes.insert(node);
  EXPECT_EQ(nodes.size(), 3u) << "started together, yet placed one on each node";

  auto [user_id, token] = UserWithProvider("newcomer");
  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body << "\n" << berth_->Stderr();
  EXPECT_EQ(Metric("berth_warm_pool_hits_total"), 1) << berth_->Stderr();
  const json entry = FleetEntry(user_id);
  ASSERT_TRUE(entry.is_object());
  const std::string service = entry["containerId"].is_string() ? entry["containerId"] : "";
  ASSERT_EQ(pooled.count(service), 1u) << "not one of the pooled services: " << entry.dump();
  EXPECT_EQ(NodeOf(user_id), NodeName(pooled.at(service)));

  std::string error;
  EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << error;
  ASSERT_FALSE(llm_->Calls().empty());
  EXPECT_EQ(llm_->Calls().back().authorization, std::string("Bearer ") + kUpstreamKey);
  const auto [container, node] = ContainerOf(service);
  ASSERT_FALSE(container.empty());
  std::string served;
  ASSERT_EQ(Exec(node, container, "cat /home/node/.openclaw/openclaw.json", &served), 0) << served;
  EXPECT_NE(served.find("fakellm/fake-model-1"), std::string::npos) << served;
  EXPECT_EQ(served.find("berth-pool"), std::string::npos) << served;
  EXPECT_EQ(served.find(kUpstreamKey), std::string::npos) << served;

  // The pool refills to three ready agents besides the user's.
  EXPECT_TRUE(Eventually([&] { return Services().size() == 4 && Metric(kReady) == 3; }, 120s))
      << berth_->Stderr();
  EXPECT_EQ(Services().at(service), pooled.at(service)) << "the user's agent stays where it was";
}

TEST_F(SwarmE2eFirstChat, AnIdleAgentIsPausedOnItsNodeAndTheNextChatResumesIt) {
  env_["BERTH_IDLE_PAUSE"] = "1";
  env_["BERTH_REAP_INTERVAL"] = "1";
  StartBerth();
  auto [user_id, token] = UserWithProvider("pauser");
  ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
  const Task task = TaskOf(user_id);
  ASSERT_FALSE(task.container_id.empty());
  auto state = [&] { return EngineState(task.node_id, task.container_id); };

  // Idle past BERTH_IDLE_PAUSE: the reaper pauses it through its node's engine.
  ASSERT_TRUE(Eventually([&] { return state() == "paused"; }, 15s)) << state();
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "paused");
  const std::string metrics = berth_->Get("/metrics").body;
  EXPECT_NE(metrics.find("berth_agent_pauses_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("berth_agents{kind=\"user\",status=\"paused\"} 1"), std::string::npos)
      << metrics;

  // The next chat resumes the same container, on the same node.
  std::string error;
  EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << error;
  const Task after = TaskOf(user_id);
  EXPECT_EQ(after.container_id, task.container_id);
  EXPECT_EQ(after.tasks, 1u);

  // Paused again, then stopped by the user: thawed first, it ends on the stop's SIGTERM.
  ASSERT_TRUE(Eventually([&] { return state() == "paused"; }, 15s)) << state();
  auto stopped = berth_->Post("/api/agent/stop", "", token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.Json()["status"], "stopped");
  EXPECT_EQ(state(), "exited 0");
}

}  // namespace
}  // namespace berth::testing
