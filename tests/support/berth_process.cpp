#include "support/berth_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <thread>

#include "support/temp_dir.hpp"

#ifndef BERTH_BINARY
#define BERTH_BINARY "berth"
#endif

extern char** environ;

namespace berth::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> argv_s = {BERTH_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  const char* path = std::getenv("PATH");
  env_s.push_back(std::string("PATH=") + (path ? path : "/usr/bin:/bin"));
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  // Tests that do not manage agents never touch the developer's engine: without a DOCKER_HOST
  // of their own, berth gets one where nothing listens.
  if (!env.count("DOCKER_HOST")) env_s.push_back("DOCKER_HOST=unix:///nonexistent/berth-test.sock");
  // The tests' fake providers listen on the agent networks' gateways (Docker's private bridge
  // ranges), which berth's LLM gateway reaches only where allowed (llm/destination.hpp).
  if (!env.count("BERTH_PROVIDER_ALLOW")) {
    env_s.push_back("BERTH_PROVIDER_ALLOW=" + std::string(kTestProviderAllow));
  }
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for pid up to timeout; returns exit code / 128+signal, or -1 on timeout.
int WaitFor(pid_t pid, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

CommandResult RunBerth(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env, int timeout_s) {
  TempDir dir;
  CommandResult result;
  pid_t pid = Spawn(args, env, dir.File("out"), dir.File("err"));
  if (pid < 0) return result;
  result.exit_code = WaitFor(pid, timeout_s);
  if (result.exit_code == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  result.out = ReadFile(dir.File("out"));
  result.err = ReadFile(dir.File("err"));
  return result;
}

std::unique_ptr<BerthProcess> BerthProcess::Start(const std::string& log_dir,
                                                  const std::map<std::string, std::string>& env,
                                                  const std::vector<std::string>& extra_args,
                                                  std::string* error) {
  auto p = Launch(log_dir, env, extra_args);
  if (p == nullptr) {
    if (error) *error = "spawn failed";
    return nullptr;
  }
  if (!p->WaitListening(10, error)) return nullptr;  // the destructor kills it
  return p;
}

std::unique_ptr<BerthProcess> BerthProcess::Launch(const std::string& log_dir,
                                                   const std::map<std::string, std::string>& env,
                                                   const std::vector<std::string>& extra_args) {
  std::unique_ptr<BerthProcess> p(new BerthProcess());
  static int counter = 0;
  std::string stem =
      log_dir + "/berth-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  p->out_path_ = stem + ".out";
  p->err_path_ = stem + ".err";
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  p->pid_ = Spawn(args, env, p->out_path_, p->err_path_);
  if (p->pid_ < 0) return nullptr;
  return p;
}

bool BerthProcess::WaitListening(int timeout_s, std::string* error) {
  static const std::regex kListening(R"(listening on [^ ]*:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string err = ReadFile(err_path_);
    if (std::regex_search(err, m, kListening)) {
      port_ = static_cast<unsigned short>(std::stoi(m[1]));
      return true;
    }
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (error) *error = "berth exited during start: " + ReadFile(err_path_);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (error) {
    *error = "berth did not report its port within " + std::to_string(timeout_s) +
             " s: " + ReadFile(err_path_);
  }
  return false;
}

bool BerthProcess::WaitForStderr(const std::string& text, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReadFile(err_path_).find(text) != std::string::npos) return true;
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ReadFile(err_path_).find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

BerthProcess::~BerthProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string BerthProcess::Stdout() const { return ReadFile(out_path_); }
std::string BerthProcess::Stderr() const { return ReadFile(err_path_); }

int BerthProcess::Stop(int sig, int timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int code = WaitFor(pid_, timeout_s);
  if (code == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  return code;
}

HttpResult BerthProcess::Send(const std::string& method, const std::string& target,
                              const std::string& body, const std::string& token) const {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return HttpRequest(method, "127.0.0.1", port_, target, body, headers);
}
HttpResult BerthProcess::Get(const std::string& target, const std::string& token) const {
  return Send("GET", target, "", token);
}
HttpResult BerthProcess::Delete(const std::string& target, const std::string& token) const {
  return Send("DELETE", target, "", token);
}
HttpResult BerthProcess::Post(const std::string& target, const std::string& body,
                              const std::string& token) const {
  return Send("POST", target, body, token);
}

}  // namespace berth::testing
