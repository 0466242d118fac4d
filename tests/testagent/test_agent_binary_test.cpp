// Runs the built berth-test-agent on the host against an in-test fake of berth's config endpoint
// and fake LLM providers, and checks the container contract it must honour like the real image.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/temp_dir.hpp"
#include "testagent/agent_process.hpp"
#include "testagent/fake_http_server.hpp"
#include "testagent/stream_reader.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kAgentToken = "bc_agent-token-never-logged";
constexpr const char* kAgentId = "ctr-1";

// A one-shot gate a fake provider waits on, so a test decides when the next piece is sent.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A provider that answers every chat with a JSON body naming itself, and records what it got.
std::unique_ptr<FakeHttpServer> JsonProvider(const std::string& name) {
  return std::make_unique<FakeHttpServer>([name](const FakeRequest& req, FakeExchange& ex) {
    ex.Respond(200, json{{"provider", name}, {"path", req.target}}.dump());
  });
}

json ConfigFor(const std::string& primary, const json& providers) {
  return {{"gateway", {{"mode", "local"}, {"port", 18789}}},
          {"agents", {{"defaults", {{"model", {{"primary", primary}}}}}}},
          {"models", {{"providers", providers}}}};
}

json Provider(const FakeHttpServer& server, const std::string& key = "") {
  json p = {{"baseUrl", server.Url() + "/v1"}, {"models", {{{"id", "m"}, {"name", "m"}}}}};
  if (!key.empty()) p["apiKey"] = key;
  return p;
}

class TestAgentBinary : public ::testing::Test {
 protected:
  // A config endpoint that serves `config` to the right token and path, 401 otherwise.
  void ServeConfig(json config) {
    {
      std::lock_guard lock(mu_);
      config_ = std::move(config);
    }
    if (berth_) return;
    berth_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& req, FakeExchange& ex) {
      if (req.Header("authorization") != std::string("Bearer ") + kAgentToken) {
        ex.Respond(401,
                   R"({"error":{"code":"unauthenticated","message":"Invalid container token"}})");
        return;
      }
      if (req.target != std::string("/api/internal/agent-config/") + kAgentId) {
        ex.Respond(404, R"({"error":{"code":"not_found","message":"no such container"}})");
        return;
      }
      std::lock_guard lock(mu_);
      ex.Respond(200, config_.dump());
    });
  }

  std::map<std::string, std::string> Env(const std::string& api_url) {
    return {{"MOSAIC_API_URL", api_url},
            {"AGENT_TOKEN", kAgentToken},
            {"AGENT_ID", kAgentId},
            {"HOME", dir_.File("home")}};
  }

  std::unique_ptr<AgentProcess> StartAgent(std::map<std::string, std::string> extra = {}) {
    auto env = Env(berth_->Url() + "/api");
    for (auto& [k, v] : extra) env[k] = v;
    auto agent = AgentProcess::Start(dir_.path().string(), env);
    EXPECT_TRUE(agent->WaitListening()) << agent->Stderr();
    return agent;
  }

  std::string ConfigPath() const { return dir_.File("home/.openclaw/openclaw.json"); }

  // Replaces the config file the way a push does (new content, fresh mtime).
  void PushConfig(const std::string& text) {
    std::string temp = ConfigPath() + ".push";
    std::ofstream(temp, std::ios::trunc) << text;
    ASSERT_EQ(::rename(temp.c_str(), ConfigPath().c_str()), 0);
  }

  TempDir dir_;
  std::mutex mu_;
  json config_;
  std::unique_ptr<FakeHttpServer> berth_;
};

TEST_F(TestAgentBinary, MissingContractVariableExits78) {
  ServeConfig(json::object());
  auto env = Env(berth_->Url() + "/api");
  env.erase("AGENT_ID");
  auto agent = AgentProcess::Start(dir_.path().string(), env);
  EXPECT_EQ(agent->WaitExit(), 78);
  EXPECT_NE(agent->Stderr().find("AGENT_ID"), std::string::npos) << agent->Stderr();
  EXPECT_EQ(berth_->RequestCount(), 0u);
}

