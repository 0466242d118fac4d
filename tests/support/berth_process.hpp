#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"

namespace berth::testing {

// Output of a berth command run to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Docker's private bridge ranges, where the tests' fake providers listen: a berth started here
// gets them as BERTH_PROVIDER_ALLOW unless `env` names its own.
inline constexpr char kTestProviderAllow[] = "172.16.0.0/12,192.168.0.0/16,10.0.0.0/8";

// Without DOCKER_HOST in `env`, berth is pointed at a socket where nothing listens, so tests that
// do not manage agents never touch the machine's container engine.
//
// Runs the built berth binary with `args` in a clean environment (PATH plus `env`), waits for it
// to exit (killed after timeout_s), and captures stdout and stderr.
CommandResult RunBerth(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env, int timeout_s = 60);

// A `berth serve` process listening on 127.0.0.1 with an engine-chosen port. Killed (SIGKILL) on
// destruction if still running, so a failing test leaves no process behind.
class BerthProcess {
 public:
  // Starts `berth serve --listen 127.0.0.1:0 <extra_args>` with `env` (clean environment plus
  // PATH), output to files in log_dir, and waits until it logs the port it bound (10 s).
  // Returns nullptr when it exited or never got ready; *error then says why (with its stderr).
  static std::unique_ptr<BerthProcess> Start(const std::string& log_dir,
                                             const std::map<std::string, std::string>& env,
                                             const std::vector<std::string>& extra_args = {},
                                             std::string* error = nullptr);
  // Starts it as Start() does but returns at once (nullptr only when it cannot be spawned), for
  // a berth that is not expected to listen soon, e.g. one waiting for its database.
  static std::unique_ptr<BerthProcess> Launch(const std::string& log_dir,
                                              const std::map<std::string, std::string>& env,
                                              const std::vector<std::string>& extra_args = {});
  // Waits until a Launch()ed berth logs the port it bound; false when it exited or timeout_s
  // passed first (*error says why, with its stderr).
  bool WaitListening(int timeout_s, std::string* error = nullptr);
  // Waits until its stderr holds `text`; false when it exited or timeout_s passed first.
  bool WaitForStderr(const std::string& text, int timeout_s);
  ~BerthProcess();

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Stdout() const;
  std::string Stderr() const;

  // Sends sig and waits for exit (timeout_s); returns the exit code, 128+signal when killed by
  // one, or -1 on timeout (then the process is SIGKILLed).
  int Stop(int sig, int timeout_s = 15);

  HttpResult Get(const std::string& target, const std::string& token = "") const;
  HttpResult Delete(const std::string& target, const std::string& token = "") const;
  HttpResult Post(const std::string& target, const std::string& body,
                  const std::string& token = "") const;
  HttpResult Send(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& token = "") const;

 private:
  BerthProcess() = default;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string out_path_;
  std::string err_path_;
};

}  // namespace berth::testing
