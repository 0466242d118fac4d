#pragma once

#include <chrono>
#include <memory>

#include "common/asio.hpp"
#include "testagent/agent_options.hpp"
#include "testagent/config_file.hpp"
#include "testagent/gateway.hpp"

namespace berth::testagent {

// The whole test agent: what the real image's entrypoint and gateway do, in one process.
//   1. fetch the config (FetchConfig: retries, gives up at once on 4xx), write it to
//      $HOME/.openclaw/openclaw.json (0600);
//   2. BERTH_TEST_AGENT_ALLOCATE_MB: allocate and touch that much memory, and keep it;
//   3. serve the Gateway; poll the config file every 250 ms and apply new versions (logging
//      "config hot reload applied", or "config hot reload skipped" for an invalid one);
//   4. SIGTERM/SIGINT: stop and exit 0.
class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();

  // Runs until a signal (returns 0) or a fatal error: kExitConfig when the config cannot be
  // fetched or written, 1 when the port cannot be bound or memory cannot be allocated.
  int Run();

 private:
  net::awaitable<void> Main();
  net::awaitable<void> ReloadLoop();
  void Finish(int exit_code);

  AgentOptions options_;
  net::io_context ioc_{1};
  net::signal_set signals_{ioc_, SIGINT, SIGTERM};
  net::steady_timer reload_timer_{ioc_};
  Gateway gateway_;
  ConfigWatcher watcher_;
  std::unique_ptr<char[]> ballast_;  // BERTH_TEST_AGENT_ALLOCATE_MB
  bool finished_ = false;
  int exit_code_ = 0;
};

}  // namespace berth::testagent