TEST_F(TestAgentBinary, ExitCodeHookExitsBeforeFetching) {
  ServeConfig(json::object());
  auto env = Env(berth_->Url() + "/api");
  env["BERTH_TEST_AGENT_EXIT_CODE"] = "3";
  auto agent = AgentProcess::Start(dir_.path().string(), env);
  EXPECT_EQ(agent->WaitExit(), 3);
  EXPECT_NE(agent->Stderr().find("BERTH_TEST_AGENT_EXIT_CODE"), std::string::npos);
  EXPECT_EQ(berth_->RequestCount(), 0u);
}

TEST_F(TestAgentBinary, GivesUpAtOnceOn4xx) {
  ServeConfig(json::object());
  auto env = Env(berth_->Url() + "/api");
  env["AGENT_TOKEN"] = "bc_wrong-token";
  const auto start = std::chrono::steady_clock::now();
  auto agent = AgentProcess::Start(dir_.path().string(), env);
  EXPECT_EQ(agent->WaitExit(), 78) << agent->Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);  // no backoff before giving up
  EXPECT_EQ(berth_->RequestCount(), 1u);
  const std::string err = agent->Stderr();
  EXPECT_NE(err.find("HTTP 401"), std::string::npos) << err;
  EXPECT_NE(err.find("Invalid container token"), std::string::npos) << err;
  EXPECT_EQ(err.find("bc_wrong-token"), std::string::npos) << "token leaked: " << err;
  EXPECT_FALSE(std::ifstream(ConfigPath()).good());

  // 404 (record gone) is final as well.
  auto env404 = Env(berth_->Url() + "/api");
  env404["AGENT_ID"] = "gone";
  auto gone = AgentProcess::Start(dir_.path().string(), env404);
  EXPECT_EQ(gone->WaitExit(), 78);
  EXPECT_EQ(berth_->RequestCount(), 2u);
}

