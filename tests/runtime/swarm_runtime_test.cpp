// SwarmRuntime: the ContainerRuntime calls of an agent's life on a real three-node swarm
// (SwarmTestCluster). Everything a test creates carries the run's label and is removed by id.
#include "runtime/swarm_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

#include "runtime/swarm_runtime_fixture.hpp"
#include "support/agent_config_stub.hpp"
#include "support/http_client.hpp"

namespace berth::runtime::swarm_test {
namespace {

TEST_F(SwarmRuntimeTest, PingNamesTheManagerAndRefusesAWorker) {
  auto ping = runtime_->Ping();
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_NE(ping->find("swarm manager " + cluster_->nodes()[0].name), std::string::npos) << *ping;
  EXPECT_NE(ping->find("3 nodes"), std::string::npos) << *ping;

  SwarmRuntimeOptions worker;
  worker.docker_host = cluster_->nodes()[1].docker_host;
  auto on_worker = SwarmRuntime::Create(worker);
  ASSERT_OK(on_worker);
  auto refused = (*on_worker)->Ping();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("not a swarm manager"), std::string::npos)
      << refused.status().ToString();
}

TEST_F(SwarmRuntimeTest, ImagesMustHaveADigestAndNetworksMustExistWithoutNodeEngines) {
  EXPECT_TRUE(runtime_->EnsureImage(cluster_->test_agent_image()).ok());
  Status missing = runtime_->EnsureImage("berth/absent:1.0");
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.message().find("registry"), std::string::npos) << missing.message();

  // Without the nodes' engines berth cannot make the network (swarm_network_test.cpp covers
  // EnsureSwarmBridge, which it uses when it has them): it says how to make it.
  SwarmRuntimeOptions manager_only;
  manager_only.docker_host = cluster_->manager_host();
  auto bare = SwarmRuntime::Create(manager_only);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  auto network = (*bare)->EnsureNetwork(cluster_->prefix() + "-" + run_ + "-absent", true);
  ASSERT_FALSE(network.ok());
  EXPECT_EQ(network.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(network.status().message().find("--config-from"), std::string::npos)
      << network.status().message();
}

TEST_F(SwarmRuntimeTest, AnAgentStartsAnswersStopsAndGoes) {
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  ASSERT_GT(stub.port(), 0);
  const ContainerSpec spec = AgentSpec("agent", stub);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(runtime_->Create(spec).status().code(), ErrorCode::kAlreadyExists);

  auto created = runtime_->Inspect(id);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->state, ContainerState::kCreated);
  EXPECT_EQ(created->name, spec.name);
  EXPECT_EQ(created->image, spec.image);
  EXPECT_EQ(created->labels, RunLabels());
  EXPECT_TRUE(created->ip_address.empty());
  EXPECT_EQ(runtime_->Inspect(spec.name)->id, id) << "by name too";

  const auto start = Clock::now();
  ASSERT_OK(runtime_->Start(id));
  EXPECT_TRUE(runtime_->Start(id).ok()) << "starting a started agent is ok";
  auto running = InspectUntil(
      id,
      [](const ContainerInfo& i) {
        return i.state == ContainerState::kRunning || i.state == ContainerState::kDead;
      },
      milliseconds(60000));
  ASSERT_TRUE(running.ok()) << running.status().ToString();
  ASSERT_EQ(running->state, ContainerState::kRunning) << running->error;
  const double to_running = SecondsSince(start);
  ASSERT_FALSE(running->ip_address.empty());
  ASSERT_TRUE(running->published_port.has_value());
  EXPECT_TRUE(running->started_at.has_value());
  auto node = std::find_if(cluster_->nodes().begin(), cluster_->nodes().end(),
                           [&](const auto& n) { return n.addr == running->ip_address; });
  ASSERT_NE(node, cluster_->nodes().end()) << running->ip_address;
  EXPECT_EQ(running->node, node->name);

