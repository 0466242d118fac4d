#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "docker/docker_client.hpp"
#include "lifecycle_openclaw/fake_llm.hpp"
#include "support/berth_process.hpp"
#include "support/swarm_test_cluster.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {

// A `berth serve` with BERTH_RUNTIME=swarm on the host, talking to the manager of the shared
// three-node test swarm (SwarmTestCluster), the nodes' engines for config pushes and volumes, a
// per-test agent network, and a fake LLM on the host's link address (which agents on every node
// reach). Everything berth makes carries its database's instance id; TearDown removes it by id
// (services, volumes on every node, the network), pass or fail.
class SwarmE2eTest : public ::testing::Test {
 protected:
  static constexpr const char* kAdminToken = "swarm-e2e-admin-token-0123456789abcdefghij";
  static constexpr const char* kUpstreamKey = "sk-upstream-swarm-e2e-secret";

  void SetUp() override;
  void TearDown() override;

  // Starts berth with env_ and waits until /api/ready answers 200 (the swarm reconciled).
  void StartBerth();
  // A user with the fake LLM as provider "fakellm" (models fake-model-1, fake-model-2).
  std::pair<std::string, std::string> UserWithProvider(const std::string& name);
  HttpResult StartAgent(const std::string& token) const;
  // The user's agent as the admin fleet view shows it (null when it is not there).
  nlohmann::json FleetEntry(const std::string& user_id) const;
  // The node the admin fleet view shows for the user's agent ("" when none).
  std::string NodeOf(const std::string& user_id) const;
  // A streamed chat through berth; returns the text of its content deltas ("" on failure, with
  // the reason in *error).
  std::string StreamedChat(const std::string& token, std::string* error) const;

  // The user's service on the manager and its task meant to run (empty ids when none).
  struct Task {
    std::string service_id;
    uint64_t replicas = 0;
    std::string node_id;
    std::string container_id;
    std::string state;
    std::size_t tasks = 0;   // tasks of the service that are not final
    int published_port = 0;  // the gateway's, on its node (0 when none)
  };
  Task TaskOf(const std::string& user_id) const;
  // The task's container's address on the agents' network ("" when unknown).
  std::string AgentNetworkAddress(const Task& task) const;
  // The index in cluster_->nodes() of the node with this swarm id (-1 when unknown).
  int NodeIndex(const std::string& node_id) const;
  // The engine of the node with this swarm id ("" when unknown).
  std::string NodeHost(const std::string& node_id) const;
  std::string NodeName(const std::string& node_id) const;
  // `docker exec` through the CLI on that node's engine; its exit code.
  int Exec(const std::string& node_id, const std::string& container_id, const std::string& script,
           std::string* output = nullptr) const;
  // From inside the user's agent: "ok" when a TCP connection to addr:port opens, else nc's
  // complaint ("... refused", "... timed out").
  std::string Reach(const std::string& user_id, const std::string& addr, int port) const;
  // scripts/swarm-node-firewall.sh `args` in the namespace of node `index` (cluster_->nodes());
  // its exit code. An applied firewall is removed again at TearDown.
  int Firewall(std::size_t index, const std::string& args, std::string* output = nullptr);

 public:  // for the guards tests make
  // Runs the docker CLI against the manager; its exit code.
  int ManagerCli(const std::string& args, std::string* output = nullptr) const;

 protected:
  static bool Eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string InstanceId() const;

  // Set in a test's constructor for a cluster of its own (one it breaks), taken down after it.
  bool private_cluster_ = false;
  std::unique_ptr<SwarmTestCluster> own_cluster_;
  SwarmTestCluster* cluster_ = nullptr;
  std::unique_ptr<docker::DockerClient> manager_;
  std::unique_ptr<FakeLlm> llm_;
  TempDir dir_;
  std::string network_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<BerthProcess> berth_;

 private:
  std::vector<std::size_t> firewalled_;
};

}  // namespace berth::testing
