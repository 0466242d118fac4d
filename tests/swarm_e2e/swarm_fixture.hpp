#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
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
    std::size_t tasks = 0;  // tasks of the service that are not final
  };
  Task TaskOf(const std::string& user_id) const;
  // The engine of the node with this swarm id ("" when unknown).
  std::string NodeHost(const std::string& node_id) const;
  std::string NodeName(const std::string& node_id) const;
  // `docker exec` through the CLI on that node's engine; its exit code.
  int Exec(const std::string& node_id, const std::string& container_id, const std::string& script,
           std::string* output = nullptr) const;

 public:  // for the guards tests make
  // Runs the docker CLI against the manager; its exit code.
  int ManagerCli(const std::string& args, std::string* output = nullptr) const;

 protected:
  static bool Eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string InstanceId() const;

  SwarmTestCluster* cluster_ = nullptr;
  std::unique_ptr<docker::DockerClient> manager_;
  std::unique_ptr<FakeLlm> llm_;
  TempDir dir_;
  std::string network_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<BerthProcess> berth_;
};

}  // namespace berth::testing
