// The fixture of SwarmRuntime's tests on a real three-node swarm (SwarmTestCluster): a runtime
// on the manager that reaches every node's engine, and cleanup by id of what a test made.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "docker/docker_client.hpp"
#include "runtime/swarm_runtime.hpp"
#include "support/agent_config_stub.hpp"
#include "support/swarm_test_cluster.hpp"

// Asserts that a Status or Result is ok, showing the error when it is not.
#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    const auto& berth_assert_ok_ = (expr);                                  \
    ASSERT_TRUE(::berth::StatusOf(berth_assert_ok_).ok())                   \
        << #expr << ": " << ::berth::StatusOf(berth_assert_ok_).ToString(); \
  } while (0)

namespace berth::runtime::swarm_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline std::unique_ptr<docker::DockerClient> Connect(const std::string& host) {
  auto endpoint = docker::ParseDockerHost(host, "", "");
  if (!endpoint.ok()) return nullptr;
  auto client = docker::DockerClient::Create(*endpoint);
  return client.ok() ? std::move(client).value() : nullptr;
}

// The NoNewPrivs flag of process `pid` on this machine (the nodes' containers run here).
inline std::string NoNewPrivs(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("NoNewPrivs:", 0) == 0) return line.substr(line.find_last_of(" \t") + 1);
  }
  return "";
}

class SwarmRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip, error;
    cluster_ = berth::testing::SwarmTestCluster::Shared(&skip, &error);
    if (!skip.empty()) GTEST_SKIP() << "the swarm test cluster cannot run here: " << skip;
    ASSERT_NE(cluster_, nullptr) << error;
    options_.docker_host = cluster_->manager_host();
    options_.stop_grace = seconds(5);
    for (const auto& node : cluster_->nodes()) options_.node_engines.push_back(node.docker_host);
    auto runtime = SwarmRuntime::Create(options_);
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = *runtime;
    for (const auto& node : cluster_->nodes()) {
      nodes_.push_back(Connect(node.docker_host));
      ASSERT_NE(nodes_.back(), nullptr);
    }
    run_ = HexEncode(NewId(4)).substr(0, 8);
  }

  void TearDown() override {
    if (runtime_ == nullptr) return;
    for (const std::string& id : services_) {
      Status st = runtime_->Remove(id, /*force=*/true);
      if (!st.ok() && st.code() != ErrorCode::kNotFound) ADD_FAILURE() << st.ToString();
    }
    // Volumes live on the nodes that ran the agents; they go once their tasks' containers have.
    for (const std::string& volume : volumes_) {
      for (auto& node : nodes_) {
        const auto deadline = Clock::now() + seconds(30);
        Status st = node->RemoveVolume(volume, false);
        while (st.code() == ErrorCode::kAlreadyExists && Clock::now() < deadline) {
          std::this_thread::sleep_for(milliseconds(250));
          st = node->RemoveVolume(volume, false);
        }
        if (!st.ok() && st.code() != ErrorCode::kNotFound) ADD_FAILURE() << st.ToString();
      }
    }
  }

  Labels RunLabels() const { return {{"berth.swarm-test", run_}}; }

  ContainerSpec AgentSpec(const std::string& suffix, const berth::testing::AgentConfigStub& stub) {
    ContainerSpec spec;
    spec.name = cluster_->prefix() + "-" + run_ + "-" + suffix;
    spec.image = cluster_->test_agent_image();
    spec.env = {{"MOSAIC_API_URL", stub.ApiUrl()},
                {"AGENT_TOKEN", "swarm-runtime-token"},
                {"AGENT_ID", spec.name}};
    spec.labels = RunLabels();
    spec.volume_name = spec.name + "-state";
    spec.volume_target = "/home/node/.openclaw";
    spec.memory_bytes = 256LL << 20;
    spec.nano_cpus = 500000000;
    spec.pids_limit = 128;
    return spec;
  }

  std::string Create(const ContainerSpec& spec) {
    auto id = runtime_->Create(spec);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    services_.push_back(*id);
    if (!spec.volume_name.empty()) volumes_.push_back(spec.volume_name);
    return *id;
  }

  // Inspects until `done` holds for the info (or the timeout passes; then the last info).
  template <typename Pred>
  Result<ContainerInfo> InspectUntil(const std::string& id, Pred done, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      auto info = runtime_->Inspect(id);
      if (!info.ok() || done(*info) || Clock::now() >= deadline) return info;
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  // Starts `id` and waits (up to a minute) until it runs or cannot.
  Result<ContainerInfo> StartRunning(const std::string& id) {
    Status started = runtime_->Start(id);
    if (!started.ok()) return started;
    return InspectUntil(
        id,
        [](const ContainerInfo& i) {
          return i.state == ContainerState::kRunning || i.state == ContainerState::kDead;
        },
        milliseconds(60000));
  }

  // The engine of the node with hostname `name` (nullptr when none).
  docker::DockerClient* NodeEngine(const std::string& name) {
    for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) {
      if (cluster_->nodes()[i].name == name) return nodes_[i].get();
    }
    return nullptr;
  }

  berth::testing::SwarmTestCluster* cluster_ = nullptr;
  SwarmRuntimeOptions options_;  // runtime_'s: the manager and every node's engine
  std::shared_ptr<SwarmRuntime> runtime_;
  std::vector<std::unique_ptr<docker::DockerClient>> nodes_;
  std::string run_;
  std::vector<std::string> services_;
  std::vector<std::string> volumes_;
};

}  // namespace berth::runtime::swarm_test