  berth::testing::HttpResult ready;
  while (SecondsSince(start) < 60) {
    ready = berth::testing::HttpRequest("GET", running->ip_address,
                                        static_cast<unsigned short>(*running->published_port),
                                        "/readyz");
    if (ready.status == 200) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(ready.status, 200) << ready.body;
  const double to_ready = SecondsSince(start);

  // On its node: the volume at the state dir, the limits, init and no-new-privileges (from the
  // node's daemon: a service spec cannot ask for it).
  docker::DockerClient& engine = *nodes_[node - cluster_->nodes().begin()];
  auto containers = engine.ListContainers(RunLabels(), /*all=*/false);
  ASSERT_OK(containers);
  ASSERT_EQ(containers->size(), 1u);
  auto container = engine.InspectContainer(containers->front().id);
  ASSERT_OK(container);
  EXPECT_TRUE(container->init);
  EXPECT_EQ(container->memory, spec.memory_bytes);
  EXPECT_EQ(container->pids_limit, spec.pids_limit);
  EXPECT_EQ(container->cap_drop, std::vector<std::string>{"ALL"});
  ASSERT_EQ(container->mounts.size(), 1u);
  EXPECT_EQ(container->mounts[0].name, spec.volume_name);
  EXPECT_EQ(container->mounts[0].destination, spec.volume_target);
  EXPECT_EQ(NoNewPrivs(container->pid), "1");

  auto listed = runtime_->List(RunLabels());
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, id);
  EXPECT_EQ(listed->front().name, spec.name);
  EXPECT_EQ(listed->front().state, ContainerState::kRunning);

  auto logs = runtime_->Logs(id, 50);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_NE(logs->find("listening"), std::string::npos) << *logs;

  EXPECT_EQ(runtime_->Remove(id, /*force=*/false).code(), ErrorCode::kAlreadyExists);

  const auto stop_start = Clock::now();
  ASSERT_OK(runtime_->Stop(id, seconds(5)));
  const double to_stopped = SecondsSince(stop_start);
  auto stopped = runtime_->Inspect(id);
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->state, ContainerState::kExited);
  EXPECT_TRUE(stopped->ip_address.empty());
  EXPECT_TRUE(stopped->finished_at.has_value());
  auto after = runtime_->List(RunLabels());
  ASSERT_OK(after);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().state, ContainerState::kExited);
  std::fprintf(
      stderr,
      "[ swarm ] runtime: Start to running %.2f s, to /readyz 200 %.2f s (%s); Stop %.2f s\n",
      to_running, to_ready, node->name.c_str(), to_stopped);

  ASSERT_OK(runtime_->Remove(id, /*force=*/false));
  EXPECT_EQ(runtime_->Inspect(id).status().code(), ErrorCode::kNotFound);
}

TEST_F(SwarmRuntimeTest, AStartThatCannotRunReportsTheTasksError) {
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  ContainerSpec spec = AgentSpec("broken", stub);
  spec.volume_name.clear();
  spec.image =
      cluster_->registry() +
      "/berth/absent@sha256:1111111111111111111111111111111111111111111111111111111111111111";
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  ASSERT_OK(runtime_->Start(id));
  auto dead = InspectUntil(
      id, [](const ContainerInfo& i) { return i.state == ContainerState::kDead; },
      milliseconds(60000));
  ASSERT_OK(dead);
  EXPECT_EQ(dead->state, ContainerState::kDead);
  EXPECT_NE(dead->error.find("No such image"), std::string::npos) << dead->error;
}

TEST_F(SwarmRuntimeTest, EventsTellServicesCreatedAndRemoved) {
  auto stream = runtime_->Events({});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  ContainerSpec spec = AgentSpec("events", stub);
  spec.volume_name.clear();
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  ASSERT_OK(runtime_->Remove(id, /*force=*/true));

  // Reads until the removal of this service arrives; the stream is closed after 20 s at most.
  auto reader = std::async(std::launch::async, [&]() {
    std::vector<ContainerEvent> seen;
    for (;;) {
      auto event = (*stream)->Next();
      if (!event.ok()) return seen;
      if (event->container_id != id) continue;
      seen.push_back(*event);
      if (event->kind == ContainerEventKind::kDestroyed) return seen;
    }
  });
  if (reader.wait_for(seconds(20)) != std::future_status::ready) (*stream)->Close();
  const std::vector<ContainerEvent> seen = reader.get();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().kind, ContainerEventKind::kCreated);
  EXPECT_EQ(seen.back().kind, ContainerEventKind::kDestroyed);
  (*stream)->Close();
}

}  // namespace
}  // namespace berth::runtime::swarm_test
