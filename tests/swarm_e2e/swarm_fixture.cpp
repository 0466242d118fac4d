#include "swarm_e2e/swarm_fixture.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/ids.hpp"
#include "lifecycle_openclaw/http_exchange.hpp"
#include "store/store.hpp"

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::unique_ptr<docker::DockerClient> Connect(const std::string& host) {
  auto endpoint = docker::ParseDockerHost(host, "", "");
  if (!endpoint.ok()) return nullptr;
  auto client = docker::DockerClient::Create(*endpoint);
  return client.ok() ? std::move(client).value() : nullptr;
}

// Runs a shell command; its exit code, with stdout and stderr in *output.
int Shell(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void SwarmE2eTest::SetUp() {
  std::string skip, error;
  if (private_cluster_) {
    own_cluster_ = SwarmTestCluster::Private(&skip, &error);
    cluster_ = own_cluster_.get();
  } else {
    cluster_ = SwarmTestCluster::Shared(&skip, &error);
  }
  if (!skip.empty()) GTEST_SKIP() << "the swarm test cluster cannot run here: " << skip;
  ASSERT_NE(cluster_, nullptr) << error;
  manager_ = Connect(cluster_->manager_host());
  ASSERT_NE(manager_, nullptr);
  llm_ = std::make_unique<FakeLlm>(cluster_->host_addr());
  network_ = cluster_->prefix() + "-agents-" + HexEncode(NewId(3));
  std::string engines;
  for (const auto& node : cluster_->nodes()) {
    engines += (engines.empty() ? "" : ",") + node.docker_host;
  }
  env_ = {{"BERTH_DATA_DIR", dir_.path().string()},
          {"BERTH_ADMIN_TOKEN", kAdminToken},
          {"BERTH_RUNTIME", "swarm"},
          {"DOCKER_HOST", cluster_->manager_host()},
          {"BERTH_SWARM_NODE_ENGINES", engines},
          {"OPENCLAW_IMAGE", cluster_->test_agent_image()},
          {"OPENCLAW_NETWORK", network_},
          {"BERTH_INTERNAL_LISTEN", cluster_->host_addr() + ":0"},
          {"BERTH_AGENT_MEMORY", "128m"},
          {"BERTH_START_TIMEOUT", "60"}};
}

void SwarmE2eTest::TearDown() {
  if (berth_) berth_->Stop(SIGTERM, 30);
  berth_.reset();
  for (std::size_t node : firewalled_) {
    std::string out;
    if (Firewall(node, "remove", &out) != 0)
      ADD_FAILURE() << "firewall of node " << node << ": " << out;
  }
  if (manager_ == nullptr) return;
  const std::string instance = InstanceId();
  if (!instance.empty()) {
    auto services = manager_->ListServices({{"berth.instance", instance}});
    if (services.ok()) {
      for (const auto& s : *services) {
        Status removed = manager_->RemoveService(s.id);
        if (!removed.ok() && removed.code() != ErrorCode::kNotFound) {
          ADD_FAILURE() << "service " << s.id << ": " << removed.ToString();
        }
      }
    }
    // A volume goes once its task's container has (a few seconds after the service).
    for (const auto& node : cluster_->nodes()) {
      auto engine = Connect(node.docker_host);
      if (engine == nullptr) continue;
      auto volumes = engine->ListVolumes({{"berth.instance", instance}});
      if (!volumes.ok()) continue;
      for (const auto& v : *volumes) {
        const auto deadline = Clock::now() + std::chrono::seconds(40);
        Status st = engine->RemoveVolume(v.name, false);
        while (st.code() == ErrorCode::kAlreadyExists && Clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
          st = engine->RemoveVolume(v.name, false);
        }
        if (!st.ok() && st.code() != ErrorCode::kNotFound) {
          ADD_FAILURE() << "volume " << v.name << ": " << st.ToString();
        }
      }
    }
  }
  // The swarm network, then each node's config-only network it was made from.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  Status net = manager_->RemoveNetwork(network_);
  while (!net.ok() && net.code() != ErrorCode::kNotFound && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    net = manager_->RemoveNetwork(network_);
  }
  if (!net.ok() && net.code() != ErrorCode::kNotFound) ADD_FAILURE() << net.ToString();
  for (const auto& node : cluster_->nodes()) {
    auto engine = Connect(node.docker_host);
    if (engine == nullptr) continue;
    auto named = engine->ListNetworks({});
    if (!named.ok()) continue;
    for (const auto& n : *named) {
      if (n.name.rfind(network_, 0) != 0 || n.name == network_) continue;
      Status st = engine->RemoveNetwork(n.id);
      if (!st.ok() && st.code() != ErrorCode::kNotFound) ADD_FAILURE() << st.ToString();
    }
  }
}

void SwarmE2eTest::StartBerth() {
  std::string error;
  berth_ = BerthProcess::Start(dir_.path().string(), env_, {}, &error);
  ASSERT_NE(berth_, nullptr) << error;
  bool ready = Eventually([&] { return berth_->Get("/api/ready").status == 200; });
  ASSERT_TRUE(ready) << berth_->Get("/api/ready").body << "\n" << berth_->Stderr();
}

std::pair<std::string, std::string> SwarmE2eTest::UserWithProvider(const std::string& name) {
  auto r = berth_->Post("/api/admin/users", json{{"name", name}}.dump(), kAdminToken);
  EXPECT_EQ(r.status, 201) << r.body;
  if (r.status != 201) return {"", ""};
  const json j = r.Json();
  const std::string token = j["token"];
  auto p = berth_->Post("/api/providers",
                        json{{"name", "fakellm"},
                             {"type", "custom"},
                             {"baseUrl", llm_->BaseUrl()},
                             {"apiKey", kUpstreamKey},
                             {"models", {"fake-model-1", "fake-model-2"}}}
                            .dump(),
                        token);
  EXPECT_EQ(p.status, 201) << p.body;
  return {j["user"]["id"].get<std::string>(), token};
}

HttpResult SwarmE2eTest::StartAgent(const std::string& token) const {
  return berth_->Post("/api/agent/start", "", token);
}

json SwarmE2eTest::FleetEntry(const std::string& user_id) const {
  const json fleet = berth_->Get("/api/admin/containers", kAdminToken).Json();
  if (fleet.contains("containers")) {
    for (const json& c : fleet["containers"]) {
      if (c.value("userId", "") == user_id) return c;
    }
  }
  return nullptr;
}

std::string SwarmE2eTest::NodeOf(const std::string& user_id) const {
  const json entry = FleetEntry(user_id);
  return entry.is_object() && entry["node"].is_string() ? entry["node"].get<std::string>() : "";
}

std::string SwarmE2eTest::StreamedChat(const std::string& token, std::string* error) const {
  const json body = {{"model", "fakellm/fake-model-2"},
                     {"stream", true},
                     {"messages", {{{"role", "user"}, {"content", "say something"}}}}};
  auto r =
      HttpExchange("127.0.0.1", berth_->port(), "POST", "/v1/chat/completions", body.dump(),
                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                   std::chrono::seconds(90));
  if (r.http.status != 200) {
    *error = "status " + std::to_string(r.http.status) + ": " + r.error + r.http.body;
    return "";
  }
  std::string text;
  for (const std::string& data : SseData(r.http.body)) {
    const json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object() || !chunk.contains("choices") || chunk["choices"].empty()) continue;
    const json delta = chunk["choices"][0].value("delta", json::object());
    if (delta.contains("content") && delta["content"].is_string()) text += delta["content"];
  }
  return text;
}

