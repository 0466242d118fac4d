#include "support/openclaw_runner.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef BERTH_SOURCE_DIR
#error "BERTH_SOURCE_DIR must point at the source tree (for scripts/openclaw)"
#endif

namespace berth::testing {
namespace {

using Json = nlohmann::json;

std::string WrapperPath() { return std::string(BERTH_SOURCE_DIR) + "/scripts/openclaw"; }

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

const Json& Member(const Json& value, const std::string& key) {
  static const Json kNull;
  if (!value.is_object()) return kNull;
  const auto it = value.find(key);
  return it == value.end() ? kNull : *it;
}

std::vector<Outcome> OpenClawRunner::RunAll(const std::vector<Invocation>& invocations) {
  ++batch_;
  std::vector<Outcome> outcomes(invocations.size());
  struct Running {
    std::size_t index;
    pid_t pid;
    std::chrono::steady_clock::time_point started;
  };
  std::vector<Running> running;
  std::size_t next = 0;
  while (next < invocations.size() || !running.empty()) {
    while (next < invocations.size() && running.size() < kParallel) {
      const pid_t pid = Spawn(next, invocations[next]);
      if (pid > 0) running.push_back({next, pid, std::chrono::steady_clock::now()});
      ++next;
    }
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      const pid_t done = waitpid(it->pid, &status, WNOHANG);
      if (done == 0 && std::chrono::steady_clock::now() - it->started > kTimeout) {
        kill(-it->pid, SIGKILL);
        waitpid(it->pid, &status, 0);
        Collect(it->index, -1, outcomes);
        ADD_FAILURE() << "openclaw timed out after " << kTimeout.count() << " s";
        it = running.erase(it);
      } else if (done == it->pid) {
        Collect(it->index, WIFEXITED(status) ? WEXITSTATUS(status) : -1, outcomes);
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return outcomes;
}

std::vector<Outcome> OpenClawRunner::ValidateAll(const std::vector<Json>& configs) {
  std::vector<Invocation> invocations;
  for (const Json& config : configs) {
    invocations.push_back({{"config", "validate", "--json"}, config.dump(2)});
  }
  return RunAll(invocations);
}

std::string OpenClawRunner::CheckInstalled(const std::string& expected_version) {
  const Outcome version = Run({{"--version"}, "{}"});
  if (version.exit_code != 0) {
    return "OpenClaw is not installed (or does not run): run scripts/install-openclaw.sh as root "
           "(installs into ${BERTH_OPENCLAW_HOME:-/var/cache/berth/openclaw}), or set "
           "BERTH_SKIP_OPENCLAW=1 to skip these tests.\n" +
           version.Describe();
  }
  if (version.out.find("OpenClaw " + expected_version + " ") == std::string::npos) {
    return "berth's schema findings were validated against OpenClaw " + expected_version +
           "; run scripts/install-openclaw.sh to install that version (or update the findings)\n" +
           version.Describe();
  }
  return "";
}

std::filesystem::path OpenClawRunner::FileFor(std::size_t index, const std::string& suffix) const {
  return dir_.path() / (std::to_string(batch_) + "-" + std::to_string(index) + suffix);
}

int OpenClawRunner::Spawn(std::size_t index, const Invocation& invocation) {
  const std::filesystem::path scratch =
      dir_.path() / ("home-" + std::to_string(batch_) + "-" + std::to_string(index));
  std::filesystem::create_directories(scratch / "state");
  const std::string config = FileFor(index, ".json").string();
  WriteFile(config, invocation.config_text);

  // A clean environment: nothing of the caller's OpenClaw setup (profile, token, state) leaks in.
  std::vector<std::string> env = {
      "HOME=" + scratch.string(),
      "OPENCLAW_HOME=" + scratch.string(),
      "OPENCLAW_STATE_DIR=" + (scratch / "state").string(),
      "OPENCLAW_CONFIG_PATH=" + config,
      "NO_COLOR=1",
      std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
  };
  for (const char* passed : {"BERTH_OPENCLAW_HOME", "TMPDIR"}) {
    if (const char* value = std::getenv(passed)) env.push_back(std::string(passed) + "=" + value);
  }
  std::vector<std::string> args = {WrapperPath()};
  args.insert(args.end(), invocation.args.begin(), invocation.args.end());

  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, FileFor(index, ".out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, FileFor(index, ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // so a timeout kills its children
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

void OpenClawRunner::Collect(std::size_t index, int exit_code, std::vector<Outcome>& outcomes) {
  Outcome& outcome = outcomes[index];
  outcome.exit_code = exit_code;
  outcome.out = Slurp(FileFor(index, ".out"));
  outcome.err = Slurp(FileFor(index, ".err"));
  outcome.json = Json::parse(outcome.out, nullptr, /*allow_exceptions=*/false);
}

}  // namespace berth::testing
