// SwarmRuntime on a real three-node swarm, where the nodes matter: files, volumes and the pause
// of agents through the nodes' own engines, placement by free memory, and drained or paused nodes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "runtime/swarm_runtime_fixture.hpp"

namespace berth::runtime::swarm_test {
namespace {

constexpr int64_t kMiB = 1LL << 20;

// Sets a node's availability with the docker CLI on the manager, and back to active when done.
class NodeAvailability {
 public:
  NodeAvailability(std::string manager, std::string node_id)
      : manager_(std::move(manager)), node_id_(std::move(node_id)) {}
  ~NodeAvailability() {
    if (changed_ && !Set("active")) ADD_FAILURE() << "node " << node_id_ << " left not active";
  }
  bool Set(const std::string& availability) {
    changed_ = true;
    const std::string command = "docker -H " + manager_ + " node update --availability " +
                                availability + " " + node_id_ + " >/dev/null";
    return std::system(command.c_str()) == 0;
  }

 private:
  const std::string manager_;
  const std::string node_id_;
  bool changed_ = false;
};

class SwarmRuntimeNodesTest : public SwarmRuntimeTest {
 protected:
  // The manager's view of the node with hostname `name`.
  docker::SwarmNode SwarmNodeNamed(const std::string& name) {
    auto nodes = nodes_.front()->ListNodes();
    EXPECT_TRUE(nodes.ok()) << nodes.status().ToString();
    if (nodes.ok()) {
      for (const docker::SwarmNode& n : *nodes) {
        if (n.hostname == name) return n;
      }
    }
    ADD_FAILURE() << "no node " << name;
    return {};
  }

  // A runtime like runtime_ whose node engines are `hosts`.
  std::shared_ptr<SwarmRuntime> RuntimeWithEngines(std::vector<std::string> hosts) {
    SwarmRuntimeOptions options = options_;
    options.node_engines = std::move(hosts);
    auto runtime = SwarmRuntime::Create(options);
    EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
    return runtime.ok() ? *runtime : nullptr;
  }

