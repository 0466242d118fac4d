// The chat endpoints end to end: the built berth binary on the real Docker engine, the project's
// test agent as the user's gateway, and a fake LLM upstream in this process that the agent
// forwards to (tests/lifecycle_openclaw/fake_llm.hpp).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>

#include "../lifecycle_e2e/lifecycle_fixture.hpp"
#include "../lifecycle_openclaw/fake_llm.hpp"
#include "../lifecycle_openclaw/http_exchange.hpp"
#include "support/run_command.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kUpstreamKey = "sk-upstream-chat-e2e-secret";

// A raw HTTP/1.1 client that reads a streamed answer as it arrives and can hang up mid-stream.
class StreamClient {
 public:
  StreamClient(unsigned short port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                 ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                     static_cast<ssize_t>(request.size());
  }
  ~StreamClient() { Close(); }

  bool connected() const { return connected_; }
  // Reads until `needle` has arrived or `timeout` passed; true when it arrived.
  bool ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || fd_ < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  const std::string& received() const { return received_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

std::string ChatRequestBytes(const std::string& token, const json& body) {
  const std::string payload = body.dump();
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: berth\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) +
         "\r\n\r\n" + payload;
}

json ChatBody(const std::string& model, bool stream) {
  json body = {{"model", model},
               {"stream", stream},
               {"messages", {{{"role", "user"}, {"content", "say something"}}}}};
  if (stream) body["stream_options"] = {{"include_usage", true}};
  return body;
}

// The text of an OpenAI stream's content deltas, and whether usage and [DONE] came.
struct StreamedChat {
  std::string text;
  bool usage = false;
  bool done = false;
  std::size_t pieces = 0;
};

StreamedChat ParseStream(const std::string& body) {
  StreamedChat out;
  for (const std::string& data : SseData(body)) {
    if (data == "[DONE]") {
      out.done = true;
      continue;
    }
    json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object()) continue;
    if (chunk.contains("usage") && chunk["usage"].is_object()) out.usage = true;
    if (chunk.contains("choices") && chunk["choices"].is_array() && !chunk["choices"].empty()) {
      const json& delta = chunk["choices"][0].value("delta", json::object());
      if (delta.contains("content") && delta["content"].is_string()) {
        out.text += delta["content"].get<std::string>();
        ++out.pieces;
      }
    }
  }
  return out;
}

class ChatE2e : public LifecycleE2eTest {
 protected:
  // A user with one provider at `llm` offering two models; returns the user's id and token.
  std::pair<std::string, std::string> UserWithProvider(const FakeLlm& llm,
                                                       const std::string& name = "chat") {
    auto [user_id, token] = CreateUser(name);
    AddFakeProvider(token, llm.BaseUrl(), kUpstreamKey, {"fake-model-1", "fake-model-2"});
    return {user_id, token};
  }

  std::string Gateway() {
    auto network = client().InspectNetwork(network_);
    EXPECT_TRUE(network.ok()) << network.status().ToString();
    return network.ok() ? network->gateway : "127.0.0.1";
  }

  ExchangeResult Chat(const std::string& token, const json& body) {
    return HttpExchange(
        "127.0.0.1", berth_->port(), "POST", "/v1/chat/completions", body.dump(),
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, 120s);
  }

  std::string AgentLogs(const std::string& user_id) {
    auto containers = ContainersOf(user_id);
    if (containers.empty()) return "";
    auto logs = client().ContainerLogs(containers.front().id, 500);
    return logs.ok() ? logs->combined : "";
  }
};

