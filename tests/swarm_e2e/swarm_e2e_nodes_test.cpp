// berth with BERTH_RUNTIME=swarm when agents share the swarm with others they must not reach, and
// when a node's engine dies: berth-made agents behind scripts/swarm-node-firewall.sh reach
// berth's internal endpoint and nothing of each other; a killed worker's agents are reported
// failed within one sweep of the manager marking the node down, while the others still chat.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "swarm_e2e/swarm_fixture.hpp"

namespace berth::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
constexpr int kGatewayPort = 18789;

using SwarmE2eNodes = SwarmE2eTest;

// "http://10.199.3.1:41234" → {"10.199.3.1", 41234}; {"", 0} when it is not of that form.
std::pair<std::string, int> HostPort(std::string url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return {"", 0};
  url = url.substr(scheme.size());
  if (const auto slash = url.find('/'); slash != std::string::npos) url.resize(slash);
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) return {"", 0};
  return {url.substr(0, colon), std::atoi(url.c_str() + colon + 1)};
}

TEST_F(SwarmE2eNodes, AgentsReachBerthsInternalEndpointButNotEachOther) {
  StartBerth();
  // Four agents on three nodes: placement by free reservation puts two of them on one node.
  std::vector<std::pair<std::string, std::string>> users;
  for (int i = 0; i < 4; ++i) users.push_back(UserWithProvider("isolated" + std::to_string(i)));
  for (const auto& [id, token] : users) {
    ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
  }
  std::map<std::string, std::vector<std::string>> by_node;  // node id → user ids
  for (const auto& [id, token] : users) by_node[TaskOf(id).node_id].push_back(id);
  ASSERT_EQ(by_node.size(), 3u);
  std::string a, b, c;  // a and b share a node, c runs on another
  for (const auto& [node, ids] : by_node) {
    if (ids.size() == 2) {
      a = ids[0];
      b = ids[1];
    } else if (c.empty()) {
      c = ids[0];
    }
  }
  ASSERT_FALSE(a.empty() || b.empty() || c.empty());
  const Task task_b = TaskOf(b), task_c = TaskOf(c);
  const std::string node_b = cluster_->nodes().at(NodeIndex(task_b.node_id)).addr;
  const std::string node_c = cluster_->nodes().at(NodeIndex(task_c.node_id)).addr;
  const Task task_a = TaskOf(a);
  const std::string address_a = AgentNetworkAddress(task_a);
  const std::string address_b = AgentNetworkAddress(task_b);
  const std::string address_c = AgentNetworkAddress(task_c);
  ASSERT_FALSE(address_a.empty() || address_b.empty() || address_c.empty());
  // Each node's part of the agents' network is its own bridge, addressed by that node (the same
  // address can be on every node): from c, alone on its node, the one of a and b whose address
  // is not c's own lies on another node's link only.
  const std::string across = address_a != address_c ? address_a : address_b;
  ASSERT_GT(task_b.published_port, 0);
  ASSERT_GT(task_c.published_port, 0);

  // The internal endpoint as berth gave it to the agent.
  std::string url;
  ASSERT_EQ(Exec(task_a.node_id, task_a.container_id, "printf %s \"$MOSAIC_API_URL\"", &url), 0)
      << url;
  const auto [internal_host, internal_port] = HostPort(url);
  ASSERT_EQ(internal_host, cluster_->host_addr()) << url;

  // Without the node rules an agent opens another's published port, on its node and across.
  EXPECT_EQ(Reach(a, node_b, task_b.published_port), "ok");
  EXPECT_EQ(Reach(a, node_c, task_c.published_port), "ok");

  for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) {
    std::string out;
    ASSERT_EQ(Firewall(i, "apply --berth " + cluster_->host_addr(), &out), 0) << out;
  }

  // By address on the agents' network: no traffic between containers, on one node or across.
  EXPECT_THAT(Reach(a, address_b, kGatewayPort), HasSubstr("timed out"));
  EXPECT_THAT(Reach(c, across, kGatewayPort),
              AnyOf(HasSubstr("timed out"), HasSubstr("unreachable"), HasSubstr("No route")));
  // By published port: refused, on its own node and on another.
  EXPECT_THAT(Reach(a, node_b, task_b.published_port), HasSubstr("refused"));
  EXPECT_THAT(Reach(a, node_c, task_c.published_port), HasSubstr("refused"));
  EXPECT_THAT(Reach(c, node_b, task_b.published_port), HasSubstr("refused"));
  // Both ends still reach berth's internal endpoint, and nothing else of berth: its public
  // listener (loopback here) is not on their way.
  EXPECT_EQ(Reach(a, internal_host, internal_port), "ok");
  EXPECT_EQ(Reach(b, internal_host, internal_port), "ok");
  EXPECT_EQ(Reach(c, internal_host, internal_port), "ok");
  EXPECT_NE(Reach(a, internal_host, berth_->port()), "ok");

  // berth still reaches every agent through the node rules: each answers a chat.
  for (const auto& [id, token] : users) {
    std::string error;
    EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << id << ": " << error;
  }
}

