// The translation between the ContainerRuntime seam and the Docker Engine API's words, without an
// engine.
#include "runtime/docker_translate.hpp"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(DockerTranslate, EngineVerbsBecomeTypedEvents) {
  EXPECT_EQ(ParseContainerEventKind("create"), ContainerEventKind::kCreated);
  EXPECT_EQ(ParseContainerEventKind("start"), ContainerEventKind::kStarted);
  EXPECT_EQ(ParseContainerEventKind("die"), ContainerEventKind::kDied);
  EXPECT_EQ(ParseContainerEventKind("oom"), ContainerEventKind::kOomKilled);
  EXPECT_EQ(ParseContainerEventKind("kill"), ContainerEventKind::kKilled);
  EXPECT_EQ(ParseContainerEventKind("stop"), ContainerEventKind::kStopped);
  EXPECT_EQ(ParseContainerEventKind("destroy"), ContainerEventKind::kDestroyed);
  EXPECT_EQ(ParseContainerEventKind("pause"), ContainerEventKind::kPaused);
  EXPECT_EQ(ParseContainerEventKind("unpause"), ContainerEventKind::kUnpaused);
  EXPECT_EQ(ParseContainerEventKind("restart"), ContainerEventKind::kRestarted);
  for (const char* other : {"exec_start", "health_status", "rename", "attach", "", "DIE"}) {
    EXPECT_EQ(ParseContainerEventKind(other), ContainerEventKind::kOther) << other;
  }
}

TEST(DockerTranslate, EngineStatesBecomeTypedStatesAndUnknownIsDead) {
  EXPECT_EQ(ParseContainerState("created"), ContainerState::kCreated);
  EXPECT_EQ(ParseContainerState("running"), ContainerState::kRunning);
  EXPECT_EQ(ParseContainerState("paused"), ContainerState::kPaused);
  EXPECT_EQ(ParseContainerState("restarting"), ContainerState::kRestarting);
  EXPECT_EQ(ParseContainerState("removing"), ContainerState::kRemoving);
  EXPECT_EQ(ParseContainerState("exited"), ContainerState::kExited);
  EXPECT_EQ(ParseContainerState("dead"), ContainerState::kDead);
  EXPECT_EQ(ParseContainerState("something new"), ContainerState::kDead);
}

TEST(DockerTranslate, CreateRequestCarriesTheHardeningThatIsNotOptional) {
  ContainerSpec spec;
  spec.name = "mosaic-user-u1";
  spec.image = "berth/test-agent:dev";
  spec.env = {{"AGENT_ID", "r1"}, {"CHOKIDAR_USEPOLLING", "1"}};
  spec.labels = {{"berth.record", "r1"}};
  spec.volume_name = "mosaic-user-u1-state";
  spec.volume_target = "/home/node/.openclaw";
  spec.network = "agents";
  spec.memory_bytes = 64 << 20;
  spec.nano_cpus = 500'000'000;
  spec.pids_limit = 64;
  spec.publish_port = 18789;
  const docker::ContainerCreate c = ToContainerCreate(spec);
  EXPECT_EQ(c.env, (std::vector<std::string>{"AGENT_ID=r1", "CHOKIDAR_USEPOLLING=1"}));
  EXPECT_TRUE(c.init);
  EXPECT_EQ(c.security_opt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_EQ(c.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(c.restart_policy, "no");
  EXPECT_EQ(c.memory, 64 << 20);
  EXPECT_EQ(c.memory_swap, c.memory);  // no swap on top
  EXPECT_EQ(c.labels.at("berth.network"), "agents");
  EXPECT_EQ(c.network_mode, "agents");
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].source, "mosaic-user-u1-state");
  EXPECT_EQ(c.mounts[0].target, "/home/node/.openclaw");
  EXPECT_EQ(c.mounts[0].volume_labels, spec.labels);
  ASSERT_EQ(c.port_bindings.count("18789/tcp"), 1u);
  EXPECT_EQ(c.port_bindings.at("18789/tcp").at(0).host_ip, "127.0.0.1");
}

}  // namespace
}  // namespace berth::runtime
