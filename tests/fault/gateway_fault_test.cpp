// An agent's gateway misbehaving, with the real engine and the project's test agent in its
// container (BERTH_TEST_AGENT_CHAT_FAULTS): it accepts a chat and never answers, answers with
// bytes that are not HTTP, or closes in the middle of a stream.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "fault/fault_support.hpp"
#include "lifecycle_e2e/lifecycle_fixture.hpp"
#include "lifecycle_openclaw/http_exchange.hpp"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::milliseconds;

class GatewayFault : public LifecycleE2eTest {
 protected:
  void SetUp() override {
    LifecycleE2eTest::SetUp();
    if (HasFatalFailure()) return;
    env_["OPENCLAW_IMAGE"] =
        TestAgentImages::Get().Variant("faults", {"BERTH_TEST_AGENT_CHAT_FAULTS=1"});
    env_["BERTH_CHAT_IDLE_GAP"] = "2";  // how long a silent gateway is waited for
  }

  static json Body(const std::string& what, bool stream) {
    return {{"model", "openclaw"},
            {"stream", stream},
            {"messages", {{{"role", "user"}, {"content", what}}}}};
  }
  ExchangeResult Chat(const std::string& token, const json& body) {
    return HttpExchange(
        "127.0.0.1", berth_->port(), "POST", "/v1/chat/completions", body.dump(),
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, 30s);
  }
  std::string RawChat(const std::string& token, const json& body) {
    const std::string payload = body.dump();
    return RawExchange("127.0.0.1", berth_->port(),
                       "POST /v1/chat/completions HTTP/1.1\r\nHost: berth\r\nConnection: "
                       "close\r\nAuthorization: Bearer " +
                           token + "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(payload.size()) + "\r\n\r\n" + payload);
  }
  static milliseconds Since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  }
  // berth still serves everything else, and the agent still answers a good chat.
  void ExpectBerthAndAgentFine(const std::string& user_id, const std::string& token) {
    EXPECT_TRUE(ProcessAlive(berth_->pid()));
    EXPECT_EQ(berth_->Get("/api/health").status, 200);
    auto agent = berth_->Get("/api/agent", token);
    EXPECT_EQ(agent.status, 200) << agent.body;
    auto ok = Chat(token, Body("fault:ok", false));
    EXPECT_EQ(ok.http.status, 200) << ok.http.body << ok.error;
    EXPECT_EQ(ContainersOf(user_id).size(), 1u);
  }
};

TEST_F(GatewayFault, SilentGarbledAndCutGatewaysGiveClearErrorsAndTheNextChatWorks) {
  StartBerth();
  auto [user_id, token] = CreateUser("faulty");
  auto started = StartAgent(token);
  ASSERT_EQ(started.status, 200) << started.body;
  ExpectBerthAndAgentFine(user_id, token);

  // Accepts and never answers: the idle gap (2 s here) ends the wait with the README's 502 for
  // a gateway that cannot be used; berth answers everything else meanwhile.
  for (bool stream : {false, true}) {
    const auto t0 = std::chrono::steady_clock::now();
    ExchangeResult silent;
    std::thread chat([&, t = token] { silent = Chat(t, Body("fault:hang", stream)); });
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(berth_->Get("/api/me", token).status, 200);
    chat.join();
    const auto waited = Since(t0);
    Observed(std::string("gateway silent (stream ") + (stream ? "on" : "off") + "): " +
             std::to_string(silent.http.status) + " after " + std::to_string(waited.count()) +
             " ms: " + silent.http.body.substr(0, 300) + silent.error);
    EXPECT_TRUE(IsJsonError(silent.http, 502)) << silent.error;
    EXPECT_NE(silent.http.body.find("did not answer within 2 s"), std::string::npos);
    EXPECT_LT(waited.count(), 10000);
  }
  ExpectBerthAndAgentFine(user_id, token);

  // Answers with bytes that are not HTTP.
  for (bool stream : {false, true}) {
    auto garbled = Chat(token, Body("fault:garbage", stream));
    Observed(std::string("gateway garbage (stream ") + (stream ? "on" : "off") +
             "): " + std::to_string(garbled.http.status) + " " + garbled.http.body.substr(0, 300));
    EXPECT_TRUE(IsJsonError(garbled.http, 502)) << garbled.error;
  }
  ExpectBerthAndAgentFine(user_id, token);

  // Closes mid-stream: the client gets what came, then a clear end, not a hang.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cut = RawChat(token, Body("fault:cut", true));
  const auto cut_ms = Since(t0);
  Observed("gateway closed mid-stream: after " + std::to_string(cut_ms.count()) +
           " ms the client got: " + cut.substr(0, 600));
  EXPECT_EQ(cut.rfind("HTTP/1.1 200", 0), 0u) << cut;
  EXPECT_NE(cut.find("partial"), std::string::npos) << cut;
  // The stream ends with an error event saying so (and its last chunk: the client is not left
  // waiting).
  EXPECT_NE(cut.find("\"code\":\"bad_gateway\""), std::string::npos) << cut;
  EXPECT_NE(cut.find("\r\n0\r\n\r\n"), std::string::npos) << cut;
  EXPECT_LT(cut_ms.count(), 4000) << "berth did not end the cut stream";
  ExpectBerthAndAgentFine(user_id, token);
}

}  // namespace
}  // namespace berth::testing
