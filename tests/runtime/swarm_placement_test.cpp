#include "runtime/swarm_placement.hpp"

#include <gtest/gtest.h>

#include "runtime/swarm_events.hpp"

namespace berth::runtime {
namespace {

constexpr int64_t kGiB = 1LL << 30;

docker::SwarmNode Node(std::string id, std::string hostname, int64_t memory,
                       std::string state = "ready", std::string availability = "active") {
  docker::SwarmNode n;
  n.id = std::move(id);
  n.hostname = std::move(hostname);
  n.memory_bytes = memory;
  n.state = std::move(state);
  n.availability = std::move(availability);
  return n;
}

docker::SwarmTask Task(std::string node_id, int64_t reservation,
                       std::string desired_state = "running") {
  docker::SwarmTask t;
  t.node_id = std::move(node_id);
  t.memory_reservation = reservation;
  t.desired_state = std::move(desired_state);
  return t;
}

TEST(SwarmPlacement, FreeMemoryCountsOnlyTasksMeantToRunOnTheNode) {
  const std::vector<docker::SwarmNode> nodes = {Node("b", "n1", 8 * kGiB),
                                                Node("a", "n0", 8 * kGiB)};
  const std::vector<docker::SwarmTask> tasks = {
      Task("a", 2 * kGiB), Task("a", 1 * kGiB),   Task("a", 4 * kGiB, "shutdown"),
      Task("", 2 * kGiB),  // not assigned yet
      Task("b", 3 * kGiB), Task("gone", 1 * kGiB)};
  const std::vector<NodeMemory> memory = MemoryByNode(nodes, tasks);
  ASSERT_EQ(memory.size(), 2u);
  EXPECT_EQ(memory[0].node->id, "a") << "by node id";
  EXPECT_EQ(memory[0].free(), 5 * kGiB);
  EXPECT_EQ(memory[1].free(), 5 * kGiB);
}

TEST(SwarmPlacement, ChoosesTheUsableNodeWithMostFreeMemory) {
  const std::vector<docker::SwarmNode> nodes = {
      Node("a", "n0", 8 * kGiB),          Node("b", "n1", 8 * kGiB),
      Node("c", "n2", 8 * kGiB),          Node("d", "n3", 64 * kGiB, "ready", "drain"),
      Node("e", "n4", 64 * kGiB, "down"), Node("f", "n5", 64 * kGiB, "ready", "pause")};
  auto chosen = ChooseNode(nodes, {Task("a", 4 * kGiB), Task("c", 1 * kGiB)}, 2 * kGiB);
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_EQ(chosen->id, "b");
  EXPECT_EQ(chosen->name, "n1");
}

TEST(SwarmPlacement, TiesGoToTheSmallestNodeId) {
  const std::vector<docker::SwarmNode> nodes = {
      Node("z", "n0", 8 * kGiB), Node("m", "n1", 8 * kGiB), Node("q", "n2", 8 * kGiB)};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ChooseNode(nodes, {}, kGiB)->id, "m");
  EXPECT_EQ(ChooseNode(nodes, {Task("m", kGiB)}, kGiB)->id, "q");
}

TEST(SwarmPlacement, NoNodeFitsListsWhatEachHasLeft) {
  const std::vector<docker::SwarmNode> nodes = {Node("a", "n0", 4 * kGiB),
                                                Node("b", "n1", 64 * kGiB, "ready", "drain")};
  auto chosen = ChooseNode(nodes, {Task("a", 3 * kGiB)}, 2 * kGiB);
  ASSERT_FALSE(chosen.ok());
  EXPECT_EQ(chosen.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(chosen.status().message(),
            "no swarm node that takes agents has 2.0 GiB of memory unreserved for a new agent: "
            "n0 (a) 1.0 GiB free; n1 (b) 64.0 GiB free but drained");
  EXPECT_EQ(ChooseNode({}, {}, kGiB).status().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(ChooseNode(nodes, {Task("a", 3 * kGiB)}, kGiB).ok()) << "exactly fits";
}

TEST(SwarmPlacement, CheckNodeNamesTheNodeAndWhy) {
  const NodePlacement wanted{"a", "n0"};
  const docker::SwarmNode ready = Node("a", "n0", kGiB);
  EXPECT_TRUE(CheckNodeUsable(&ready, wanted).ok());
  const docker::SwarmNode drained = Node("a", "n0", kGiB, "ready", "drain");
  Status st = CheckNodeUsable(&drained, wanted);
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(st.message(),
            "swarm node n0 (a) is drained: the agent's state lives on that node, so it is not "
            "started anywhere else");
  docker::SwarmNode down = Node("a", "n0", kGiB, "down");
  down.message = "heartbeat failure";
  EXPECT_NE(CheckNodeUsable(&down, wanted).message().find("is down (heartbeat failure)"),
            std::string::npos);
  const docker::SwarmNode paused = Node("a", "n0", kGiB, "ready", "pause");
  EXPECT_NE(CheckNodeUsable(&paused, wanted).message().find("is paused"), std::string::npos);
  st = CheckNodeUsable(nullptr, wanted);
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.message().find("swarm node n0 (a) has left the swarm"), std::string::npos);
}

TEST(SwarmPlacement, LostNodes) {
  EXPECT_TRUE(IsNodeLost("down"));
  EXPECT_TRUE(IsNodeLost("unknown"));
  EXPECT_TRUE(IsNodeLost("disconnected"));
  EXPECT_FALSE(IsNodeLost("ready"));
  docker::SwarmNode down = Node("a", "n0", kGiB, "down");
  down.message = "heartbeat failure";
  EXPECT_EQ(NodeLostError(down), "node n0 is down: heartbeat failure");
  EXPECT_EQ(FormatBytes(256LL << 20), "256 MiB");
  EXPECT_EQ(FormatBytes(-(3LL << 29)), "-1.5 GiB");
}

TEST(SwarmPlacement, ATaskNotEndedOnALostNodeIsDead) {
  NodesById nodes;
  nodes["up"] = Node("up", "n0", kGiB);
  nodes["down"] = Node("down", "n1", kGiB, "down");
  nodes["down"].message = "heartbeat failure";
  auto task = [](std::string node, std::string state, std::string desired, int minute) {
    docker::SwarmTask t = Task(std::move(node), 0, std::move(desired));
    t.state = std::move(state);
    t.created_at = std::chrono::system_clock::time_point(std::chrono::minutes(minute));
    return t;
  };
  EXPECT_FALSE(OnLostNode(task("up", "running", "running", 1), nodes));
  EXPECT_TRUE(OnLostNode(task("down", "running", "running", 1), nodes));
  EXPECT_TRUE(OnLostNode(task("down", "running", "shutdown", 1), nodes)) << "the manager gave up";
  EXPECT_FALSE(OnLostNode(task("down", "complete", "shutdown", 1), nodes)) << "ended before";
  EXPECT_FALSE(OnLostNode(task("", "pending", "running", 1), nodes)) << "on no node yet";
  EXPECT_TRUE(OnLostNode(task("left", "running", "running", 1), nodes)) << "left the swarm";

  // A pinned agent on a lost node: its task given up, a new one pending for the node.
  const std::vector<docker::SwarmTask> tasks = {task("down", "running", "shutdown", 2),
                                                task("", "pending", "running", 3),
                                                task("down", "starting", "shutdown", 1)};
  const docker::SwarmTask* lost = NewestOnLostNode(tasks, nodes);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->state, "running");
  EXPECT_EQ(LostNodeError(*lost, nodes), "node n1 is down: heartbeat failure");
  EXPECT_EQ(LostNodeError(task("left", "running", "running", 1), nodes),
            "node left has left the swarm");
  EXPECT_EQ(NewestOnLostNode({task("up", "running", "running", 1)}, nodes), nullptr);
}

TEST(SwarmEvents, LabelsMatchLikeTheEnginesFilter) {
  const Labels labels = {{"berth.kind", "user"}, {"berth.owner", "u1"}};
  EXPECT_TRUE(CarriesLabels(labels, {}));
  EXPECT_TRUE(CarriesLabels(labels, {{"berth.kind", "user"}}));
  EXPECT_TRUE(CarriesLabels(labels, {{"berth.owner", ""}}));
  EXPECT_FALSE(CarriesLabels(labels, {{"berth.kind", "system"}}));
  EXPECT_FALSE(CarriesLabels(labels, {{"berth.other", ""}}));
}

}  // namespace
}  // namespace berth::runtime
