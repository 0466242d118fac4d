#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace berth::testagent {

// Exit code for a configuration problem (sysexits EX_CONFIG), as the real image's entrypoint
// uses: a missing variable, a refused or unusable config fetch.
inline constexpr int kExitConfig = 78;

// Everything the test agent reads from its environment (ARCHITECTURE.md, "Container contract",
// plus test hooks). Built once at start by AgentOptionsFromEnv.
struct AgentOptions {
  std::string api_url;                  // MOSAIC_API_URL, berth's API base including /api
  std::string agent_token;              // AGENT_TOKEN: opens this container's config only
  std::string agent_id;                 // AGENT_ID
  std::string gateway_token;            // OPENCLAW_GATEWAY_TOKEN, else AGENT_TOKEN
  std::string home;                     // HOME, default /home/node
  std::string listen_host = "0.0.0.0";  // BERTH_TEST_AGENT_LISTEN host:port (tests use :0)
  unsigned short listen_port = 18789;
  std::chrono::milliseconds ready_delay{0};  // BERTH_TEST_AGENT_READY_DELAY_MS
  std::int64_t allocate_mib = 0;             // BERTH_TEST_AGENT_ALLOCATE_MB
  // BERTH_TEST_AGENT_CHAT_FAULTS=1: a chat whose body holds "fault:<kind>" misbehaves on purpose
  // (see GatewayOptions::chat_faults), for berth's fault tests.
  bool chat_faults = false;

  // $HOME/.openclaw/openclaw.json, where the real gateway reads its config.
  std::string ConfigPath() const;
  // MOSAIC_API_URL + /internal/agent-config/<AGENT_ID>.
  std::string ConfigUrl() const;
};

using GetEnv = std::function<const char*(const char*)>;

// The exit code BERTH_TEST_AGENT_EXIT_CODE asks for, when set to an integer 0..255.
std::optional<int> RequestedExitCode(const GetEnv& getenv);

// kInvalidArgument naming the variable when a required one is missing or empty, or a hook or
// BERTH_TEST_AGENT_LISTEN does not parse. Never puts a token into the message.
Result<AgentOptions> AgentOptionsFromEnv(const GetEnv& getenv);

}  // namespace berth::testagent
