#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "docker/docker_client.hpp"
#include "support/swarm_test_cluster.hpp"

namespace berth::runtime {

// The real three-node swarm (SwarmTestCluster) with a client for the manager and one for each
// node's engine. What a test makes it registers here and TearDown removes by id, pass or fail:
// services first, then networks in the order registered (swarm-scoped before config-only).
class SwarmNetTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // "<prefix>-<run>-<suffix>": the cluster's prefix marks it as this cluster's.
  std::string Name(const std::string& suffix) const;
  std::vector<docker::DockerClient*> NodeEngines() const;
  void TrackService(const std::string& id) { services_.push_back(id); }
  void TrackNetwork(docker::DockerClient* engine, const std::string& id) {
    networks_.emplace_back(engine, id);
  }
  // Registers for removal every network named `name` on the manager (the swarm-scoped bridge),
  // then every `<name>-cfg` on each node, as EnsureSwarmBridge made them.
  void TrackBridge(const std::string& name);
  // Waits until a task of `service` meant to run is running; nullopt (and a failure) when one
  // failed or none runs in time.
  std::optional<docker::SwarmTask> WaitRunning(const std::string& service,
                                               std::chrono::milliseconds timeout);
  // The index in cluster_->nodes() of the node with swarm id `node_id`, or -1.
  int NodeIndex(const std::string& node_id);
  std::string NodeId(int index);
  // Runs `sh -c script` in container `id` on node `index` (`docker exec` through the docker CLI);
  // returns the exit code, its output in *output.
  int Exec(int index, const std::string& id, const std::string& script, std::string* output);

  berth::testing::SwarmTestCluster* cluster_ = nullptr;
  std::unique_ptr<docker::DockerClient> manager_;
  std::vector<std::unique_ptr<docker::DockerClient>> nodes_;
  std::string run_;

 private:
  std::vector<std::string> services_;
  std::vector<std::pair<docker::DockerClient*, std::string>> networks_;
  std::vector<std::string> node_ids_;  // by index, filled at SetUp
};

// Runs `command` through the shell; its exit code (-1 when it could not run), stdout and stderr
// in *output.
int RunShell(const std::string& command, std::string* output);

}  // namespace berth::runtime