TEST_F(ChatE2e, StreamedChatStartsTheStoppedAgentKeepsTheClientAliveAndArrivesInPieces) {
  // The agent takes a while to get ready, so the client hears keep-alive comments meanwhile.
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("slowready", {"BERTH_TEST_AGENT_READY_DELAY_MS=1500"});
  env_["BERTH_CHAT_KEEPALIVE_MS"] = "200";
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);
  ASSERT_EQ(berth_->Get("/api/agent", token).Json()["status"], "stopped");

  // A provider/model name goes to the gateway as "openclaw" with x-openclaw-model.
  auto streamed = Chat(token, ChatBody("fakellm/fake-model-2", true));
  ASSERT_EQ(streamed.http.status, 200) << streamed.error << streamed.http.body;
  EXPECT_THAT(streamed.http.headers["content-type"], HasSubstr("text/event-stream"));
  EXPECT_THAT(streamed.http.body, HasSubstr(": berth: starting your agent"));
  StreamedChat chat = ParseStream(streamed.http.body);
  EXPECT_EQ(chat.text, FakeLlm::Reply("fake-model-2"));
  EXPECT_GT(chat.pieces, 1u);
  EXPECT_GT(streamed.body_reads, 2u);  // it arrived over time, not in one buffer
  EXPECT_TRUE(chat.usage);
  EXPECT_TRUE(chat.done);
  auto calls = llm.Calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().model, "fake-model-2");
  EXPECT_EQ(calls.back().authorization, std::string("Bearer ") + kUpstreamKey);
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "running");
}

TEST_F(ChatE2e, NonStreamedChatAndTheModelList) {
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);

  auto models = berth_->Get("/v1/models", token);
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.Json()["object"], "list");
  const json list = models.Json();
  std::vector<std::string> ids;
  for (const json& m : list["data"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids,
            (std::vector<std::string>{"openclaw", "fakellm/fake-model-1", "fakellm/fake-model-2"}));

  auto answer = Chat(token, ChatBody("openclaw", false));
  ASSERT_EQ(answer.http.status, 200) << answer.error << answer.http.body;
  EXPECT_THAT(answer.http.headers["content-type"], HasSubstr("application/json"));
  json completion = json::parse(answer.http.body, nullptr, false);
  ASSERT_TRUE(completion.is_object()) << answer.http.body;
  // The primary model is the first model of the first provider.
  EXPECT_EQ(completion["choices"][0]["message"]["content"], FakeLlm::Reply("fake-model-1"));
  EXPECT_TRUE(completion["usage"].is_object());
}

TEST_F(ChatE2e, BadRequestsGetClearOpenAiErrors) {
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);
  auto error_of = [](const ExchangeResult& r) { return json::parse(r.http.body, nullptr, false); };

  auto unknown = Chat(token, ChatBody("gpt-5", false));
  EXPECT_EQ(unknown.http.status, 400);
  json e = error_of(unknown);
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_THAT(e["error"]["message"].get<std::string>(),
              HasSubstr("valid models: openclaw, fakellm/fake-model-1, fakellm/fake-model-2"));

  auto malformed =
      HttpExchange("127.0.0.1", berth_->port(), "POST", "/v1/chat/completions",
                   "{\"model\": \"openclaw\", ", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(malformed.http.status, 400);
  EXPECT_EQ(error_of(malformed)["error"]["message"], "request body is not valid JSON");

  auto no_model = Chat(token, json{{"messages", json::array()}});
  EXPECT_EQ(no_model.http.status, 400);
  EXPECT_THAT(error_of(no_model)["error"]["message"].get<std::string>(), HasSubstr("'model'"));

  json huge = ChatBody("openclaw", false);
  huge["messages"][0]["content"] = std::string(2 << 20, 'x');
  auto oversized = Chat(token, huge);
  EXPECT_EQ(oversized.http.status, 413);
  EXPECT_EQ(error_of(oversized)["error"]["code"], "payload_too_large");

  auto anonymous = HttpExchange("127.0.0.1", berth_->port(), "POST", "/v1/chat/completions",
                                ChatBody("openclaw", false).dump());
  EXPECT_EQ(anonymous.http.status, 401);
  EXPECT_EQ(error_of(anonymous)["error"]["type"], "authentication_error");
  auto admin = Chat(kAdminToken, ChatBody("openclaw", false));
  EXPECT_EQ(admin.http.status, 403);
  EXPECT_EQ(error_of(admin)["error"]["type"], "permission_error");
  // None of this started an agent.
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "stopped");
}

