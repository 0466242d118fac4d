#pragma once

// The real OpenClaw gateway under berth: the image under test, a client's view of a streamed
// chat, and the fixture of the tests that start berth with that image (tests/lifecycle_e2e's
// fixture, with a fake LLM upstream in the test process).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lifecycle_e2e/lifecycle_fixture.hpp"
#include "lifecycle_openclaw/fake_llm.hpp"
#include "lifecycle_openclaw/http_exchange.hpp"

namespace berth::testing {

inline constexpr unsigned short kGatewayPort = 18789;
inline constexpr char kHotReloaded[] = "config hot reload applied";

// The image under test: BERTH_OPENCLAW_IMAGE (scripts/test.sh builds and exports it), else built
// once per program with the project's own `berth image build openclaw` under a per-run tag and
// removed at the end (DockerTestEnv). "" when the build failed (the failure is reported).
const std::string& OpenClawImage();

// The value of env variable `name` in a container, or "".
std::string EnvOf(const docker::ContainerDetails& c, const std::string& name);
std::size_t Count(const std::string& text, const std::string& what);
long long Millis(std::chrono::steady_clock::duration d);

// What a client got from a streamed chat: the text of the content deltas, how many deltas
// carried text, the usage chunk, and whether the stream ended with [DONE].
struct StreamedChat {
  std::string text;
  std::size_t content_events = 0;
  nlohmann::json usage;
  bool done = false;
  std::string problem;  // an event that is not JSON, or an error event
};
StreamedChat ReadChatStream(const std::string& body);

class OpenClawLifecycle : public LifecycleE2eTest {
 protected:
  void SetUp() override {
    if (const char* skip = std::getenv("BERTH_SKIP_OPENCLAW"); skip && std::string(skip) == "1") {
      GTEST_SKIP() << "BERTH_SKIP_OPENCLAW=1";
    }
    // Not LifecycleE2eTest::SetUp(): that one names (and would build) the test-agent image.
    // TearDown is the base's: everything berth made for this database goes, by id.
    DockerTest::SetUp();
    if (HasFatalFailure()) return;
    image_ = OpenClawImage();
    ASSERT_FALSE(image_.empty()) << "no OpenClaw image to test";
    network_ = env().Name("openclaw-agents");
    // Memory, CPU and pids limits are berth's defaults (2 GiB): the gateway needs ~1.05 GiB.
    env_ = {{"BERTH_DATA_DIR", dir_.path().string()},
            {"BERTH_ADMIN_TOKEN", kAdminToken},
            {"DOCKER_HOST", env().docker_host()},
            {"OPENCLAW_IMAGE", image_},
            {"OPENCLAW_NETWORK", network_},
            {"BERTH_INTERNAL_LISTEN", ":0"},
            {"BERTH_START_TIMEOUT", "180"}};
  }

  void TearDown() override {
    if (HasFailure() && !agent_container_.empty()) {
      auto logs = client().ContainerLogs(agent_container_, 80);
      if (logs.ok()) std::printf("[openclaw] gateway log tail:\n%s\n", logs->combined.c_str());
    }
    LifecycleE2eTest::TearDown();
  }

  std::string GatewayLog() {
    auto logs = client().ContainerLogs(agent_container_, 2000);
    return logs.ok() ? logs->combined : "";
  }

  // POST /v1/chat/completions to the gateway with its token.
  ExchangeResult Chat(const std::string& ip, const std::string& gateway_token, bool stream,
                      const std::string& openclaw_model = "") {
    nlohmann::json body = {
        {"model", "openclaw"},
        {"stream", stream},
        {"messages", {{{"role", "user"}, {"content", "Say hello in one short line."}}}}};
    if (stream) body["stream_options"] = {{"include_usage", true}};
    std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + gateway_token}};
    if (!openclaw_model.empty()) headers["x-openclaw-model"] = openclaw_model;
    const auto begin = std::chrono::steady_clock::now();
    ExchangeResult answer =
        HttpExchange(ip, kGatewayPort, "POST", "/v1/chat/completions", body.dump(), headers);
    std::printf("[openclaw] chat stream=%d model=%s: %d in %lld ms, %zu body reads over %lld ms\n",
                stream, openclaw_model.empty() ? "(primary)" : openclaw_model.c_str(),
                answer.http.status, Millis(std::chrono::steady_clock::now() - begin),
                answer.body_reads, static_cast<long long>(answer.body_span.count()));
    return answer;
  }

  std::string image_;
  std::string agent_container_;
};

}  // namespace berth::testing