SwarmE2eTest::Task SwarmE2eTest::TaskOf(const std::string& user_id) const {
  Task out;
  auto services =
      manager_->ListServices({{"berth.instance", InstanceId()}, {"berth.owner", user_id}});
  if (!services.ok() || services->empty()) return out;
  out.service_id = services->front().id;
  out.replicas = services->front().spec.replicas;
  auto tasks = manager_->ListTasks({{"service", {out.service_id}}});
  if (!tasks.ok()) return out;
  for (const auto& t : *tasks) {
    const bool final = t.state == "complete" || t.state == "shutdown" || t.state == "failed" ||
                       t.state == "rejected" || t.state == "orphaned" || t.state == "remove";
    if (!final) ++out.tasks;
    if (t.desired_state == "running") {
      out.node_id = t.node_id;
      out.container_id = t.container_id;
      out.state = t.state;
      for (const auto& port : t.ports) {
        if (port.published_port > 0) out.published_port = port.published_port;
      }
    }
  }
  return out;
}

std::string SwarmE2eTest::NodeName(const std::string& node_id) const {
  auto nodes = manager_->ListNodes();
  if (!nodes.ok()) return "";
  for (const auto& n : *nodes) {
    if (n.id == node_id) return n.hostname;
  }
  return "";
}

int SwarmE2eTest::NodeIndex(const std::string& node_id) const {
  const std::string name = NodeName(node_id);
  for (std::size_t i = 0; i < cluster_->nodes().size(); ++i) {
    if (cluster_->nodes()[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string SwarmE2eTest::NodeHost(const std::string& node_id) const {
  const int index = NodeIndex(node_id);
  return index < 0 ? "" : cluster_->nodes()[index].docker_host;
}

std::string SwarmE2eTest::AgentNetworkAddress(const Task& task) const {
  auto engine = Connect(NodeHost(task.node_id));
  if (engine == nullptr) return "";
  auto container = engine->InspectContainer(task.container_id);
  if (!container.ok()) return "";
  auto it = container->network_ips.find(network_);
  return it == container->network_ips.end() ? "" : it->second;
}

int SwarmE2eTest::Exec(const std::string& node_id, const std::string& container_id,
                       const std::string& script, std::string* output) const {
  return Shell("DOCKER_HOST=" + Quote(NodeHost(node_id)) + " docker exec " + Quote(container_id) +
                   " sh -c " + Quote(script),
               output);
}

std::string SwarmE2eTest::Reach(const std::string& user_id, const std::string& addr,
                                int port) const {
  const Task task = TaskOf(user_id);
  std::string out;
  const int code = Exec(task.node_id, task.container_id,
                        "if r=$(nc -w 2 " + addr + " " + std::to_string(port) +
                            " </dev/null 2>&1 >/dev/null); then echo ok; else echo \"$r\"; fi",
                        &out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  std::fprintf(stderr, "[ isolation ] %s on %s -> %s:%d: %s\n", user_id.c_str(),
               NodeName(task.node_id).c_str(), addr.c_str(), port, out.c_str());
  return code == 0 ? out : "exec failed (" + std::to_string(code) + "): " + out;
}

int SwarmE2eTest::Firewall(std::size_t index, const std::string& args, std::string* output) {
  if (args.rfind("apply", 0) == 0 &&
      std::find(firewalled_.begin(), firewalled_.end(), index) == firewalled_.end()) {
    firewalled_.push_back(index);
  }
  return Shell("nsenter --net=/run/netns/" + cluster_->nodes().at(index).name + " bash " +
                   BERTH_SOURCE_DIR "/scripts/swarm-node-firewall.sh " + args,
               output);
}

int SwarmE2eTest::ManagerCli(const std::string& args, std::string* output) const {
  return Shell("DOCKER_HOST=" + Quote(cluster_->manager_host()) + " docker " + args, output);
}

bool SwarmE2eTest::Eventually(const std::function<bool()>& condition,
                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return condition();
}

std::string SwarmE2eTest::InstanceId() const {
  auto store = store::OpenStore("sqlite://" + dir_.File("berth.db"));
  if (!store.ok()) return "";
  auto id = (*store)->InstanceId();
  return id.ok() ? *id : "";
}

}  // namespace berth::testing