TEST_F(ChatE2e, AClientThatHangsUpMidStreamCancelsTheGatewayRequestAtOnce) {
  StartBerth();
  FakeLlm llm(Gateway(), 1500ms);  // a slow upstream: the stream lasts many seconds
  auto [user_id, token] = UserWithProvider(llm);
  ASSERT_EQ(StartAgent(token).status, 200);

  StreamClient client(berth_->port(), ChatRequestBytes(token, ChatBody("openclaw", true)));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.ReadUntil("\"content\"", 30s)) << client.received();
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["openStreams"], 1);
  const auto hung_up = std::chrono::steady_clock::now();
  client.Close();

  // berth closed its side at once, so the agent closed its provider connection.
  bool cancelled = Eventually(
      [&] { return AgentLogs(user_id).find("client went away mid-stream") != std::string::npos; },
      10s);
  EXPECT_TRUE(cancelled) << AgentLogs(user_id);
  EXPECT_LT(std::chrono::steady_clock::now() - hung_up, 1500ms);  // before the next chunk
  EXPECT_TRUE(
      Eventually([&] { return berth_->Get("/api/agent", token).Json()["openStreams"] == 0; }, 5s));
}

TEST_F(ChatE2e, ConcurrentChatsOfManyUsers) {
  constexpr int kUsers = 12;
  env_["BERTH_MAX_CONCURRENT_STARTS"] = std::to_string(kUsers);
  StartBerth();
  FakeLlm llm(Gateway(), 20ms);
  std::vector<std::string> tokens;
  for (int i = 0; i < kUsers; ++i)
    tokens.push_back(UserWithProvider(llm, "u" + std::to_string(i)).second);
  std::vector<std::future<ExchangeResult>> chats;
  for (int i = 0; i < kUsers; ++i) {
    chats.push_back(std::async(std::launch::async, [&, i] {
      return Chat(tokens[static_cast<std::size_t>(i)],
                  ChatBody("fakellm/fake-model-1", i % 2 == 0));
    }));
  }
  for (int i = 0; i < kUsers; ++i) {
    ExchangeResult r = chats[static_cast<std::size_t>(i)].get();
    ASSERT_EQ(r.http.status, 200) << "user " << i << ": " << r.error << r.http.body;
    if (i % 2 == 0) {
      EXPECT_EQ(ParseStream(r.http.body).text, FakeLlm::Reply("fake-model-1")) << "user " << i;
    } else {
      EXPECT_EQ(json::parse(r.http.body)["choices"][0]["message"]["content"],
                FakeLlm::Reply("fake-model-1"))
          << "user " << i;
    }
  }
  // One agent each.
  const json fleet = berth_->Get("/api/admin/containers", kAdminToken).Json();
  int running = 0;
  for (const json& agent : fleet["containers"]) running += agent["status"] == "running" ? 1 : 0;
  EXPECT_EQ(running, kUsers);
}

TEST_F(ChatE2e, TheOfficialOpenAiClientWorksAgainstBerth) {
  const std::string dir = std::string(BERTH_SOURCE_DIR) + "/tests/node";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/openai/package.json"))
      << "the openai npm client is not installed: scripts/test.sh runs `npm ci` in " << dir;
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);
  const std::string command =
      "cd " + ShellQuote(dir) +
      " && BERTH_URL=" + ShellQuote("http://127.0.0.1:" + std::to_string(berth_->port())) +
      " BERTH_TOKEN=" + ShellQuote(token) + " EXPECTED_MODELS=" +
      ShellQuote(R"(["openclaw","fakellm/fake-model-1","fakellm/fake-model-2"])") +
      " EXPECTED_REPLY=" + ShellQuote(FakeLlm::Reply("fake-model-1")) +
      " STREAM_MODEL=fakellm/fake-model-2 EXPECTED_STREAM_REPLY=" +
      ShellQuote(FakeLlm::Reply("fake-model-2")) + " node openai_client.mjs";
  std::string output;
  const int code = RunCommand(command, &output);
  ASSERT_EQ(code, 0) << output;
  // What the client saw, as it printed it.
  json seen = json::parse(
      output.substr(output.rfind("\n{") == std::string::npos ? 0 : output.rfind("\n{") + 1),
      nullptr, false);
  ASSERT_TRUE(seen.is_object()) << output;
  EXPECT_EQ(seen["plain"], FakeLlm::Reply("fake-model-1"));
  EXPECT_EQ(seen["text"], FakeLlm::Reply("fake-model-2"));
  EXPECT_GT(seen["pieces"].get<int>(), 1);
}

