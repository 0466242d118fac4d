#include "testagent/agent.hpp"

#include <spdlog/spdlog.h>

#include <new>

#include "common/logging.hpp"
#include "testagent/config_fetcher.hpp"

namespace berth::testagent {
namespace {

constexpr std::chrono::milliseconds kReloadPoll{250};

GatewayOptions GatewayOptionsFor(const AgentOptions& o) {
  GatewayOptions g;
  g.host = o.listen_host;
  g.port = o.listen_port;
  g.gateway_token = o.gateway_token;
  g.ready_at = std::chrono::steady_clock::now() + o.ready_delay;
  g.chat_faults = o.chat_faults;
  return g;
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      gateway_(ioc_, GatewayOptionsFor(options_)),
      watcher_(options_.ConfigPath()) {}

Agent::~Agent() = default;

int Agent::Run() {
  signals_.async_wait([this](const beast::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    Finish(0);
  });
  net::post(ioc_, [this] {
    net::co_spawn(ioc_, Main(), [this](std::exception_ptr e) {
      if (!e) return;
      LogCoroutineException("agent", e);
      Finish(1);
    });
  });
  ioc_.run();
  return exit_code_;
}

void Agent::Finish(int exit_code) {
  if (finished_) return;
  finished_ = true;
  exit_code_ = exit_code;
  gateway_.Stop();
  reload_timer_.cancel();
  beast::error_code ignored;
  signals_.cancel(ignored);
  // Streams in flight are cut: the container is going away either way.
  ioc_.stop();
}

net::awaitable<void> Agent::Main() {
  FetchOptions fetch;
  fetch.url = options_.ConfigUrl();
  fetch.token = options_.agent_token;
  auto config = co_await FetchConfig(fetch);
  if (!config.ok()) {
    spdlog::error("cannot get the agent config: {}; giving up", config.status().message());
    Finish(kExitConfig);
    co_return;
  }
  if (Status st = WriteConfigFile(options_.ConfigPath(), config->dump(2)); !st.ok()) {
    spdlog::error("cannot write the agent config: {}", st.message());
    Finish(kExitConfig);
    co_return;
  }
  spdlog::info("config written to {}", options_.ConfigPath());
  watcher_.Prime();
  gateway_.SetConfig(std::move(*config));

  if (options_.allocate_mib > 0) {
    const std::size_t bytes = static_cast<std::size_t>(options_.allocate_mib) << 20;
    ballast_.reset(new (std::nothrow) char[bytes]);
    if (!ballast_) {
      spdlog::error("cannot allocate {} MiB", options_.allocate_mib);
      Finish(1);
      co_return;
    }
    // Touch every page so the memory is really resident (and counted against a cgroup limit).
    for (std::size_t i = 0; i < bytes; i += 4096) ballast_[i] = 1;
    spdlog::info("allocated and touched {} MiB", options_.allocate_mib);
  }

  if (Status st = gateway_.Listen(); !st.ok()) {
    spdlog::error("{}", st.message());
    Finish(1);
    co_return;
  }
  spdlog::info("berth-test-agent listening on {}:{}", options_.listen_host, gateway_.port());
  gateway_.Start();
  co_await ReloadLoop();
}

net::awaitable<void> Agent::ReloadLoop() {
  beast::error_code ec;
  while (!finished_) {
    reload_timer_.expires_after(kReloadPoll);
    co_await reload_timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (finished_) break;
    ConfigWatcher::Outcome outcome = watcher_.Poll();
    switch (outcome.change) {
      case ConfigWatcher::Change::kNone:
        break;
      case ConfigWatcher::Change::kApplied:
        gateway_.SetConfig(std::move(outcome.config));
        spdlog::info("config hot reload applied");
        break;
      case ConfigWatcher::Change::kSkipped:
        spdlog::warn("config hot reload skipped: {}; keeping the previous config", outcome.reason);
        break;
    }
  }
}

}  // namespace berth::testagent
