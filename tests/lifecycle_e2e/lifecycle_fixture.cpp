#include "lifecycle_e2e/lifecycle_fixture.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace berth::testing {

TestAgentImages& TestAgentImages::Get() {
  static TestAgentImages images;
  return images;
}

const std::string& TestAgentImages::Build(const std::string& name,
                                          const std::vector<std::string>& env) {
  auto found = built_.find(name);
  if (found != built_.end()) return found->second;
  DockerTestEnv& docker = DockerTestEnv::Get();
  if (name.empty()) {
    if (const char* given = std::getenv("BERTH_TEST_AGENT_IMAGE"); given && *given) {
      return built_[name] = given;
    }
  }
  const std::string tag = "berth-test-agent:" + docker.run_id() + (name.empty() ? "" : "-" + name);
  std::vector<std::string> args = {"image", "build", "test-agent", "--tag", tag};
  for (const auto& e : env) {
    args.push_back("--env");
    args.push_back(e);
  }
  auto result = RunBerth(args, {{"DOCKER_HOST", docker.docker_host()}}, 300);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  docker.TrackImage(tag);
  return built_[name] = tag;
}

void RemoveWhatBerthMade(DockerTestEnv& env, const std::string& instance,
                         const std::string& network) {
  docker::DockerClient& client = env.client();
  if (!instance.empty()) {
    auto containers = client.ListContainers({{"berth.instance", instance}});
    if (containers.ok()) {
      for (const auto& c : *containers) {
        env.TrackContainer(c.id);
        (void)client.RemoveContainer(c.id, /*force=*/true);
      }
    }
    auto volumes = client.ListVolumes({{"berth.instance", instance}});
    if (volumes.ok()) {
      for (const auto& v : *volumes) {
        env.TrackVolume(v.name);
        (void)client.RemoveVolume(v.name, /*force=*/true);
      }
    }
  }
  auto found = client.InspectNetwork(network);
  if (found.ok()) {
    env.TrackNetwork(found->id);
    (void)client.RemoveNetwork(found->id);
  }
}

void LifecycleE2eTest::SetUp() {
  DockerTest::SetUp();
  if (HasFatalFailure()) return;
  static std::atomic<int> counter{0};
  network_ = env().Name("agents" + std::to_string(counter++));
  env_ = {{"BERTH_DATA_DIR", dir_.path().string()},
          {"BERTH_ADMIN_TOKEN", kAdminToken},
          {"DOCKER_HOST", env().docker_host()},
          {"OPENCLAW_IMAGE", TestAgentImages::Get().agent()},
          {"OPENCLAW_NETWORK", network_},
          {"BERTH_INTERNAL_LISTEN", ":0"},
          {"BERTH_AGENT_MEMORY", "64m"},
          {"BERTH_START_TIMEOUT", "60"}};
}

void LifecycleE2eTest::TearDown() {
  if (berth_) berth_->Stop(SIGTERM, 30);
  berth_.reset();
  if (!env().engine_status().ok()) return;
  // Images are shared by the tests and go when the program ends (DockerTestEnv).
  RemoveWhatBerthMade(env(), InstanceId(), network_);
}

void LifecycleE2eTest::StartBerth() {
  std::string error;
  berth_ = BerthProcess::Start(dir_.path().string(), env_, {}, &error);
  ASSERT_NE(berth_, nullptr) << error;
  bool ready = Eventually([&] { return berth_->Get("/api/ready").status == 200; });
  ASSERT_TRUE(ready) << berth_->Get("/api/ready").body << "\n" << berth_->Stderr();
}

void LifecycleE2eTest::KillBerth() {
  ASSERT_NE(berth_, nullptr);
  berth_->Stop(SIGKILL, 10);
  berth_.reset();
}

std::pair<std::string, std::string> LifecycleE2eTest::CreateUser(const std::string& name) {
  auto r = berth_->Post("/api/admin/users", nlohmann::json{{"name", name}}.dump(), kAdminToken);
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = r.Json();
  if (r.status != 201) return {"", ""};
  return {j["user"]["id"].get<std::string>(), j["token"].get<std::string>()};
}

void LifecycleE2eTest::AddFakeProvider(const std::string& token, const std::string& base_url,
                                       const std::string& api_key,
                                       const std::vector<std::string>& models) {
  auto r = berth_->Post("/api/providers",
                        nlohmann::json{{"name", "fakellm"},
                                       {"type", "custom"},
                                       {"baseUrl", base_url},
                                       {"apiKey", api_key},
                                       {"models", models}}
                            .dump(),
                        token);
  EXPECT_EQ(r.status, 201) << r.body;
}

HttpResult LifecycleE2eTest::StartAgent(const std::string& user_token) {
  return berth_->Post("/api/agent/start", "", user_token);
}

std::vector<docker::ContainerListEntry> LifecycleE2eTest::ContainersOf(const std::string& user_id) {
  auto listed =
      client().ListContainers({{"berth.instance", InstanceId()}, {"berth.owner", user_id}});
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  return listed.ok() ? *listed : std::vector<docker::ContainerListEntry>{};
}

std::string LifecycleE2eTest::InstanceId() {
  auto store = store::OpenStore("sqlite://" + dir_.File("berth.db"));
  if (!store.ok()) return "";
  auto id = (*store)->InstanceId();
  return id.ok() ? *id : "";
}

int LifecycleE2eTest::Exec(const std::string& container_id, const std::string& script,
                           std::string* output) {
  // The Engine API's exec is not part of berth's client (berth never execs into agents); the
  // CLI that comes with docker.io does it for the tests.
  std::string command = "DOCKER_HOST='" + env().docker_host() + "' docker exec " + container_id +
                        " sh -c '" + script + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::string out;
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = ::pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool LifecycleE2eTest::Eventually(const std::function<bool()>& condition,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

}  // namespace berth::testing
