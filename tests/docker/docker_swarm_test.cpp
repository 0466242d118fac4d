// DockerClient's Swarm calls against a real three-node swarm on this machine (SwarmTestCluster).
// Everything a test creates carries the run's label and is removed by id in TearDown.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "common/ids.hpp"
#include "docker/docker_client.hpp"
#include "support/agent_config_stub.hpp"
#include "support/http_client.hpp"
#include "support/swarm_test_cluster.hpp"

// Asserts that a Status or Result is ok, showing the error when it is not.
#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    const auto& berth_assert_ok_ = (expr);                                  \
    ASSERT_TRUE(::berth::StatusOf(berth_assert_ok_).ok())                   \
        << #expr << ": " << ::berth::StatusOf(berth_assert_ok_).ToString(); \
  } while (0)

namespace berth::docker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using Filters = std::map<std::string, std::vector<std::string>>;

constexpr int kGatewayPort = 18789;
constexpr int64_t kMiB = 1024 * 1024;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using ConfigStub = berth::testing::AgentConfigStub;

std::unique_ptr<DockerClient> Connect(const std::string& host) {
  auto endpoint = ParseDockerHost(host, "", "");
  if (!endpoint.ok()) return nullptr;
  auto client = DockerClient::Create(*endpoint);
  return client.ok() ? std::move(client).value() : nullptr;
}

class DockerSwarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip, error;
    cluster_ = berth::testing::SwarmTestCluster::Shared(&skip, &error);
    if (!skip.empty()) GTEST_SKIP() << "the swarm test cluster cannot run here: " << skip;
    ASSERT_NE(cluster_, nullptr) << error;
    manager_ = Connect(cluster_->manager_host());
    ASSERT_NE(manager_, nullptr);
    for (const auto& node : cluster_->nodes()) {
      nodes_.push_back(Connect(node.docker_host));
      ASSERT_NE(nodes_.back(), nullptr);
    }
    run_ = HexEncode(NewId(4)).substr(0, 8);
  }

  void TearDown() override {
    if (manager_ == nullptr) return;
    for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
      if (Status st = manager_->RemoveService(*it); !st.ok() && st.code() != ErrorCode::kNotFound) {
        ADD_FAILURE() << "cleanup: " << st.ToString();
      }
    }
    // A network can go once the tasks using it are gone, which takes a moment after their
    // service is removed.
    for (auto& [client, id] : networks_) {
      const auto deadline = Clock::now() + seconds(60);
      Status st = client->RemoveNetwork(id);
      while (!st.ok() && st.code() != ErrorCode::kNotFound && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(250));
        st = client->RemoveNetwork(id);
      }
      if (!st.ok() && st.code() != ErrorCode::kNotFound) {
        ADD_FAILURE() << "cleanup: " << st.ToString();
      }
    }
  }

  std::string Name(const std::string& suffix) const {
    return cluster_->prefix() + "-" + run_ + "-" + suffix;
  }
  LabelMap Labels() const { return {{"berth.swarm-test", run_}}; }

  // The test agent as a service: config from `stub`, gateway published in host mode on a port the
  // node picks, a memory reservation so the scheduler accounts for it.
  ServiceSpec AgentSpec(const std::string& suffix, const ConfigStub& stub, uint64_t replicas) {
    ServiceSpec spec;
    spec.name = Name(suffix);
    spec.labels = Labels();
    spec.container_labels = Labels();
    spec.image = cluster_->test_agent_image();
    spec.env = {"MOSAIC_API_URL=" + stub.ApiUrl(), "AGENT_TOKEN=swarm-test-token",
                "AGENT_ID=" + spec.name};
    spec.init = true;
    spec.cap_drop = {"ALL"};
    spec.memory_limit = 256 * kMiB;
    spec.memory_reservation = 64 * kMiB;
    spec.pids_limit = 256;
    spec.stop_grace_period = seconds(5);
    spec.replicas = replicas;
    spec.ports = {ServicePort{"tcp", kGatewayPort, 0, "host"}};
    return spec;
  }

  std::string Create(const ServiceSpec& spec) {
    auto id = manager_->CreateService(spec);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    services_.push_back(*id);
    return *id;
  }

  // What every caller of a compare-and-swap update does: on kAborted, read again and retry. (On a
  // freshly made swarm, one update right after the create was refused once; not reproduced since:
  // a service's version can move without berth touching it.)
  Status Scale(const std::string& id, uint64_t replicas) {
    Status st = Aborted("not tried");
    for (int attempt = 0; attempt < 10 && st.code() == ErrorCode::kAborted; ++attempt) {
      auto service = manager_->InspectService(id);
      if (!service.ok()) return service.status();
      st = manager_->ScaleService(*service, replicas);
    }
    return st;
  }

  void TrackNetwork(DockerClient* client, const std::string& id) {
    networks_.emplace_back(client, id);
  }

  // Waits until a task of `service` meant to run is in state running; fails at once when one
  // ended in a state it cannot leave (the task's own error in the message).
  std::optional<SwarmTask> WaitRunning(const std::string& service, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string last;
    while (Clock::now() < deadline) {
      auto tasks = manager_->ListTasks({{"service", {service}}, {"desired-state", {"running"}}});
      if (!tasks.ok()) {
        ADD_FAILURE() << tasks.status().ToString();
        return std::nullopt;
      }
      for (const SwarmTask& t : *tasks) {
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

  std::string NodeAddr(const std::string& node_id) {
    auto node = manager_->InspectNode(node_id);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    return node.ok() ? node->addr : "";
  }

  berth::testing::SwarmTestCluster* cluster_ = nullptr;
  std::unique_ptr<DockerClient> manager_;
  std::vector<std::unique_ptr<DockerClient>> nodes_;
  std::string run_;
  std::vector<std::string> services_;
  std::vector<std::pair<DockerClient*, std::string>> networks_;
};

TEST_F(DockerSwarmTest, InfoTellsAManagerFromAWorker) {
  auto manager = manager_->Info();
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  EXPECT_TRUE(manager->swarm.control_available);
  EXPECT_EQ(manager->swarm.local_node_state, "active");
  EXPECT_FALSE(manager->swarm.node_id.empty());
  EXPECT_EQ(manager->swarm.node_addr, cluster_->nodes()[0].addr);
  EXPECT_FALSE(manager->swarm.cluster_id.empty());
  EXPECT_EQ(manager->swarm.nodes, static_cast<int64_t>(cluster_->nodes().size()));
  EXPECT_EQ(manager->swarm.managers, 1);
  EXPECT_EQ(manager->name, cluster_->nodes()[0].name);
  EXPECT_GT(manager->mem_total, 0);

  auto worker = nodes_[1]->Info();
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();
  EXPECT_FALSE(worker->swarm.control_available);
  EXPECT_EQ(worker->swarm.local_node_state, "active");
  EXPECT_EQ(worker->name, cluster_->nodes()[1].name);

  // A worker refuses what only a manager serves.
  auto nodes = nodes_[1]->ListNodes();
  ASSERT_FALSE(nodes.ok());
  EXPECT_NE(nodes.status().message().find("not a swarm manager"), std::string::npos)
      << nodes.status().ToString();
}

TEST_F(DockerSwarmTest, ListsNodesWithAddressesAndResources) {
  auto nodes = manager_->ListNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  ASSERT_EQ(nodes->size(), cluster_->nodes().size());
  int leaders = 0;
  for (const auto& expected : cluster_->nodes()) {
    auto it = std::find_if(nodes->begin(), nodes->end(),
                           [&](const SwarmNode& n) { return n.hostname == expected.name; });
    ASSERT_NE(it, nodes->end()) << expected.name;
    EXPECT_EQ(it->addr, expected.addr);
    EXPECT_EQ(it->state, "ready");
    EXPECT_EQ(it->availability, "active");
    EXPECT_GT(it->version, 0u);
    EXPECT_GT(it->memory_bytes, 0);
    EXPECT_GT(it->nano_cpus, 0);
    EXPECT_FALSE(it->engine_version.empty());
    leaders += it->leader ? 1 : 0;
    auto inspected = manager_->InspectNode(it->id);
    ASSERT_TRUE(inspected.ok()) << inspected.status().ToString();
    EXPECT_EQ(inspected->hostname, expected.name);
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(manager_->InspectNode("no-such-node").status().code(), ErrorCode::kNotFound);
}

TEST_F(DockerSwarmTest, ServiceScalesZeroOneZeroAndAnswersOnItsNodesPublishedPort) {
  ConfigStub stub(cluster_->host_addr());
  ASSERT_GT(stub.port(), 0);
  const ServiceSpec spec = AgentSpec("agent", stub, 0);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());

  auto created = manager_->InspectService(id);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->spec.name, spec.name);
  EXPECT_EQ(created->spec.image, spec.image);
  EXPECT_EQ(created->spec.replicas, 0u);
  EXPECT_EQ(created->spec.memory_reservation, 64 * kMiB);
  EXPECT_EQ(created->spec.memory_limit, 256 * kMiB);
  EXPECT_EQ(created->spec.pids_limit, 256);
  EXPECT_TRUE(created->spec.init);
  EXPECT_EQ(created->spec.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(created->spec.stop_grace_period, seconds(5));
  EXPECT_EQ(created->spec.endpoint_mode, "dnsrr");
  EXPECT_EQ(created->spec.ports, spec.ports);
  EXPECT_EQ(created->spec.labels, Labels());
  EXPECT_EQ(created->spec.container_labels, Labels());
  EXPECT_GT(created->version, 0u);
  EXPECT_TRUE(created->created_at.has_value());
  EXPECT_FALSE(created->running_tasks.has_value()) << "counts come only with the list";
  EXPECT_EQ(manager_->InspectService(spec.name)->id, id) << "by name too";

  auto listed = manager_->ListServices(Labels());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, id);
  EXPECT_EQ(listed->front().running_tasks, 0u);
  EXPECT_EQ(listed->front().desired_tasks, 0u);

  // 0 → 1: a task runs on some node, which published the gateway on a port of its own choice.
  const auto up_start = Clock::now();
  Status scaled = Scale(id, 1);
  ASSERT_TRUE(scaled.ok()) << scaled.ToString();
  auto task = WaitRunning(id, milliseconds(60000));
  ASSERT_TRUE(task.has_value());
  const double to_running = SecondsSince(up_start);
  EXPECT_EQ(task->service_id, id);
  EXPECT_EQ(task->desired_state, "running");
  EXPECT_FALSE(task->container_id.empty());
  ASSERT_EQ(task->ports.size(), 1u) << "IPv4 and IPv6 entries of one port count once";
  EXPECT_EQ(task->ports[0].target_port, kGatewayPort);
  EXPECT_EQ(task->ports[0].publish_mode, "host");
  const int port = task->ports[0].published_port;
  EXPECT_GT(port, 0);
  const std::string addr = NodeAddr(task->node_id);
  ASSERT_FALSE(addr.empty());

  // The container is on that node's engine, with the spec's limits.
  auto node_it = std::find_if(cluster_->nodes().begin(), cluster_->nodes().end(),
                              [&](const auto& n) { return n.addr == addr; });
  ASSERT_NE(node_it, cluster_->nodes().end());
  DockerClient& node = *nodes_[node_it - cluster_->nodes().begin()];
  auto container = node.InspectContainer(task->container_id);
  ASSERT_TRUE(container.ok()) << container.status().ToString();
  EXPECT_TRUE(container->init);
  EXPECT_EQ(container->memory, 256 * kMiB);
  EXPECT_EQ(container->labels.at("berth.swarm-test"), run_);

  // Task state says little on this kernel: readiness is /readyz over the network.
  const auto ready_start = Clock::now();
  berth::testing::HttpResult ready;
  while (SecondsSince(ready_start) < 30) {
    ready = berth::testing::HttpRequest("GET", addr, static_cast<unsigned short>(port), "/readyz");
    if (ready.status == 200) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(ready.status, 200) << addr << ":" << port << " " << ready.body;
  const double to_ready = SecondsSince(up_start);
  EXPECT_GE(stub.requests(), 1) << "the agent fetched its config from the host";

  auto counted = manager_->ListServices(Labels());
  ASSERT_OK(counted);
  ASSERT_EQ(counted->size(), 1u);
  EXPECT_EQ(counted->front().running_tasks, 1u);
  EXPECT_EQ(counted->front().desired_tasks, 1u);

  // 1 → 0: the task is shut down and its container goes away.
  auto running = manager_->InspectService(id);
  ASSERT_OK(running);
  EXPECT_GT(running->version, created->version);
  const auto down_start = Clock::now();
  scaled = Scale(id, 0);
  ASSERT_TRUE(scaled.ok()) << scaled.ToString();
  bool stopped = false;
  while (SecondsSince(down_start) < 60 && !stopped) {
    auto tasks = manager_->ListTasks({{"service", {id}}});
    ASSERT_OK(tasks);
    stopped = std::all_of(tasks->begin(), tasks->end(), [](const SwarmTask& t) {
      return t.desired_state != "running" && t.state != "running";
    });
    if (!stopped) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(stopped);
  const double to_stopped = SecondsSince(down_start);
  auto none = manager_->ListTasks({{"service", {id}}, {"desired-state", {"running"}}});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  std::fprintf(stderr,
               "[ swarm ] 0->1: task running after %.2f s, /readyz 200 after %.2f s (node %s); "
               "1->0: task shut down after %.2f s\n",
               to_running, to_ready, node_it->name.c_str(), to_stopped);

  ASSERT_OK(manager_->RemoveService(id));
  EXPECT_EQ(manager_->InspectService(id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(manager_->RemoveService(id).code(), ErrorCode::kNotFound);
}

TEST_F(DockerSwarmTest, AStaleVersionIsAbortedAndScalingKeepsTheTemplate) {
  ConfigStub stub(cluster_->host_addr());
  ServiceSpec spec = AgentSpec("cas", stub, 0);
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  ASSERT_OK(Scale(id, 0));  // settles the version (see Scale)
  auto v1 = manager_->InspectService(id);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();

  spec.labels["berth.swarm-test-step"] = "2";
  Status updated = manager_->UpdateService(id, v1->version, spec);
  ASSERT_TRUE(updated.ok()) << updated.ToString();
  auto v2 = manager_->InspectService(id);
  ASSERT_OK(v2);
  EXPECT_GT(v2->version, v1->version);
  EXPECT_EQ(v2->spec.labels.at("berth.swarm-test-step"), "2");

  // Both writers read v1: the second one's update is refused, typed.
  spec.labels["berth.swarm-test-step"] = "3";
  Status stale = manager_->UpdateService(id, v1->version, spec);
  EXPECT_EQ(stale.code(), ErrorCode::kAborted) << stale.ToString();
  EXPECT_NE(stale.message().find("update out of sequence"), std::string::npos) << stale.message();
  Status stale_scale = manager_->ScaleService(*v1, 1);
  EXPECT_EQ(stale_scale.code(), ErrorCode::kAborted) << stale_scale.ToString();
  auto unchanged = manager_->InspectService(id);
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->version, v2->version);
  EXPECT_EQ(unchanged->spec.replicas, 0u);

  // Scaling sends the engine's own spec back: the template is untouched, so 1 → 2 keeps the
  // running task.
  ASSERT_OK(manager_->ScaleService(*unchanged, 1));
  auto first = WaitRunning(id, milliseconds(60000));
  ASSERT_TRUE(first.has_value());
  auto one = manager_->InspectService(id);
  ASSERT_OK(one);
  EXPECT_EQ(one->spec_json.find("\"Replicas\":1") != std::string::npos, true) << one->spec_json;
  ASSERT_OK(manager_->ScaleService(*one, 2));
  std::this_thread::sleep_for(milliseconds(500));
  auto tasks = manager_->ListTasks({{"service", {id}}, {"desired-state", {"running"}}});
  ASSERT_OK(tasks);
  EXPECT_EQ(tasks->size(), 2u);
  EXPECT_TRUE(std::any_of(tasks->begin(), tasks->end(), [&](const SwarmTask& t) {
    return t.id == first->id;
  })) << "the first task was replaced";
}

TEST_F(DockerSwarmTest, ATaskThatCannotStartCarriesItsError) {
  ConfigStub stub(cluster_->host_addr());
  ServiceSpec spec = AgentSpec("missing", stub, 1);
  spec.image =
      cluster_->registry() +
      "/berth/absent@sha256:0000000000000000000000000000000000000000000000000000000000000000";
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  const auto start = Clock::now();
  std::optional<SwarmTask> failed;
  while (SecondsSince(start) < 60 && !failed) {
    auto tasks = manager_->ListTasks({{"service", {id}}});
    ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
    for (const SwarmTask& t : *tasks) {
      if (t.state == "rejected" || t.state == "failed") failed = t;
    }
    if (!failed) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(failed.has_value()) << "no task failed within 60 s";
  EXPECT_FALSE(failed->error.empty());
  EXPECT_FALSE(failed->node_id.empty());
  std::fprintf(stderr, "[ swarm ] missing image: task %s after %.2f s: %s\n", failed->state.c_str(),
               SecondsSince(start), failed->error.c_str());
}

TEST_F(DockerSwarmTest, SwarmScopedBridgeFromConfigOnlyNetworksOfEachNode) {
  // One config-only network per node (its own subnet, no inter-container traffic), then the
  // swarm-scoped bridge on the manager that takes its settings from them by name.
  const std::string config_name = Name("agents-cfg");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    NetworkCreate config;
    config.name = config_name;
    config.config_only = true;
    config.subnet = "10.197." + std::to_string(i) + ".0/24";
    config.options = {{"com.docker.network.bridge.enable_icc", "false"}};
    config.labels = Labels();
    auto config_id = nodes_[i]->CreateNetwork(config);
    ASSERT_TRUE(config_id.ok()) << cluster_->nodes()[i].name << ": "
                                << config_id.status().ToString();
    TrackNetwork(nodes_[i].get(), *config_id);
    auto inspected = nodes_[i]->InspectNetwork(*config_id);
    ASSERT_OK(inspected);
    EXPECT_TRUE(inspected->config_only);
    EXPECT_EQ(inspected->subnet, config.subnet);
  }
  NetworkCreate network;
  network.name = Name("agents");
  network.driver = "bridge";
  network.scope = "swarm";
  network.config_from = config_name;  // and no labels: the engine refuses them here
  auto network_id = manager_->CreateNetwork(network);
  ASSERT_TRUE(network_id.ok()) << network_id.status().ToString();
  // Removed before the config-only ones it takes from (cleanup runs in reverse).
  networks_.insert(networks_.begin(), {manager_.get(), *network_id});
  auto swarm_net = manager_->InspectNetwork(*network_id);
  ASSERT_TRUE(swarm_net.ok()) << swarm_net.status().ToString();
  EXPECT_EQ(swarm_net->scope, "swarm");
  EXPECT_EQ(swarm_net->config_from, config_name);

  ConfigStub stub(cluster_->host_addr());
  ServiceSpec spec = AgentSpec("on-bridge", stub, 1);
  spec.networks = {*network_id};
  const std::string id = Create(spec);
  ASSERT_FALSE(id.empty());
  auto task = WaitRunning(id, milliseconds(60000));
  ASSERT_TRUE(task.has_value());
  auto inspected = manager_->InspectService(id);
  ASSERT_OK(inspected);
  EXPECT_EQ(inspected->spec.networks, std::vector<std::string>{*network_id});

  // On its node the container sits in that node's subnet, on a bridge without ICC.
  std::size_t index = 0;
  const std::string addr = NodeAddr(task->node_id);
  while (index < cluster_->nodes().size() && cluster_->nodes()[index].addr != addr) ++index;
  ASSERT_LT(index, cluster_->nodes().size());
  auto container = nodes_[index]->InspectContainer(task->container_id);
  ASSERT_TRUE(container.ok()) << container.status().ToString();
  ASSERT_EQ(container->network_ips.count(network.name), 1u);
  EXPECT_EQ(
      container->network_ips.at(network.name).rfind("10.197." + std::to_string(index) + ".", 0), 0u)
      << container->network_ips.at(network.name);
  auto local = nodes_[index]->InspectNetwork(network.name);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->driver, "bridge");
  EXPECT_EQ(local->options["com.docker.network.bridge.enable_icc"], "false");

  ASSERT_FALSE(task->ports.empty());
  auto ready = berth::testing::HttpRequest(
      "GET", addr, static_cast<unsigned short>(task->ports[0].published_port), "/readyz");
  for (int i = 0; i < 100 && ready.status != 200; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    ready = berth::testing::HttpRequest(
        "GET", addr, static_cast<unsigned short>(task->ports[0].published_port), "/readyz");
  }
  EXPECT_EQ(ready.status, 200);
}

}  // namespace
}  // namespace berth::docker
