#include "runtime/swarm_net_fixture.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "common/ids.hpp"
#include "runtime/swarm_network.hpp"

namespace berth::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::unique_ptr<docker::DockerClient> Connect(const std::string& host) {
  auto endpoint = docker::ParseDockerHost(host, "", "");
  if (!endpoint.ok()) return nullptr;
  auto client = docker::DockerClient::Create(*endpoint);
  return client.ok() ? std::move(client).value() : nullptr;
}

}  // namespace

int RunShell(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void SwarmNetTest::SetUp() {
  std::string skip, error;
  cluster_ = berth::testing::SwarmTestCluster::Shared(&skip, &error);
  if (!skip.empty()) GTEST_SKIP() << "the swarm test cluster cannot run here: " << skip;
  ASSERT_NE(cluster_, nullptr) << error;
  manager_ = Connect(cluster_->manager_host());
  ASSERT_NE(manager_, nullptr);
  for (const auto& node : cluster_->nodes()) {
    nodes_.push_back(Connect(node.docker_host));
    ASSERT_NE(nodes_.back(), nullptr);
    auto info = nodes_.back()->Info();
    ASSERT_TRUE(info.ok()) << node.name << ": " << info.status().ToString();
    node_ids_.push_back(info->swarm.node_id);
  }
  run_ = HexEncode(NewId(4)).substr(0, 8);
}

void SwarmNetTest::TearDown() {
  if (manager_ == nullptr) return;
  for (const std::string& id : services_) {
    if (Status st = manager_->RemoveService(id); !st.ok() && st.code() != ErrorCode::kNotFound) {
      ADD_FAILURE() << "cleanup: " << st.ToString();
    }
  }
  // A network can go once the tasks using it are gone, a moment after their service is removed.
  for (auto& [engine, id] : networks_) {
    const auto deadline = Clock::now() + seconds(60);
    Status st = engine->RemoveNetwork(id);
    while (!st.ok() && st.code() != ErrorCode::kNotFound && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(250));
      st = engine->RemoveNetwork(id);
    }
    if (!st.ok() && st.code() != ErrorCode::kNotFound) {
      ADD_FAILURE() << "cleanup: " << st.ToString();
    }
  }
}

std::string SwarmNetTest::Name(const std::string& suffix) const {
  return cluster_->prefix() + "-" + run_ + "-" + suffix;
}

std::vector<docker::DockerClient*> SwarmNetTest::NodeEngines() const {
  std::vector<docker::DockerClient*> out;
  for (const auto& node : nodes_) out.push_back(node.get());
  return out;
}

void SwarmNetTest::TrackBridge(const std::string& name) {
  auto swarm = manager_->ListNetworksNamed(name);
  ASSERT_TRUE(swarm.ok()) << swarm.status().ToString();
  for (const auto& n : *swarm) TrackNetwork(manager_.get(), n.id);
  for (auto& node : nodes_) {
    auto configs = node->ListNetworksNamed(SwarmBridgeConfigName(name));
    ASSERT_TRUE(configs.ok()) << configs.status().ToString();
    for (const auto& n : *configs) TrackNetwork(node.get(), n.id);
  }
}

std::optional<docker::SwarmTask> SwarmNetTest::WaitRunning(const std::string& service,
                                                           milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    auto tasks = manager_->ListTasks({{"service", {service}}, {"desired-state", {"running"}}});
    if (!tasks.ok()) {
      ADD_FAILURE() << tasks.status().ToString();
      return std::nullopt;
    }
    for (const docker::SwarmTask& t : *tasks) {
      if (t.state == "running") return t;
      last = t.state + (t.error.empty() ? "" : ": " + t.error);
      if (t.state == "failed" || t.state == "rejected" || t.state == "orphaned") {
        ADD_FAILURE() << "task " << t.id << " " << last;
        return std::nullopt;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  ADD_FAILURE() << "no task of " << service << " running within " << timeout.count()
                << " ms; last: " << last;
  return std::nullopt;
}

int SwarmNetTest::NodeIndex(const std::string& node_id) {
  for (std::size_t i = 0; i < node_ids_.size(); ++i) {
    if (node_ids_[i] == node_id) return static_cast<int>(i);
  }
  return -1;
}

std::string SwarmNetTest::NodeId(int index) { return node_ids_.at(index); }

int SwarmNetTest::Exec(int index, const std::string& id, const std::string& script,
                       std::string* output) {
  return RunShell("docker -H '" + cluster_->nodes().at(index).docker_host + "' exec " + id +
                      " sh -c '" + script + "'",
                  output);
}

}  // namespace berth::runtime
