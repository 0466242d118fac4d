// PendingPlacements: a swarm placement counts against its node until the manager lists its task,
// so agents started together (a warm pool's) spread over the nodes.
#include "runtime/swarm_pending.hpp"

#include <gtest/gtest.h>

#include "runtime/swarm_placement.hpp"

namespace berth::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = PendingPlacements::Clock;
constexpr int64_t kGiB = 1LL << 30;

docker::SwarmNode Node(std::string id, int64_t memory) {
  docker::SwarmNode n;
  n.id = std::move(id);
  n.hostname = "host-" + n.id;
  n.memory_bytes = memory;
  n.state = "ready";
  n.availability = "active";
  return n;
}

docker::SwarmTask Task(std::string service_id, std::string node_id, int64_t reservation) {
  docker::SwarmTask t;
  t.service_id = std::move(service_id);
  t.node_id = std::move(node_id);
  t.memory_reservation = reservation;
  t.desired_state = "running";
  return t;
}

TEST(SwarmPendingPlacements, AgentsPlacedTogetherSpreadOverTheNodes) {
  const std::vector<docker::SwarmNode> nodes = {Node("a", 8 * kGiB), Node("b", 8 * kGiB),
                                                Node("c", 8 * kGiB)};
  PendingPlacements pending(60s);
  const auto now = Clock::now();
  std::vector<std::string> chosen;
  for (int i = 0; i < 4; ++i) {
    // The manager lists no task of any of them yet.
    auto node = ChooseNode(nodes, {}, kGiB, pending.Reserved({}, now));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    pending.Add(node->id, kGiB, now);
    chosen.push_back(node->id);
  }
  EXPECT_EQ(chosen, (std::vector<std::string>{"a", "b", "c", "a"}));
  // Without them counted, every one would have gone to the first node.
  EXPECT_EQ(ChooseNode(nodes, {}, kGiB)->id, "a");
}

TEST(SwarmPendingPlacements, APlacementCountsUntilItsServicesTaskIsListed) {
  PendingPlacements pending(60s);
  const auto now = Clock::now();
  pending.Add("a", kGiB, now);
  pending.Add("a", 2 * kGiB, now);
  pending.Name("a", "svc1");  // the oldest unnamed one
  EXPECT_EQ(pending.Reserved({}, now).at("a"), 3 * kGiB);
  // Another service's task, or svc1's before it is on a node, changes nothing.
  docker::SwarmTask unassigned = Task("svc1", "", kGiB);
  EXPECT_EQ(pending.Reserved({Task("other", "a", kGiB), unassigned}, now).at("a"), 3 * kGiB);
  // svc1's task on its node: the task's own reservation counts from now on, not the placement.
  EXPECT_EQ(pending.Reserved({Task("svc1", "a", kGiB)}, now).at("a"), 2 * kGiB);
  EXPECT_EQ(pending.size(), 1u);
  pending.Name("a", "svc2");
  EXPECT_TRUE(pending.Reserved({Task("svc2", "a", 2 * kGiB)}, now).empty());
  EXPECT_EQ(pending.size(), 0u);
}

TEST(SwarmPendingPlacements, AFailedCreateOrAStartThatNeverCameIsForgotten) {
  PendingPlacements pending(60s);
  const auto now = Clock::now();
  pending.Add("a", kGiB, now);
  pending.Add("b", kGiB, now);
  pending.Forget("a");  // its create failed
  auto reserved = pending.Reserved({}, now);
  EXPECT_EQ(reserved.count("a"), 0u);
  EXPECT_EQ(reserved.at("b"), kGiB);
  pending.Name("b", "svc");  // created, but its scale never came
  EXPECT_EQ(pending.Reserved({}, now + 59s).at("b"), kGiB);
  EXPECT_TRUE(pending.Reserved({}, now + 60s).empty()) << "past its ttl";
  pending.Forget("b");  // nothing unnamed left: no-op
  pending.Name("c", "svc");
  EXPECT_EQ(pending.size(), 0u);
}

}  // namespace
}  // namespace berth::runtime
