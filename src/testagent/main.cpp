// berth-test-agent: a small stand-in for the OpenClaw agent image that honours the same container
// contract (ARCHITECTURE.md). Wiring only; see testagent/agent.hpp.

#include <cstdio>
#include <cstdlib>

#include "common/logging.hpp"
#include "testagent/agent.hpp"

int main() {
  using namespace berth::testagent;
  const GetEnv getenv = [](const char* name) -> const char* { return std::getenv(name); };
  if (auto code = RequestedExitCode(getenv)) {
    std::fprintf(stderr, "berth-test-agent: exiting with code %d (BERTH_TEST_AGENT_EXIT_CODE)\n",
                 *code);
    return *code;
  }
  auto options = AgentOptionsFromEnv(getenv);
  if (!options.ok()) {
    std::fprintf(stderr, "berth-test-agent: %s\n", options.status().message().c_str());
    return kExitConfig;
  }
  berth::InitLogging("info");
  Agent agent(std::move(*options));
  return agent.Run();
}