// Killing a node's engine breaks the cluster for whatever runs after: this test has its own.
class SwarmE2eLostNode : public SwarmE2eTest {
 protected:
  SwarmE2eLostNode() { private_cluster_ = true; }

  // The manager's view of the node's state ("ready", "down", ...).
  std::string NodeState(const std::string& node_id) const {
    auto nodes = manager_->ListNodes();
    if (nodes.ok()) {
      for (const auto& n : *nodes) {
        if (n.id == node_id) return n.state;
      }
    }
    return "";
  }
};

TEST_F(SwarmE2eLostNode, AKilledWorkerEnginesAgentsFailWithinOneSweepAndTheOthersChat) {
  constexpr int kSweepSeconds = 2;
  env_["BERTH_HEALTH_INTERVAL"] = std::to_string(kSweepSeconds);
  StartBerth();
  std::vector<std::pair<std::string, std::string>> users;
  for (int i = 0; i < 3; ++i) users.push_back(UserWithProvider("node" + std::to_string(i)));
  for (const auto& [id, token] : users) {
    ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
  }
  // The victim: an agent on a worker (node 0 is the manager, which must live).
  std::string victim;
  int victim_node = -1;
  std::string victim_node_id;
  for (const auto& [id, token] : users) {
    const Task task = TaskOf(id);
    const int index = NodeIndex(task.node_id);
    if (index > 0 && victim.empty()) {
      victim = id;
      victim_node = index;
      victim_node_id = task.node_id;
    }
  }
  ASSERT_FALSE(victim.empty()) << "no agent was placed on a worker";
  const std::string node_name = cluster_->nodes()[victim_node].name;

  const int pid = cluster_->DaemonPid(static_cast<std::size_t>(victim_node));
  ASSERT_GT(pid, 0);
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);

  // The manager marks the node down once its heartbeats stop (13-15 s here); berth must then
  // report the agent failed with the reason within one sweep.
  std::optional<Clock::time_point> down, failed;
  nlohmann::json entry;
  while (Clock::now() - killed < std::chrono::seconds(120) && !failed) {
    if (!down && NodeState(victim_node_id) == "down") down = Clock::now();
    entry = FleetEntry(victim);
    if (entry.is_object() && entry.value("status", "") == "failed") failed = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  ASSERT_TRUE(failed.has_value()) << "the agent still reads " << entry.dump();
  const Clock::time_point marked = down.value_or(*failed);
  std::fprintf(stderr, "[ lost node ] node down %.1f s after the kill, agent failed %.1f s\n",
               seconds(marked - killed), seconds(*failed - killed));
  EXPECT_LE(seconds(*failed - marked), kSweepSeconds + 1.5)
      << "reported " << seconds(*failed - marked) << " s after the manager marked the node down";
  EXPECT_THAT(entry.value("error", ""), HasSubstr("node " + node_name + " is down"));
  EXPECT_EQ(entry.value("node", ""), node_name);

  // The others still chat.
  for (const auto& [id, token] : users) {
    if (id == victim) continue;
    std::string error;
    EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << id << ": " << error;
    const nlohmann::json alive = FleetEntry(id);
    EXPECT_EQ(alive.value("status", ""), "running") << alive.dump();
  }
}

}  // namespace
}  // namespace berth::testing