  std::string AbsentEngine() const { return "unix:///run/berth-swarm-absent-" + run_ + ".sock"; }
};

TEST_F(SwarmRuntimeNodesTest, PutFileWritesIntoTheRunningTasksContainerOnItsNode) {
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  const ContainerSpec spec = AgentSpec("putfile", stub);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  ContainerRuntime::FileSpec file;
  file.dir = spec.volume_target;
  file.name = "berth-test.json";
  file.content = "{\"run\":\"" + run_ + "\"}";
  file.uid = 1000;
  file.gid = 1000;
  file.mtime = std::chrono::system_clock::now();
  Status not_running = runtime_->PutFile(id, file);
  EXPECT_EQ(not_running.code(), ErrorCode::kNotFound) << not_running.ToString();

  auto running = StartRunning(id);
  ASSERT_OK(running);
  ASSERT_EQ(running->state, ContainerState::kRunning) << running->error;
  // An engine listed first that does not answer is skipped.
  auto with_absent =
      RuntimeWithEngines({AbsentEngine(), cluster_->nodes()[0].docker_host,
                          cluster_->nodes()[1].docker_host, cluster_->nodes()[2].docker_host});
  ASSERT_NE(with_absent, nullptr);
  ASSERT_OK(with_absent->PutFile(id, file));

  docker::DockerClient* engine = NodeEngine(running->node);
  ASSERT_NE(engine, nullptr) << running->node;
  auto containers = engine->ListContainers(RunLabels(), /*all=*/false);
  ASSERT_OK(containers);
  ASSERT_EQ(containers->size(), 1u);
  auto archive = engine->GetArchive(containers->front().id, file.dir + "/" + file.name);
  ASSERT_OK(archive);
  EXPECT_NE(archive->find(file.content), std::string::npos);

  // Through the manager alone there is no way in: the error names the node and the setting.
  auto manager_only = RuntimeWithEngines({});
  ASSERT_NE(manager_only, nullptr);
  Status refused = manager_only->PutFile(id, file);
  EXPECT_EQ(refused.code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.message().find("BERTH_SWARM_NODE_ENGINES"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find(running->node), std::string::npos) << refused.message();
}

TEST_F(SwarmRuntimeNodesTest, PauseFreezesTheTasksContainerOnItsNodeAndAStopThawsIt) {
  EXPECT_TRUE(runtime_->SupportsPause());
  auto manager_only = RuntimeWithEngines({});
  ASSERT_NE(manager_only, nullptr);
  EXPECT_FALSE(manager_only->SupportsPause()) << "only a node's engine can pause";

  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  const ContainerSpec spec = AgentSpec("pause", stub);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(runtime_->Pause(id).code(), ErrorCode::kAlreadyExists) << "no task runs yet";
  auto running = StartRunning(id);
  ASSERT_OK(running);
  ASSERT_EQ(running->state, ContainerState::kRunning) << running->error;
  docker::DockerClient* engine = NodeEngine(running->node);
  ASSERT_NE(engine, nullptr) << running->node;
  auto engine_state = [&] {
    auto listed = engine->ListContainers(RunLabels(), /*all=*/true);
    return listed.ok() && listed->size() == 1 ? listed->front().state : std::string("?");
  };
  auto listed_state = [&] {
    auto listed = runtime_->List(RunLabels());
    return listed.ok() && listed->size() == 1 ? listed->front().state : ContainerState::kDead;
  };

  ASSERT_OK(runtime_->Pause(id));
  EXPECT_TRUE(runtime_->Pause(id).ok()) << "pausing a paused agent is ok";
  EXPECT_EQ(engine_state(), "paused");
  // The manager still says running; the runtime asks the node.
  EXPECT_EQ(runtime_->Inspect(id)->state, ContainerState::kPaused);
  EXPECT_EQ(listed_state(), ContainerState::kPaused);

  ASSERT_OK(runtime_->Unpause(id));
  EXPECT_TRUE(runtime_->Unpause(id).ok()) << "unpausing a running agent is ok";
  EXPECT_EQ(engine_state(), "running");
  EXPECT_EQ(runtime_->Inspect(id)->state, ContainerState::kRunning);
  EXPECT_EQ(listed_state(), ContainerState::kRunning);

  // Paused again, then stopped: thawed first, so the agent ends on the stop's SIGTERM (a frozen
  // one would be killed after the grace: 137).
  ASSERT_OK(runtime_->Pause(id));
  auto containers = engine->ListContainers(RunLabels(), /*all=*/true);
  ASSERT_OK(containers);
  ASSERT_EQ(containers->size(), 1u);
  ASSERT_OK(runtime_->Stop(id, seconds(5)));
  auto stopped = engine->InspectContainer(containers->front().id);
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->status, "exited");
  EXPECT_EQ(stopped->exit_code, 0);
  EXPECT_EQ(runtime_->Unpause(id).code(), ErrorCode::kAlreadyExists) << "no task runs any more";
}

TEST_F(SwarmRuntimeNodesTest, RemoveVolumeFindsTheNodeThatHoldsIt) {
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  const ContainerSpec spec = AgentSpec("volume", stub);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  auto running = StartRunning(id);
  ASSERT_OK(running);
  ASSERT_EQ(running->state, ContainerState::kRunning) << running->error;
  docker::DockerClient* holder = NodeEngine(running->node);
  ASSERT_NE(holder, nullptr);
  ASSERT_OK(holder->InspectVolume(spec.volume_name));

  ASSERT_OK(runtime_->Stop(id, seconds(5)));
  ASSERT_OK(runtime_->Remove(id, /*force=*/false));
  // The task's container goes a moment after the service: the volume is in use until then.
  Status removed = runtime_->RemoveVolume(spec.volume_name);
  for (const auto deadline = Clock::now() + seconds(30);
       removed.code() == ErrorCode::kAlreadyExists && Clock::now() < deadline;) {
    std::this_thread::sleep_for(milliseconds(250));
    removed = runtime_->RemoveVolume(spec.volume_name);
  }
  ASSERT_OK(removed);
  for (auto& node : nodes_) {
    EXPECT_EQ(node->InspectVolume(spec.volume_name).status().code(), ErrorCode::kNotFound);
  }
  Status again = runtime_->RemoveVolume(spec.volume_name);
  EXPECT_EQ(again.code(), ErrorCode::kNotFound) << again.ToString();

  // Not found on the engines that answered, but one did not: that one may hold it.
  auto with_absent = RuntimeWithEngines({cluster_->nodes()[0].docker_host, AbsentEngine()});
  ASSERT_NE(with_absent, nullptr);
  Status unsure = with_absent->RemoveVolume(spec.volume_name);
  EXPECT_EQ(unsure.code(), ErrorCode::kUnavailable) << unsure.ToString();
  EXPECT_NE(unsure.message().find(AbsentEngine()), std::string::npos) << unsure.message();
}

TEST_F(SwarmRuntimeNodesTest, AgentsArePlacedOnTheNodeWithMostFreeMemoryAndStayThere) {
  auto first = runtime_->PlaceAgent(256 * kMiB);
  ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  const docker::SwarmNode first_node = SwarmNodeNamed((*first)->name);
  EXPECT_EQ(first_node.id, (*first)->id);
  // Placed before the first one's service exists, another agent counts it all the same (the
  // runtime's pending placements), so agents started together spread.
  auto together = runtime_->PlaceAgent(256 * kMiB);
  ASSERT_OK(together);
  EXPECT_NE(together->value().id, (*first)->id);

  // An agent pinned there reserves 2 GiB of it: the next one goes elsewhere.
  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  ContainerSpec spec = AgentSpec("placed", stub);
  spec.volume_name.clear();
  spec.memory_bytes = 2048 * kMiB;
  spec.node_id = (*first)->id;
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  auto running = StartRunning(id);
  ASSERT_OK(running);
  ASSERT_EQ(running->state, ContainerState::kRunning) << running->error;
  EXPECT_EQ(running->node, (*first)->name);

  auto second = runtime_->PlaceAgent(256 * kMiB);
  ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  EXPECT_NE((*second)->id, (*first)->id);

  // Nothing fits a petabyte: the message tells what each node has left.
  auto none = runtime_->PlaceAgent(1LL << 50);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kResourceExhausted);
  for (const auto& node : cluster_->nodes()) {
    EXPECT_NE(none.status().message().find(node.name + " ("), std::string::npos)
        << none.status().message();
  }
  std::fprintf(stderr, "[ swarm ] placement: %s\n", none.status().message().c_str());
}

TEST_F(SwarmRuntimeNodesTest, ADrainedOrPausedNodeTakesNoAgentsAndSaysSo) {
  const docker::SwarmNode worker = SwarmNodeNamed(cluster_->nodes()[2].name);
  ASSERT_FALSE(worker.id.empty());
  const NodePlacement pinned{worker.id, worker.hostname};
  ASSERT_OK(runtime_->CheckNode(pinned));

  NodeAvailability availability(cluster_->manager_host(), worker.id);
  ASSERT_TRUE(availability.Set("drain"));
  Status drained = runtime_->CheckNode(pinned);
  EXPECT_EQ(drained.code(), ErrorCode::kUnavailable);
  EXPECT_NE(drained.message().find(worker.hostname + " (" + worker.id + ") is drained"),
            std::string::npos)
      << drained.message();
  EXPECT_NE(drained.message().find("state lives on that node"), std::string::npos);
  std::set<std::string> chosen;
  for (int64_t mib : {256, 512, 1024}) {
    auto placed = runtime_->PlaceAgent(mib * kMiB);
    ASSERT_OK(placed);
    chosen.insert((*placed)->id);
  }
  EXPECT_EQ(chosen.count(worker.id), 0u);
  auto none = runtime_->PlaceAgent(1LL << 50);
  EXPECT_NE(none.status().message().find("but drained"), std::string::npos)
      << none.status().message();

  ASSERT_TRUE(availability.Set("pause"));
  EXPECT_NE(runtime_->CheckNode(pinned).message().find("is paused"), std::string::npos);

  Status gone = runtime_->CheckNode({"nosuchnode0123456789abcd", "gone-node"});
  EXPECT_EQ(gone.code(), ErrorCode::kUnavailable);
  EXPECT_NE(gone.message().find("gone-node (nosuchnode0123456789abcd) has left the swarm"),
            std::string::npos)
      << gone.message();
}

}  // namespace
}  // namespace berth::runtime::swarm_test
