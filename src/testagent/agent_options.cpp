#include "testagent/agent_options.hpp"

#include <charconv>
#include <string_view>

#include "testagent/http_url.hpp"

namespace berth::testagent {
namespace {

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Get(const GetEnv& getenv, const char* name) {
  const char* v = getenv(name);
  return v ? std::string(v) : std::string();
}

Result<std::int64_t> NonNegative(const GetEnv& getenv, const char* name) {
  std::string text = Get(getenv, name);
  if (text.empty()) return std::int64_t{0};
  auto value = ParseInt(text);
  if (!value || *value < 0) {
    return InvalidArgument(std::string(name) + " must be a non-negative integer, got \"" + text +
                           "\"");
  }
  return *value;
}

}  // namespace

std::string AgentOptions::ConfigPath() const { return home + "/.openclaw/openclaw.json"; }

std::string AgentOptions::ConfigUrl() const {
  return JoinPath(api_url, "internal/agent-config/" + agent_id);
}

std::optional<int> RequestedExitCode(const GetEnv& getenv) {
  auto value = ParseInt(Get(getenv, "BERTH_TEST_AGENT_EXIT_CODE"));
  if (!value || *value < 0 || *value > 255) return std::nullopt;
  return static_cast<int>(*value);
}

Result<AgentOptions> AgentOptionsFromEnv(const GetEnv& getenv) {
  AgentOptions o;
  for (auto [name, field] :
       {std::pair{"MOSAIC_API_URL", &o.api_url}, std::pair{"AGENT_TOKEN", &o.agent_token},
        std::pair{"AGENT_ID", &o.agent_id}}) {
    *field = Get(getenv, name);
    if (field->empty()) return InvalidArgument(std::string(name) + " is required but not set");
  }
  if (auto url = ParseHttpUrl(o.api_url); !url.ok()) {
    return InvalidArgument("MOSAIC_API_URL: " + url.status().message());
  }
  if (o.agent_id.find_first_of("/?#% ") != std::string::npos) {
    return InvalidArgument("AGENT_ID must not contain '/', '?', '#', '%' or spaces");
  }
  o.gateway_token = Get(getenv, "OPENCLAW_GATEWAY_TOKEN");
  if (o.gateway_token.empty()) o.gateway_token = o.agent_token;
  o.home = Get(getenv, "HOME");
  if (o.home.empty()) o.home = "/home/node";

  if (std::string listen = Get(getenv, "BERTH_TEST_AGENT_LISTEN"); !listen.empty()) {
    std::size_t colon = listen.rfind(':');
    auto port = colon == std::string::npos ? std::nullopt
                                           : ParseInt(std::string_view(listen).substr(colon + 1));
    if (!port || *port < 0 || *port > 65535) {
      return InvalidArgument("BERTH_TEST_AGENT_LISTEN must be host:port, got \"" + listen + "\"");
    }
    o.listen_host = listen.substr(0, colon);
    if (o.listen_host.size() >= 2 && o.listen_host.front() == '[' && o.listen_host.back() == ']') {
      o.listen_host = o.listen_host.substr(1, o.listen_host.size() - 2);
    }
    if (o.listen_host.empty()) o.listen_host = "0.0.0.0";
    o.listen_port = static_cast<unsigned short>(*port);
  }

  auto delay = NonNegative(getenv, "BERTH_TEST_AGENT_READY_DELAY_MS");
  if (!delay.ok()) return delay.status();
  o.ready_delay = std::chrono::milliseconds(*delay);
  auto mib = NonNegative(getenv, "BERTH_TEST_AGENT_ALLOCATE_MB");
  if (!mib.ok()) return mib.status();
  o.allocate_mib = *mib;
  if (std::string faults = Get(getenv, "BERTH_TEST_AGENT_CHAT_FAULTS"); !faults.empty()) {
    if (faults != "0" && faults != "1") {
      return InvalidArgument("BERTH_TEST_AGENT_CHAT_FAULTS must be 0 or 1, got \"" + faults + "\"");
    }
    o.chat_faults = faults == "1";
  }
  return o;
}

}  // namespace berth::testagent
