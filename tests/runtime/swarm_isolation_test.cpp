// Agents on the swarm cannot reach each other, only berth: on the real three-node swarm
// (SwarmTestCluster), agents A and B on one node and C on another run the test agent as services
// (runtime::ToServiceSpec, pinned with node.id==) on the bridge EnsureSwarmBridge makes, with
// scripts/swarm-node-firewall.sh applied in every node's namespace (berth's address: the host's
// on the link). From inside A (`docker exec`, busybox nc) the test checks each way out. The
// firewall is removed again and everything made is removed by id, pass or fail.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "runtime/swarm_net_fixture.hpp"
#include "runtime/swarm_network.hpp"
#include "runtime/swarm_translate.hpp"
#include "support/agent_config_stub.hpp"

namespace berth::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr int kGatewayPort = 18789;

// Connects from the host (berth's side) to addr:port; true when the connection is accepted.
bool HostConnects(const std::string& addr, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    ok = ::poll(&p, 1, 3000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
         err == 0;
  }
  ::close(fd);
  return ok;
}

// A TCP listener on addr at a free port counting the connections it accepts: the stand-in for
// berth's internal listener.
class CountingListener {
 public:
  explicit CountingListener(const std::string& addr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    socklen_t len = sizeof sa;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 16) != 0) return;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          ++accepted_;
          ::close(c);
        }
      }
    });
  }
  ~CountingListener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

struct Agent {
  std::string service;
  int node = -1;  // index in the cluster's nodes
  std::string container;
  std::string address;  // on the agents' bridge
  int published_port = 0;
};

class SwarmIsolationTest : public SwarmNetTest {
 protected:
  void TearDown() override {
    for (std::size_t i = 0; i < firewalled_.size(); ++i) {
      std::string out;
      if (Firewall(firewalled_[i], "remove", &out) != 0) ADD_FAILURE() << "cleanup: " << out;
    }
    SwarmNetTest::TearDown();
  }

  int Firewall(int node, const std::string& args, std::string* output) {
    return RunShell("nsenter --net=/run/netns/" + cluster_->nodes().at(node).name + " bash " +
                        BERTH_SOURCE_DIR "/scripts/swarm-node-firewall.sh " + args,
                    output);
  }

  // The test agent as a service on `network`, pinned to node `node`, running.
  void StartAgent(const std::string& suffix, int node, const std::string& network,
                  const berth::testing::AgentConfigStub& stub, Agent* agent) {
    ContainerSpec spec;
    spec.name = Name(suffix);
    spec.image = cluster_->test_agent_image();
    spec.env = {{"MOSAIC_API_URL", stub.ApiUrl()},
                {"AGENT_TOKEN", "isolation-test"},
                {"AGENT_ID", spec.name}};
    spec.labels = {{"berth.swarm-test", run_}};
    spec.network = network;
    spec.memory_bytes = 256 << 20;
    spec.pids_limit = 256;
    spec.node_id = NodeId(node);
    docker::ServiceSpec service =
        ToServiceSpec(spec, spec.image, kGatewayPort, std::chrono::seconds(2));
    service.replicas = 1;
    auto id = manager_->CreateService(service);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    TrackService(*id);
    agent->service = *id;
    auto task = WaitRunning(*id, milliseconds(90000));
    ASSERT_TRUE(task.has_value());
    agent->node = NodeIndex(task->node_id);
    ASSERT_EQ(agent->node, node);
    agent->container = task->container_id;
    ASSERT_FALSE(task->ports.empty());
    agent->published_port = task->ports.front().published_port;
    auto container = nodes_[node]->InspectContainer(task->container_id);
    ASSERT_TRUE(container.ok()) << container.status().ToString();
    ASSERT_EQ(container->network_ips.count(network), 1u);
    agent->address = container->network_ips.at(network);
  }

  // From inside `from`: "ok", or nc's complaint ("...refused", "...timed out").
  std::string Reach(const Agent& from, const std::string& addr, int port) {
    std::string out;
    const int code = Exec(from.node, from.container,
                          "if r=$(nc -w 2 " + addr + " " + std::to_string(port) +
                              " </dev/null 2>&1 >/dev/null); then echo ok; else echo \"$r\"; fi",
                          &out);
    EXPECT_EQ(code, 0) << out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    std::fprintf(stderr, "[ isolation ] n%d -> %s:%d: %s\n", from.node, addr.c_str(), port,
                 out.c_str());
    return out;
  }

  std::vector<int> firewalled_;
};

TEST_F(SwarmIsolationTest, AgentsReachBerthButNotEachOtherOnOneNodeOrAcross) {
  const std::string network = Name("agents");
  SwarmBridgeOptions options;
  options.config_labels = {{"berth.swarm-test", run_}};
  auto bridge = EnsureSwarmBridge(*manager_, NodeEngines(), network, true, options);
  TrackBridge(network);
  ASSERT_TRUE(bridge.ok()) << bridge.status().ToString();

  berth::testing::AgentConfigStub stub(cluster_->host_addr());
  ASSERT_NE(stub.port(), 0);
  Agent a, b, c;
  ASSERT_NO_FATAL_FAILURE(StartAgent("a", 1, network, stub, &a));
  ASSERT_NO_FATAL_FAILURE(StartAgent("b", 1, network, stub, &b));
  ASSERT_NO_FATAL_FAILURE(StartAgent("c", 2, network, stub, &c));
  const std::string& node_b = cluster_->nodes()[b.node].addr;
  const std::string& node_c = cluster_->nodes()[c.node].addr;
  // The gateways listen once they have their config: wait until berth reaches each.
  for (const Agent* agent : {&a, &b, &c}) {
    const std::string& addr = cluster_->nodes()[agent->node].addr;
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      up = HostConnects(addr, agent->published_port);
      if (!up) std::this_thread::sleep_for(milliseconds(100));
    }
    ASSERT_TRUE(up) << agent->service << " never answered at " << addr << ":"
                    << agent->published_port;
  }

  // Without the firewall an agent reaches the others' published ports (what the script is for).
  EXPECT_EQ(Reach(a, node_b, b.published_port), "ok");
  EXPECT_EQ(Reach(a, node_c, c.published_port), "ok");

  for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) {
    std::string out;
    firewalled_.push_back(static_cast<int>(i));
    ASSERT_EQ(Firewall(static_cast<int>(i), "apply --berth " + cluster_->host_addr(), &out), 0)
        << out;
  }

  // Agent to agent by address on the bridge: no inter-container traffic (dropped: a timeout).
  EXPECT_NE(Reach(a, b.address, kGatewayPort).find("timed out"), std::string::npos);
  // Agent to the published ports: reset, on its own node (userland proxy, INPUT) and across
  // (DNAT, DOCKER-USER).
  EXPECT_NE(Reach(a, node_b, b.published_port).find("refused"), std::string::npos);
  EXPECT_NE(Reach(a, node_c, c.published_port).find("refused"), std::string::npos);
  // Berth still reaches every gateway.
  EXPECT_TRUE(HostConnects(node_b, b.published_port));
  EXPECT_TRUE(HostConnects(node_c, c.published_port));
  // And the agent reaches berth's (internal) listener on the host.
  CountingListener berth(cluster_->host_addr());
  ASSERT_NE(berth.port(), 0);
  EXPECT_EQ(Reach(a, cluster_->host_addr(), berth.port()), "ok");
  for (int i = 0; i < 50 && berth.accepted() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(berth.accepted(), 1);
}

}  // namespace
}  // namespace berth::runtime
