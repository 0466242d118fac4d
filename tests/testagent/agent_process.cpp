#include "testagent/agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "testagent/stream_reader.hpp"

#ifndef BERTH_TEST_AGENT_BINARY
#error "BERTH_TEST_AGENT_BINARY must name the built berth-test-agent"
#endif

namespace berth::testing {

std::unique_ptr<AgentProcess> AgentProcess::Start(const std::string& log_dir,
                                                  std::map<std::string, std::string> env) {
  static int counter = 0;
  std::unique_ptr<AgentProcess> p(new AgentProcess());
  p->err_path_ = log_dir + "/agent-" + std::to_string(++counter) + ".err";
  env.emplace("BERTH_TEST_AGENT_LISTEN", "127.0.0.1:0");
  std::vector<std::string> env_s;
  const char* path = std::getenv("PATH");
  env_s.push_back(std::string("PATH=") + (path ? path : "/usr/bin:/bin"));
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string binary = BERTH_TEST_AGENT_BINARY;
  std::vector<char*> argv = {binary.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, p->err_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, p->err_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  int rc = posix_spawn(&p->pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) p->pid_ = -1;
  return p;
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string AgentProcess::Stderr() const { return ReadFile(err_path_); }

int AgentProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

bool AgentProcess::WaitListening(std::chrono::milliseconds timeout) {
  static const std::regex kListening(R"(listening on [^ ]*:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string err = Stderr();
    if (std::regex_search(err, m, kListening)) {
      port_ = static_cast<unsigned short>(std::stoi(m[1]));
      return true;
    }
    if (WaitExit(std::chrono::milliseconds(0)) != -1 || pid_ <= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool AgentProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Stderr().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int AgentProcess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ > 0) ::kill(pid_, sig);
  return WaitExit(timeout);
}

HttpResult AgentProcess::Get(const std::string& target, const std::string& token) const {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return Exchange(port_, "GET", target, "", headers);
}

HttpResult AgentProcess::Chat(const std::string& body, const std::string& token,
                              const std::map<std::string, std::string>& extra_headers) const {
  std::map<std::string, std::string> headers = extra_headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return Exchange(port_, "POST", "/v1/chat/completions", body, headers);
}

}  // namespace berth::testing