TEST_F(TestAgentBinary, Retries5xxThenServesTheConfig) {
  auto provider = JsonProvider("p");
  const json config = ConfigFor("p/m", {{"p", Provider(*provider)}});
  std::atomic<int> calls{0};
  FakeHttpServer flaky([&](const FakeRequest& req, FakeExchange& ex) {
    if (++calls <= 2) {
      ex.Respond(503, R"({"error":{"code":"unavailable","message":"store down"}})");
      return;
    }
    EXPECT_EQ(req.Header("authorization"), std::string("Bearer ") + kAgentToken);
    ex.Respond(200, config.dump());
  });
  auto agent = AgentProcess::Start(dir_.path().string(), Env(flaky.Url() + "/api"));
  ASSERT_TRUE(agent->WaitListening()) << agent->Stderr();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_NE(agent->Stderr().find("HTTP 503; retrying in 500 ms"), std::string::npos)
      << agent->Stderr();
  EXPECT_NE(agent->Stderr().find("retrying in 1000 ms"), std::string::npos);
  EXPECT_EQ(agent->Stderr().find(kAgentToken), std::string::npos);

  EXPECT_EQ(json::parse(ReadFile(ConfigPath())), config);
  struct stat st {};
  ASSERT_EQ(::stat(ConfigPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(agent->Get("/readyz").status, 200);
  EXPECT_EQ(agent->Stop(SIGTERM), 0);
}

TEST_F(TestAgentBinary, RetriesUntilBerthAcceptsConnections) {
  const json config = ConfigFor("p/m", json::object());
  FakeHttpServer late([&](const FakeRequest&, FakeExchange& ex) { ex.Respond(200, config.dump()); },
                      "127.0.0.1", /*listen_now=*/false);
  auto agent = AgentProcess::Start(dir_.path().string(), Env(late.Url() + "/api"));
  ASSERT_TRUE(agent->WaitForLog("config fetch attempt 2 failed")) << agent->Stderr();
  EXPECT_NE(agent->Stderr().find("Connection refused"), std::string::npos) << agent->Stderr();
  late.Listen();
  ASSERT_TRUE(agent->WaitListening()) << agent->Stderr();
  EXPECT_EQ(late.RequestCount(), 1u);
}

TEST_F(TestAgentBinary, HealthReadinessAndReadyDelay) {
  ServeConfig(ConfigFor("p/m", json::object()));
  auto agent = StartAgent({{"BERTH_TEST_AGENT_READY_DELAY_MS", "1500"}});
  auto health = agent->Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json(), json({{"ok", true}, {"status", "live"}}));
  auto early = agent->Get("/readyz");
  EXPECT_EQ(early.status, 503) << early.body;
  EXPECT_EQ(early.Json()["ready"], false);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  HttpResult ready;
  while (std::chrono::steady_clock::now() < deadline) {
    ready = agent->Get("/readyz");
    if (ready.status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.Json(), json({{"ready", true}}));
  EXPECT_EQ(agent->Get("/nope").status, 404);
}

TEST_F(TestAgentBinary, GatewayTokenGuardsTheApi) {
  ServeConfig(ConfigFor("p/m", json::object()));
  auto agent = StartAgent({{"OPENCLAW_GATEWAY_TOKEN", "gw-token"}});
  const json unauthorized = {{"error", {{"message", "Unauthorized"}, {"type", "unauthorized"}}}};
  for (const std::string token : {"", "wrong", kAgentToken}) {
    auto models = agent->Get("/v1/models", token);
    EXPECT_EQ(models.status, 401) << token;
    EXPECT_EQ(models.Json(), unauthorized);
    auto chat = agent->Chat(R"({"model":"openclaw"})", token);
    EXPECT_EQ(chat.status, 401) << token;
    EXPECT_EQ(chat.Json(), unauthorized);
  }
  auto models = agent->Get("/v1/models", "gw-token");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(models.Json()["object"], "list");
  EXPECT_EQ(models.Json()["data"][0]["id"], "openclaw");
  EXPECT_EQ(models.Json()["data"][1]["id"], "openclaw/default");
}

TEST_F(TestAgentBinary, ModelMustBeOpenClaw) {
  auto provider = JsonProvider("p");
  ServeConfig(ConfigFor("p/m", {{"p", Provider(*provider)}}));
  auto agent = StartAgent();
  for (const char* body : {R"({"model":"gpt-4o","messages":[]})", R"({"messages":[]})",
                           R"({"model":"p/m"})", "not json"}) {
    auto r = agent->Chat(body, kAgentToken);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.Json()["error"]["type"], "invalid_request_error") << r.body;
  }
  auto unknown =
      agent->Chat(R"({"model":"openclaw"})", kAgentToken, {{"x-openclaw-model", "zz/m"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("Unknown provider"), std::string::npos) << unknown.body;
  EXPECT_EQ(provider->RequestCount(), 0u);
  EXPECT_EQ(agent->Chat(R"({"model":"openclaw/main"})", kAgentToken).status, 200);
}

TEST_F(TestAgentBinary, ChatFaultHookMisbehavesOnlyWhenAsked) {
  auto provider = JsonProvider("p");
  ServeConfig(ConfigFor("p/m", {{"p", Provider(*provider)}}));
  const std::string ok =
      R"({"model":"openclaw","messages":[{"role":"user","content":"fault:ok"}]})";
  const std::string garbage =
      R"({"model":"openclaw","messages":[{"role":"user","content":"fault:garbage"}]})";
  {
    auto plain = StartAgent();
    EXPECT_EQ(plain->Chat(ok, kAgentToken).Json()["provider"], "p");  // an ordinary chat
    EXPECT_EQ(plain->Chat(garbage, kAgentToken).status, 200);
  }
  EXPECT_EQ(provider->RequestCount(), 2u);
  auto faulty = StartAgent({{"BERTH_TEST_AGENT_CHAT_FAULTS", "1"}});
  auto canned = faulty->Chat(ok, kAgentToken);
  EXPECT_EQ(canned.status, 200) << canned.body;
  EXPECT_EQ(canned.Json()["choices"][0]["message"]["content"], "ok");
  EXPECT_EQ(faulty->Chat(garbage, kAgentToken).status, 0) << "not HTTP";
  EXPECT_EQ(faulty->Chat(garbage, "wrong-token").status, 401);  // the token is checked first
  EXPECT_EQ(provider->RequestCount(), 2u);
}

TEST_F(TestAgentBinary, ChatGoesToThePrimaryOrTheHeaderModel) {
  auto first = JsonProvider("first");
  auto second = JsonProvider("second");
  ServeConfig(ConfigFor("first/model-a",
                        {{"first", Provider(*first, "sk-first")}, {"second", Provider(*second)}}));
  auto agent = StartAgent();

  auto r = agent->Chat(R"({"model":"openclaw","messages":[{"role":"user","content":"hi"}]})",
                       kAgentToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["provider"], "first");
  ASSERT_EQ(first->RequestCount(), 1u);
  FakeRequest got = first->Requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/v1/chat/completions");
  EXPECT_EQ(got.Header("authorization"), "Bearer sk-first");
  json body = json::parse(got.body);
  EXPECT_EQ(body["model"], "model-a");
  EXPECT_EQ(body["messages"][0]["content"], "hi");

  r = agent->Chat(R"({"model":"openclaw"})", kAgentToken, {{"x-openclaw-model", "second/b/c"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["provider"], "second");
  ASSERT_EQ(second->RequestCount(), 1u);
  got = second->Requests()[0];
  EXPECT_EQ(json::parse(got.body)["model"], "b/c");
  EXPECT_EQ(got.Header("authorization"), "");  // no apiKey, no header
  EXPECT_EQ(first->RequestCount(), 1u);
  EXPECT_EQ(agent->Stderr().find("sk-first"), std::string::npos);
}

TEST_F(TestAgentBinary, StreamsEachPieceAsItArrives) {
  Gate second_piece;
  Gate last_piece;
  FakeHttpServer provider([&](const FakeRequest&, FakeExchange& ex) {
    ex.StartChunked(200, "text/event-stream");
    ex.Chunk("data: {\"n\":1}\n\n");
    if (!second_piece.Wait()) return;
    ex.Chunk("data: {\"n\":2}\n\n");
    if (!last_piece.Wait()) return;
    ex.Chunk("data: [DONE]\n\n");
    ex.EndChunked();
  });
  ServeConfig(ConfigFor("p/m", {{"p", Provider(provider)}}));
  auto agent = StartAgent();

  StreamReader reader(agent->port(), "POST", "/v1/chat/completions",
                      R"({"model":"openclaw","stream":true})",
                      {{"Authorization", std::string("Bearer ") + kAgentToken}});
  ASSERT_TRUE(reader.ReadHeader()) << reader.error();
  EXPECT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.Header("content-type"), "text/event-stream");
  EXPECT_EQ(reader.Header("transfer-encoding"), "chunked");
  // The provider holds back piece 2 until piece 1 reached the client: had the agent buffered,
  // these reads would time out.
  ASSERT_TRUE(reader.ReadUntil("data: {\"n\":1}\n\n")) << reader.error();
  EXPECT_EQ(reader.body().find("\"n\":2"), std::string::npos);
  second_piece.Open();
  ASSERT_TRUE(reader.ReadUntil("data: {\"n\":2}\n\n")) << reader.error();
  EXPECT_EQ(reader.body().find("[DONE]"), std::string::npos);
  last_piece.Open();
  ASSERT_TRUE(reader.ReadUntil("data: [DONE]\n\n")) << reader.error();
  EXPECT_FALSE(reader.ReadSome().has_value());
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.body(), "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n");
}

TEST_F(TestAgentBinary, PassesProviderStatusAndBodyThrough) {
  FakeHttpServer provider([](const FakeRequest&, FakeExchange& ex) {
    ex.Respond(429, R"({"error":{"message":"slow down","type":"rate_limit"}})");
  });
  ServeConfig(ConfigFor("p/m", {{"p", Provider(provider)}}));
  auto agent = StartAgent();
  auto r = agent->Chat(R"({"model":"openclaw"})", kAgentToken);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(r.Json()["error"]["message"], "slow down");
}

TEST_F(TestAgentBinary, ClientHangupClosesTheProviderConnection) {
  Gate client_gone;
  std::atomic<bool> provider_saw_close{false};
  FakeHttpServer provider([&](const FakeRequest&, FakeExchange& ex) {
    ex.StartChunked(200, "text/event-stream");
    ex.Chunk("data: {\"n\":1}\n\n");
    if (!client_gone.Wait()) return;
    // Nothing more is sent: only the agent closing the connection ends this wait.
    provider_saw_close = ex.WaitForPeerClose(5s);
  });
  ServeConfig(ConfigFor("p/m", {{"p", Provider(provider)}}));
  auto agent = StartAgent();
  {
    StreamReader reader(agent->port(), "POST", "/v1/chat/completions",
                        R"({"model":"openclaw","stream":true})",
                        {{"Authorization", std::string("Bearer ") + kAgentToken}});
    ASSERT_TRUE(reader.ReadHeader());
    ASSERT_TRUE(reader.ReadUntil("\"n\":1"));
    reader.Close();
  }
  client_gone.Open();
  ASSERT_TRUE(agent->WaitForLog("client went away mid-stream", 5s)) << agent->Stderr();
  // The provider thread is done once WaitForPeerClose returned.
  const auto deadline = std::chrono::steady_clock::now() + 6s;
  while (!provider_saw_close && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(provider_saw_close);
  // The agent is still fine.
  EXPECT_EQ(agent->Get("/healthz").status, 200);
}

TEST_F(TestAgentBinary, DeadProviderIs502) {
  unsigned short dead_port;
  {
    FakeHttpServer gone([](const FakeRequest&, FakeExchange&) {}, "127.0.0.1", false);
    dead_port = gone.port();
  }  // closed: nothing listens there now
  json dead = {{"baseUrl", "http://127.0.0.1:" + std::to_string(dead_port) + "/v1"}};
  ServeConfig(ConfigFor("dead/m", {{"dead", dead}}));
  auto agent = StartAgent();
  auto r = agent->Chat(R"({"model":"openclaw"})", kAgentToken);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.Json()["error"]["type"], "upstream_error");
  EXPECT_TRUE(r.Json()["error"]["message"].is_string());
  EXPECT_EQ(agent->Get("/healthz").status, 200);
}

TEST_F(TestAgentBinary, HotReloadAppliesValidConfigsAndSkipsInvalidOnes) {
  auto first = JsonProvider("first");
  auto second = JsonProvider("second");
  const json providers = {{"first", Provider(*first)}, {"second", Provider(*second)}};
  ServeConfig(ConfigFor("first/m", providers));
  auto agent = StartAgent();
  EXPECT_EQ(agent->Chat(R"({"model":"openclaw"})", kAgentToken).Json()["provider"], "first");

  PushConfig(R"({"models": )");
  ASSERT_TRUE(agent->WaitForLog("config hot reload skipped", 3s)) << agent->Stderr();
  EXPECT_EQ(agent->Chat(R"({"model":"openclaw"})", kAgentToken).Json()["provider"], "first");

  PushConfig(ConfigFor("second/m", providers).dump());
  ASSERT_TRUE(agent->WaitForLog("config hot reload applied", 3s)) << agent->Stderr();
  EXPECT_EQ(agent->Chat(R"({"model":"openclaw"})", kAgentToken).Json()["provider"], "second");
  EXPECT_EQ(first->RequestCount(), 2u);
  EXPECT_EQ(second->RequestCount(), 1u);
}

TEST_F(TestAgentBinary, SigtermAndSigintExitZero) {
  ServeConfig(ConfigFor("p/m", json::object()));
  auto a = StartAgent();
  EXPECT_EQ(a->Stop(SIGTERM), 0) << a->Stderr();
  auto b = StartAgent();
  EXPECT_EQ(b->Stop(SIGINT), 0) << b->Stderr();
}

TEST_F(TestAgentBinary, SigtermDuringConfigRetriesExitsZero) {
  FakeHttpServer down([](const FakeRequest&, FakeExchange& ex) { ex.Respond(503, "{}"); });
  auto agent = AgentProcess::Start(dir_.path().string(), Env(down.Url() + "/api"));
  ASSERT_TRUE(agent->WaitForLog("config fetch attempt 1 failed")) << agent->Stderr();
  EXPECT_EQ(agent->Stop(SIGTERM), 0) << agent->Stderr();
}

long ResidentKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(TestAgentBinary, AllocateHookMakesMemoryResident) {
  ServeConfig(ConfigFor("p/m", json::object()));
  auto small = StartAgent();
  auto big = StartAgent({{"BERTH_TEST_AGENT_ALLOCATE_MB", "96"}});
  EXPECT_NE(big->Stderr().find("allocated and touched 96 MiB"), std::string::npos);
  EXPECT_GE(ResidentKib(big->pid()) - ResidentKib(small->pid()), 90 * 1024);
}

}  // namespace
}  // namespace berth::testing