TEST_F(ChatE2e, MetricsAndJsonLogsTellWhatHappenedWithoutSecrets) {
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);
  ASSERT_EQ(Chat(token, ChatBody("openclaw", true)).http.status, 200);
  ASSERT_EQ(Chat(token, ChatBody("nope", false)).http.status, 400);

  auto metrics = berth_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.headers["content-type"], HasSubstr("text/plain; version=0.0.4"));
  const std::string& m = metrics.body;
  for (const char* line : {
           "berth_http_requests_total{route=\"/v1/chat/"
           "completions\",method=\"POST\",status=\"200\"} 1\n",
           "berth_http_requests_total{route=\"/v1/chat/"
           "completions\",method=\"POST\",status=\"400\"} 1\n",
           "berth_http_request_duration_seconds_count{route=\"/v1/chat/"
           "completions\",method=\"POST\"} 2\n",
           "berth_agent_starts_total{result=\"ready\"} 1\n",
           "berth_agent_start_duration_seconds_count{result=\"ready\"} 1\n",
           "berth_config_fetches_total{status=\"200\"} 1\n",
           "berth_agents{kind=\"user\",status=\"running\"} 1\n",
           "berth_open_streams 0\n",
           "# TYPE berth_agent_reaps_total counter\n",
           "# TYPE berth_agent_health_failures_total counter\n",
       }) {
    EXPECT_THAT(m, HasSubstr(line));
  }
  // No user, token or container id in any label.
  EXPECT_EQ(m.find(user_id), std::string::npos);
  EXPECT_EQ(m.find(token), std::string::npos);

  // berth logs JSON lines; the access line of the chat carries its request id as a field.
  const std::string log = berth_->Stderr();
  bool found_chat = false;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    json parsed = json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << "not a JSON line: " << line;
    if (parsed.value("path", "") == "/v1/chat/completions" && parsed.value("status", 0) == 200) {
      EXPECT_FALSE(parsed.value("request_id", "").empty()) << line;
      found_chat = true;
    }
  }
  EXPECT_TRUE(found_chat) << log;
  for (const std::string& secret : {token, std::string(kUpstreamKey), std::string(kAdminToken)}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "a secret in berth's log";
  }
}

TEST_F(ChatE2e, TheEventStreamReportsTheStartStepByStep) {
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm);
  StreamClient events(berth_->port(),
                      "GET /api/agent/events HTTP/1.1\r\nHost: berth\r\n"
                      "Authorization: Bearer " +
                          token + "\r\n\r\n");
  ASSERT_TRUE(events.ReadUntil("event: state", 10s)) << events.received();
  EXPECT_THAT(events.received(), HasSubstr("text/event-stream"));
  EXPECT_THAT(events.received(), HasSubstr("{\"status\":\"stopped\"}"));
  // Opening the stream is a sign of intent: the agent starts without being asked.
  ASSERT_TRUE(events.ReadUntil("{\"status\":\"running\"}", 20s)) << events.received();
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "running");
  const std::string& seen = events.received();
  const auto creating = seen.find("\"phase\":\"creating\"");
  const auto starting = seen.find("\"phase\":\"starting\"");
  const auto waiting = seen.find("\"phase\":\"waiting_for_ready\"");
  const auto running = seen.find("{\"status\":\"running\"}");
  ASSERT_NE(creating, std::string::npos) << seen;
  ASSERT_NE(starting, std::string::npos) << seen;
  ASSERT_NE(waiting, std::string::npos) << seen;
  EXPECT_LT(creating, starting);
  EXPECT_LT(starting, waiting);
  EXPECT_LT(waiting, running);
  ASSERT_EQ(berth_->Post("/api/agent/stop", "", token).status, 200);
  ASSERT_TRUE(events.ReadUntil("{\"status\":\"stopping\"}", 20s)) << events.received();
}

