#pragma once

// Runs the built berth-test-agent on the host for tests: a clean environment (PATH plus what the
// test gives), stderr captured to a file, SIGKILLed on destruction if still running.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "support/http_client.hpp"

namespace berth::testing {

class AgentProcess {
 public:
  // Starts the binary with `env` (BERTH_TEST_AGENT_LISTEN defaults to 127.0.0.1:0). Returns at
  // once; use WaitListening or WaitExit.
  static std::unique_ptr<AgentProcess> Start(const std::string& log_dir,
                                             std::map<std::string, std::string> env);
  ~AgentProcess();

  // Waits until the agent logs the port it bound; false when it exited or timed out.
  bool WaitListening(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the exit; returns the code, 128+signal, or -1 on timeout.
  int WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until stderr contains `text`; false on timeout.
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends `sig` and waits for the exit as WaitExit does.
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  pid_t pid() const { return pid_; }
  unsigned short port() const { return port_; }
  std::string Stderr() const;

  HttpResult Get(const std::string& target, const std::string& token = "") const;
  HttpResult Chat(const std::string& body, const std::string& token,
                  const std::map<std::string, std::string>& extra_headers = {}) const;

 private:
  AgentProcess() = default;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  unsigned short port_ = 0;
  std::string err_path_;
};

}  // namespace berth::testing
