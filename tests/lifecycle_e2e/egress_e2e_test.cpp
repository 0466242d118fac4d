// BERTH_AGENT_EGRESS=berth-only on the real engine with the test agent: an agent reaches berth's
// internal listener and nothing else, neither a listener in a network namespace this test makes
// (a host on the machine's networks) nor one on the host's own address. A container on an
// ordinary network reaches that namespace's listener: the control that the probe can succeed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "lifecycle_e2e/lifecycle_fixture.hpp"
#include "support/local_address.hpp"
#include "support/run_command.hpp"

namespace berth::testing {
namespace {

// A TCP listener on `address`:`port`, inside the network namespace at `netns_path` ("" = this
// process's), accepting until destroyed. setns() moves only the listener's own thread.
class Listener {
 public:
  Listener(const std::string& netns_path, const std::string& address, int port) {
    std::atomic<int> ready{0};
    thread_ = std::thread([&, netns_path, address, port] {
      if (!netns_path.empty()) {
        const int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
          ready = -1;
          return;
        }
        ::close(ns);
      }
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          ::listen(fd_, 16) != 0) {
        ready = -1;
        return;
      }
      ready = 1;
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) == 1) {
          const int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            ++accepted_;
            ::close(c);
          }
        }
      }
    });
    while (ready == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ok_ = ready == 1;
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  int accepted() const { return accepted_; }

 private:
  std::thread thread_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
};

class EgressE2e : public LifecycleE2eTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces and iptables need root";
    LifecycleE2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    // A host of its own on this machine: a namespace behind a veth pair, 10.251.<n>.0/30.
    const std::string id = env().run_id();
    ns_ = "berth-test-" + id;
    host_if_ = "bt" + id.substr(0, 8) + "h";
    const int octet = std::stoi(id.substr(0, 2), nullptr, 16);
    host_ip_ = "10.251." + std::to_string(octet) + ".1";
    ns_ip_ = "10.251." + std::to_string(octet) + ".2";
    std::string out;
    const std::string script =
        "ip netns add " + ns_ + " && ip link add " + host_if_ + " type veth peer name eth0 netns " +
        ns_ + " && ip addr add " + host_ip_ + "/30 dev " + host_if_ + " && ip link set " +
        host_if_ + " up && ip -n " + ns_ + " addr add " + ns_ip_ + "/30 dev eth0 && ip -n " + ns_ +
        " link set eth0 up && ip -n " + ns_ + " link set lo up && ip -n " + ns_ +
        " route add default via " + host_ip_;
    ASSERT_EQ(RunCommand(script, &out), 0) << out;
  }
  void TearDown() override {
    if (!bridge_.empty()) {  // the firewall berth put on the agents' network
      const std::string chain = "BERTH-" + bridge_;
      RunCommand("while iptables -w -D INPUT -i " + bridge_ + " -j " + chain +
                 "; do :; done; iptables -w -F " + chain + "; iptables -w -X " + chain);
    }
    LifecycleE2eTest::TearDown();
    if (!ns_.empty()) RunCommand("ip netns del " + ns_);  // its end of the veth pair goes with it
  }

  std::string ns_;
  std::string host_if_;
  std::string host_ip_;
  std::string ns_ip_;
  std::string bridge_;
};

TEST_F(EgressE2e, BerthOnlyAgentsReachBerthsInternalListenerAndNothingElse) {
  constexpr int kPort = 18611;
  Listener elsewhere("/var/run/netns/" + ns_, ns_ip_, kPort);
  ASSERT_TRUE(elsewhere.ok());
  const std::string local = LocalAddress();
  ASSERT_FALSE(local.empty());
  Listener on_host("", local, kPort + 1);
  ASSERT_TRUE(on_host.ok());

  // Control: from an ordinary network the namespace's listener answers.
  std::string out;
  const std::string probe = "docker run --rm --label " + std::string(DockerTestEnv::kRunLabel) +
                            "=" + env().run_id() + " --network bridge --entrypoint /bin/sh " +
                            TestAgentImages::Get().agent() + " -c 'echo | nc -w 3 " + ns_ip_ + " " +
                            std::to_string(kPort) + "'";
  EXPECT_EQ(RunCommand("DOCKER_HOST='" + env().docker_host() + "' " + probe, &out), 0) << out;
  EXPECT_EQ(elsewhere.accepted(), 1);

  env_["BERTH_AGENT_EGRESS"] = "berth-only";
  StartBerth();
  auto [user_id, token] = CreateUser("walled");
  // Ready means the agent fetched its config from berth's internal listener.
  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body;
  auto network = client().InspectNetwork(NetworkName());
  ASSERT_TRUE(network.ok()) << network.status().ToString();
  EXPECT_TRUE(network->internal);
  bridge_ = "br-" + network->id.substr(0, 12);
  const std::string agent = ContainersOf(user_id).at(0).id;
  auto details = client().InspectContainer(agent);
  ASSERT_TRUE(details.ok());
  std::string url;
  for (const std::string& e : details->env) {
    if (e.rfind("MOSAIC_API_URL=", 0) == 0) url = e.substr(15);
  }
  const std::string host_port = url.substr(7, url.find("/api") - 7);  // http://<gw>:<port>/api
  const std::string gateway = host_port.substr(0, host_port.find(':'));
  const std::string port = host_port.substr(host_port.find(':') + 1);

  EXPECT_EQ(Exec(agent, "echo | nc -w 3 " + gateway + " " + port, &out), 0) << out;
  EXPECT_NE(Exec(agent, "echo | nc -w 3 " + ns_ip_ + " " + std::to_string(kPort), &out), 0) << out;
  EXPECT_NE(Exec(agent, "echo | nc -w 3 " + local + " " + std::to_string(kPort + 1), &out), 0)
      << out;
  EXPECT_EQ(elsewhere.accepted(), 1) << "nothing more reached the namespace";
  EXPECT_EQ(on_host.accepted(), 0);
}

}  // namespace
}  // namespace berth::testing