TEST_F(ChatE2e, StartWithoutWaitingAnswers202AtOnceAndTheAgentComesUp) {
  // A slow agent: the answer must not wait for it.
  env_["OPENCLAW_IMAGE"] =
      TestAgentImages::Get().Variant("slowready", {"BERTH_TEST_AGENT_READY_DELAY_MS=1500"});
  StartBerth();
  auto [user_id, token] = CreateUser("eager");
  auto ahead = berth_->Post("/api/agent/start?wait=false", "", token);
  ASSERT_EQ(ahead.status, 202) << ahead.body;
  EXPECT_EQ(ahead.Json()["status"], "starting");  // answered before the agent was ready
  EXPECT_TRUE(
      Eventually([&] { return berth_->Get("/api/agent", token).Json()["status"] == "running"; }));
  EXPECT_EQ(ContainersOf(user_id).size(), 1u);
  EXPECT_EQ(berth_->Post("/api/agent/start?wait=maybe", "", token).status, 400);
  // Already running: 202 with the running agent, nothing new made.
  auto again = berth_->Post("/api/agent/start?wait=false", "", token);
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.Json()["status"], "running");
  EXPECT_EQ(ContainersOf(user_id).size(), 1u);
}

TEST_F(ChatE2e, AnIdleAgentIsPausedAndTheNextChatResumesIt) {
  env_["BERTH_IDLE_PAUSE"] = "1";
  env_["BERTH_REAP_INTERVAL"] = "1";
  StartBerth();
  FakeLlm llm(Gateway());
  auto [user_id, token] = UserWithProvider(llm, "pauser");
  ASSERT_EQ(Chat(token, ChatBody("openclaw", false)).http.status, 200);
  const std::string id = ContainersOf(user_id).at(0).id;
  auto engine_state = [&] {
    auto info = client().InspectContainer(id);
    return info.ok() ? info->status : info.status().ToString();
  };

  // Idle past BERTH_IDLE_PAUSE: the reaper's next pass pauses it (the engine freezes it).
  ASSERT_TRUE(Eventually([&] { return engine_state() == "paused"; }, 10s)) << engine_state();
  EXPECT_EQ(berth_->Get("/api/agent", token).Json()["status"], "paused");
  const std::string metrics = berth_->Get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("berth_agents{kind=\"user\",status=\"paused\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("berth_agent_pauses_total 1"));

  // The next chat resumes the same container and is answered (how long it took is printed, for
  // people: timings are the benchmarks' business).
  const auto asked = std::chrono::steady_clock::now();
  auto answer = Chat(token, ChatBody("openclaw", false));
  std::cout << "[pause] the chat that resumed the agent took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - asked)
                   .count()
            << " ms\n";
  ASSERT_EQ(answer.http.status, 200) << answer.error << answer.http.body;
  EXPECT_EQ(json::parse(answer.http.body)["choices"][0]["message"]["content"],
            FakeLlm::Reply("fake-model-1"));
  EXPECT_EQ(ContainersOf(user_id).at(0).id, id);
  EXPECT_NE(engine_state(), "exited");

  // Paused again, then stopped by the user: the engine thaws it to deliver SIGTERM, and the
  // agent shuts down cleanly.
  ASSERT_TRUE(Eventually([&] { return engine_state() == "paused"; }, 10s)) << engine_state();
  auto stopped = berth_->Post("/api/agent/stop", "", token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.Json()["status"], "stopped");
  auto info = client().InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, "exited");
  EXPECT_EQ(info->exit_code, 0);
}

}  // namespace

}  // namespace berth::testing
