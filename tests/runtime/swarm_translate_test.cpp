#include "runtime/swarm_translate.hpp"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(SwarmTranslate, TaskStatesBecomeTypedStates) {
  for (const char* s :
       {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}) {
    EXPECT_EQ(ParseTaskState(s), ContainerState::kCreated) << s;
    EXPECT_FALSE(IsFinalTaskState(s)) << s;
  }
  EXPECT_EQ(ParseTaskState("running"), ContainerState::kRunning);
  EXPECT_FALSE(IsFinalTaskState("running"));
  for (const char* s : {"complete", "shutdown", "failed"}) {
    EXPECT_EQ(ParseTaskState(s), ContainerState::kExited) << s;
    EXPECT_TRUE(IsFinalTaskState(s)) << s;
  }
  for (const char* s : {"rejected", "orphaned", "remove"}) {
    EXPECT_EQ(ParseTaskState(s), ContainerState::kDead) << s;
    EXPECT_TRUE(IsFinalTaskState(s)) << s;
  }
  EXPECT_EQ(ParseTaskState("something new"), ContainerState::kDead);
}

TEST(SwarmTranslate, ServiceCarriesReservationHostPortAndHardening) {
  ContainerSpec spec;
  spec.name = "mosaic-user-u1";
  spec.image = "ignored:tag";
  spec.env = {{"MOSAIC_API_URL", "http://10.0.0.1:3001/api"}, {"AGENT_ID", "r1"}};
  spec.labels = {{"berth.instance", "i1"}};
  spec.volume_name = "mosaic-user-u1-state";
  spec.volume_target = "/home/node/.openclaw";
  spec.network = "mosaic-internal";
  spec.memory_bytes = 1536LL << 20;
  spec.nano_cpus = 1000000000;
  spec.pids_limit = 512;
  spec.cap_add = {"NET_BIND_SERVICE"};
  const docker::ServiceSpec s =
      ToServiceSpec(spec, "reg:5000/agent@sha256:abc", 18789, std::chrono::seconds(10));
  EXPECT_EQ(s.name, spec.name);
  EXPECT_EQ(s.image, "reg:5000/agent@sha256:abc");
  EXPECT_EQ(s.env,
            (std::vector<std::string>{"MOSAIC_API_URL=http://10.0.0.1:3001/api", "AGENT_ID=r1"}));
  EXPECT_EQ(s.labels, spec.labels);
  EXPECT_EQ(s.container_labels, spec.labels);
  ASSERT_EQ(s.mounts.size(), 1u);
  EXPECT_EQ(s.mounts[0].source, spec.volume_name);
  EXPECT_EQ(s.mounts[0].target, spec.volume_target);
  EXPECT_EQ(s.mounts[0].volume_labels, spec.labels);
  EXPECT_EQ(s.networks, std::vector<std::string>{"mosaic-internal"});
  EXPECT_EQ(s.memory_limit, spec.memory_bytes);
  EXPECT_EQ(s.memory_reservation, spec.memory_bytes) << "the scheduler must not overpack a node";
  EXPECT_EQ(s.nano_cpus_limit, spec.nano_cpus);
  EXPECT_EQ(s.pids_limit, 512);
  EXPECT_TRUE(s.init);
  EXPECT_EQ(s.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(s.cap_add, spec.cap_add);
  EXPECT_EQ(s.restart_condition, "none");
  EXPECT_EQ(s.stop_grace_period, std::chrono::seconds(10));
  EXPECT_EQ(s.replicas, 0u) << "Start scales it up";
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0], (docker::ServicePort{"tcp", 18789, 0, "host"}));
  EXPECT_EQ(s.endpoint_mode, "dnsrr");
  EXPECT_TRUE(s.constraints.empty()) << "an unpinned agent may go anywhere";

  spec.publish_port = 8080;
  EXPECT_EQ(ToServiceSpec(spec, "x", 18789, std::chrono::seconds(1)).ports[0].target_port, 8080);
}

TEST(SwarmTranslate, PinnedAgentIsConstrainedToItsNode) {
  ContainerSpec spec;
  spec.name = "mosaic-user-u1";
  spec.node_id = "n0d3id";
  EXPECT_EQ(ToServiceSpec(spec, "x", 18789, std::chrono::seconds(1)).constraints,
            std::vector<std::string>{"node.id==n0d3id"});
}

}  // namespace
}  // namespace berth::runtime
