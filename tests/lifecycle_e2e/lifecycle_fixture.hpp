#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "support/berth_process.hpp"
#include "support/docker_test_env.hpp"
#include "support/temp_dir.hpp"

namespace berth::testing {

// Agent images for the lifecycle tests, built once per test program with the project's own
// `berth image build test-agent` (or taken from BERTH_TEST_AGENT_IMAGE, which scripts/test.sh
// builds) and removed at the end when this program built them.
class TestAgentImages {
 public:
  static TestAgentImages& Get();
  // The plain test agent.
  const std::string& agent() { return Build("", {}); }
  // A variant with env baked in (BERTH_TEST_AGENT_EXIT_CODE, ..._ALLOCATE_MB, ..._READY_DELAY_MS).
  const std::string& Variant(const std::string& name, const std::vector<std::string>& env) {
    return Build(name, env);
  }

 private:
  const std::string& Build(const std::string& name, const std::vector<std::string>& env);
  std::map<std::string, std::string> built_;
};

// Removes by id what a berth made on the engine for the database with `instance` id (its
// containers and their volumes) and the agent network `network`; registers each with `env` too,
// so a failure here is retried by the run's final cleanup. An empty instance skips that part.
void RemoveWhatBerthMade(DockerTestEnv& env, const std::string& instance,
                         const std::string& network);

// A `berth serve` on the real engine with the test agent image, a per-test agent network and
// data dir. Everything berth creates carries its database's instance id; TearDown removes all of
// it by id (containers, volumes, the network), pass or fail.
class LifecycleE2eTest : public DockerTest {
 protected:
  static constexpr const char* kAdminToken = "e2e-admin-token-0123456789abcdefghijklmnop";

  void SetUp() override;
  void TearDown() override;

  // Settings for berth; tests may change them before StartBerth().
  std::map<std::string, std::string> env_;
  // Starts berth and waits until /api/ready answers 200 (engine reconciled).
  void StartBerth();
  // SIGKILL, no cleanup by berth.
  void KillBerth();

  std::pair<std::string, std::string> CreateUser(const std::string& name);
  // Registers a custom provider "fakellm" at `base_url` with `models` for the user of `token`.
  void AddFakeProvider(const std::string& token, const std::string& base_url,
                       const std::string& api_key, const std::vector<std::string>& models);
  HttpResult StartAgent(const std::string& user_token);

  // Containers of this berth on the engine, by owner label.
  std::vector<docker::ContainerListEntry> ContainersOf(const std::string& user_id);
  virtual std::string InstanceId();  // of the database berth uses (SQLite in dir_ here)
  std::string NetworkName() const { return network_; }
  // Runs `docker exec <id> sh -c <script>` through the CLI; returns its exit code.
  int Exec(const std::string& container_id, const std::string& script, std::string* output);

  // Polls `condition` up to `timeout`.
  static bool Eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

  TempDir dir_;
  std::string network_;
  std::unique_ptr<BerthProcess> berth_;
};

}  // namespace berth::testing
