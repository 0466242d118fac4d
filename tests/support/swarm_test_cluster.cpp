#include "support/swarm_test_cluster.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace berth::testing {
namespace {

constexpr char kScript[] = BERTH_SOURCE_DIR "/scripts/swarm-cluster.sh";
constexpr int kExitUnavailable = 3;

// Runs `swarm-cluster.sh <action> <dir>` with its output in `log`; its exit code (128 + signal
// when killed, -1 when it could not be started).
int RunScript(const std::string& action, const std::string& dir, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    // The image is built with this tree's binary when the host's engine lacks it.
    ::setenv("BERTH_BINARY", BERTH_BINARY, 0);
    ::execl("/bin/bash", "bash", kScript, action.c_str(), dir.c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Tail(const std::string& text, std::size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

std::unique_ptr<SwarmTestCluster> SwarmTestCluster::BringUp(std::string* skip_reason,
                                                            std::string* error) {
  std::unique_ptr<SwarmTestCluster> cluster(new SwarmTestCluster());
  cluster->owned_ = std::make_unique<TempDir>();
  const std::string dir = cluster->owned_->File("cluster");
  const std::string log = cluster->owned_->File("up.log");
  std::fprintf(stderr, "SwarmTestCluster: bringing a swarm up in %s\n", dir.c_str());
  const int code = RunScript("up", dir, log);
  if (code == kExitUnavailable) {
    *skip_reason = ReadFile(dir + "/unavailable");
    if (skip_reason->empty()) *skip_reason = "swarm-cluster.sh: unavailable";
  } else if (code != 0) {
    *error = "scripts/swarm-cluster.sh up exited " + std::to_string(code) + ":\n" +
             Tail(ReadFile(log), 4000);
  } else {
    cluster->Load(dir, error);
  }
  if (!skip_reason->empty() || !error->empty()) return nullptr;  // the destructor runs `down`
  return cluster;
}

std::unique_ptr<SwarmTestCluster> SwarmTestCluster::Private(std::string* skip_reason,
                                                            std::string* error) {
  return BringUp(skip_reason, error);
}

SwarmTestCluster* SwarmTestCluster::Shared(std::string* skip_reason, std::string* error) {
  static std::unique_ptr<SwarmTestCluster> shared;
  static std::string shared_skip, shared_error;  // a failed bring-up is not retried per test
  if (shared) return shared.get();
  if (!shared_skip.empty() || !shared_error.empty()) {
    *skip_reason = shared_skip;
    *error = shared_error;
    return nullptr;
  }
  std::unique_ptr<SwarmTestCluster> cluster;
  if (const char* env = std::getenv("BERTH_TEST_SWARM_DIR"); env && *env) {
    const std::string dir = env;
    cluster.reset(new SwarmTestCluster());
    if (std::string reason = ReadFile(dir + "/unavailable"); !reason.empty()) {
      shared_skip = reason;
    } else {
      cluster->Load(dir, &shared_error);
    }
  } else {
    cluster = BringUp(&shared_skip, &shared_error);
  }
  if (!shared_skip.empty() || !shared_error.empty()) {
    while (!shared_skip.empty() && shared_skip.back() == '\n') shared_skip.pop_back();
    *skip_reason = shared_skip;
    *error = shared_error;
    return nullptr;
  }
  shared = std::move(cluster);
  return shared.get();
}

int SwarmTestCluster::DaemonPid(std::size_t node) const {
  const std::string pid =
      ReadFile("/run/berth-swarm-" + prefix_ + "/n" + std::to_string(node) + ".pid");
  return pid.empty() ? -1 : std::atoi(pid.c_str());
}

bool SwarmTestCluster::Load(const std::string& dir, std::string* error) {
  dir_ = dir;
  std::ifstream in(dir + "/cluster.env");
  if (!in) {
    *error = dir + "/cluster.env is missing: is the cluster up (scripts/swarm-cluster.sh up " +
             dir + ")?";
    return false;
  }
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(in, line);) {
    if (auto eq = line.find('='); eq != std::string::npos) {
      values[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  if (values["READY"] != "1") {
    *error = dir + "/cluster.env is incomplete (no READY=1)";
    return false;
  }
  prefix_ = values["PREFIX"];
  host_addr_ = values["HOST_ADDR"];
  registry_ = values["REGISTRY"];
  test_agent_image_ = values["TEST_AGENT_IMAGE"];
  const int count = std::atoi(values["NODES"].c_str());
  for (int i = 0; i < count; ++i) {
    const std::string n = "NODE" + std::to_string(i) + "_";
    nodes_.push_back({values[n + "NAME"], values[n + "HOST"], values[n + "ADDR"]});
  }
  if (prefix_.empty() || nodes_.empty() || host_addr_.empty() || test_agent_image_.empty()) {
    *error = dir + "/cluster.env lacks PREFIX, NODES, HOST_ADDR or TEST_AGENT_IMAGE";
    return false;
  }
  return true;
}

SwarmTestCluster::~SwarmTestCluster() {
  if (!owned_) return;
  const std::string log = owned_->File("down.log");
  if (const int code = RunScript("down", owned_->File("cluster"), log); code != 0) {
    std::fprintf(stderr, "SwarmTestCluster: swarm-cluster.sh down exited %d:\n%s\n", code,
                 Tail(ReadFile(log), 4000).c_str());
  }
}

}  // namespace berth::testing
