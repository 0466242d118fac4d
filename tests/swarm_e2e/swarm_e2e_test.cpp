// berth with BERTH_RUNTIME=swarm on a real three-node swarm (SwarmTestCluster): agents placed by
// memory reservation and pinned to their node, their config fetched from berth, chats streamed
// through berth to them and on to a fake LLM, state kept across stop and start, drained nodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>
#include <thread>

#include "swarm_e2e/swarm_fixture.hpp"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;

using SwarmE2e = SwarmE2eTest;

TEST_F(SwarmE2e, SixAgentsSpreadOverTheNodesFetchTheirConfigAndChat) {
  StartBerth();
  std::vector<std::pair<std::string, std::string>> users;
  for (int i = 0; i < 6; ++i) users.push_back(UserWithProvider("spread" + std::to_string(i)));
  // One after another, so each placement sees the reservations of the agents before it.
  for (const auto& [id, token] : users) {
    auto started = StartAgent(token);
    ASSERT_EQ(started.status, 200) << started.body << "\n" << berth_->Stderr();
  }
  std::map<std::string, int> per_node;
  for (const auto& [id, token] : users) {
    const std::string node = NodeOf(id);
    EXPECT_FALSE(node.empty()) << "the fleet view names no node for " << id;
    ++per_node[node];
    const Task task = TaskOf(id);
    EXPECT_EQ(NodeName(task.node_id), node) << "the fleet view names the node it runs on";
    EXPECT_EQ(task.state, "running");
  }
  EXPECT_EQ(per_node.size(), 3u) << "every node got agents";
  for (const auto& [node, count] : per_node) EXPECT_EQ(count, 2) << node;

  // Each agent took its config from berth (the test agent serves only what it fetched) and
  // answers a streamed chat through berth with the user's provider.
  for (const auto& [id, token] : users) {
    std::string error;
    EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << error;
  }
  const auto calls = llm_->Calls();
  EXPECT_GE(calls.size(), users.size());
  for (const auto& call : calls) {
    EXPECT_EQ(call.authorization, std::string("Bearer ") + kUpstreamKey);
  }
}

TEST_F(SwarmE2e, StopScalesToZeroAndStartComesBackOnTheSameNodeWithItsState) {
  StartBerth();
  auto [user_id, token] = UserWithProvider("returning");
  ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
  const Task first = TaskOf(user_id);
  ASSERT_EQ(first.state, "running");
  std::string out;
  ASSERT_EQ(
      Exec(first.node_id, first.container_id,
           "echo kept > /home/node/.openclaw/marker && cat /home/node/.openclaw/marker", &out),
      0)
      << out;

  auto stopped = berth_->Post("/api/agent/stop", "", token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.Json()["status"], "stopped");
  EXPECT_EQ(TaskOf(user_id).replicas, 0u);

  ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
  const Task second = TaskOf(user_id);
  EXPECT_EQ(second.service_id, first.service_id) << "the same service, scaled up again";
  EXPECT_NE(second.container_id, first.container_id) << "a new task and container";
  EXPECT_EQ(second.node_id, first.node_id) << "pinned to the node holding its volume";
  ASSERT_EQ(Exec(second.node_id, second.container_id, "cat /home/node/.openclaw/marker", &out), 0)
      << out;
  EXPECT_EQ(out, "kept\n");
  std::string error;
  EXPECT_EQ(StreamedChat(token, &error), FakeLlm::Reply("fake-model-2")) << error;
}

TEST_F(SwarmE2e, ADrainedNodeGetsNoNewAgentsAndItsPinnedUserGetsAClearError) {
  StartBerth();
  auto [pinned_id, pinned_token] = UserWithProvider("pinned");
  ASSERT_EQ(StartAgent(pinned_token).status, 200) << berth_->Stderr();
  const std::string node = NodeOf(pinned_id);
  ASSERT_FALSE(node.empty());
  ASSERT_EQ(berth_->Post("/api/agent/stop", "", pinned_token).status, 200);

  std::string out;
  ASSERT_EQ(ManagerCli("node update --availability drain " + node, &out), 0) << out;
  struct Undrain {
    const SwarmE2eTest* test;
    std::string node;
    ~Undrain() {
      std::string out;
      if (test->ManagerCli("node update --availability active " + node, &out) != 0) {
        ADD_FAILURE() << "cannot make node " << node << " active again: " << out;
      }
    }
  } undrain{this, node};

  for (int i = 0; i < 3; ++i) {
    auto [id, token] = UserWithProvider("fresh" + std::to_string(i));
    ASSERT_EQ(StartAgent(token).status, 200) << berth_->Stderr();
    EXPECT_NE(NodeOf(id), node) << "a drained node takes no new agents";
  }

  auto refused = StartAgent(pinned_token);
  EXPECT_EQ(refused.status, 503) << refused.body;
  const std::string message = refused.Json()["error"]["message"];
  EXPECT_THAT(message, HasSubstr(node));
  EXPECT_THAT(message, HasSubstr("drain"));
  EXPECT_EQ(TaskOf(pinned_id).tasks, 0u) << "no new empty state elsewhere";
  EXPECT_EQ(NodeOf(pinned_id), node) << "still pinned";
}

TEST_F(SwarmE2e, ThirtyConcurrentStartsOfOneUserMakeOneServiceWithOneTask) {
  env_["BERTH_MAX_CONCURRENT_STARTS"] = "4";
  StartBerth();
  auto [user_id, token] = UserWithProvider("eager");
  std::vector<std::future<int>> starts;
  for (int i = 0; i < 30; ++i) {
    starts.push_back(std::async(std::launch::async, [&, t = token] {
      return berth_->Post("/api/agent/start", "", t).status;
    }));
  }
  for (auto& s : starts) EXPECT_EQ(s.get(), 200);
  const std::string instance = InstanceId();
  auto services = manager_->ListServices({{"berth.instance", instance}, {"berth.owner", user_id}});
  ASSERT_TRUE(services.ok()) << services.status().ToString();
  EXPECT_EQ(services->size(), 1u);
  EXPECT_EQ(TaskOf(user_id).tasks, 1u);
}

}  // namespace
}  // namespace berth::testing
