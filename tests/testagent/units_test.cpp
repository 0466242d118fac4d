// Unit tests of the test agent's parts that need no socket: URL parsing, the retry schedule,
// options from the environment, chat planning and the config file watcher.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "support/temp_dir.hpp"
#include "testagent/agent_options.hpp"
#include "testagent/backoff.hpp"
#include "testagent/config_file.hpp"
#include "testagent/http_url.hpp"
#include "testagent/openai_api.hpp"

namespace berth::testagent {
namespace {

using nlohmann::json;
using Ms = std::chrono::milliseconds;

TEST(HttpUrl, ParsesHostPortAndPath) {
  auto u = ParseHttpUrl("http://172.17.0.1:3000/api");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->host, "172.17.0.1");
  EXPECT_EQ(u->port, "3000");
  EXPECT_EQ(u->path, "/api");
  EXPECT_EQ(u->HostHeader(), "172.17.0.1:3000");

  auto bare = ParseHttpUrl("HTTP://mosaic-api");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, "80");
  EXPECT_EQ(bare->path, "/");
  EXPECT_EQ(bare->HostHeader(), "mosaic-api");

  auto v6 = ParseHttpUrl("http://[::1]:8080/v1/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostHeader(), "[::1]:8080");
}

TEST(HttpUrl, RefusesWhatItCannotSpeak) {
  for (const char* bad :
       {"https://api.openai.com/v1", "ftp://x", "http://", "http://:80/", "http://u:p@host/",
        "http://host:0/", "http://host:70000/", "http://host:8x/", "http://[::1/"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
  EXPECT_NE(ParseHttpUrl("https://x/").status().message().find("https"), std::string::npos);
}

TEST(HttpUrl, JoinPathUsesOneSlash) {
  EXPECT_EQ(JoinPath("/v1", "chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(JoinPath("/v1/", "/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(JoinPath("/", "chat/completions"), "/chat/completions");
}

TEST(Backoff, DoublesToTheCapAndStopsAtTheBudget) {
  Backoff b(Ms(500), Ms(5000), Ms(120000));
  std::vector<long> waits;
  Ms elapsed(0);
  while (auto wait = b.Next(elapsed)) {
    waits.push_back(wait->count());
    elapsed += *wait;
  }
  ASSERT_GE(waits.size(), 6u);
  EXPECT_EQ(std::vector<long>(waits.begin(), waits.begin() + 6),
            (std::vector<long>{500, 1000, 2000, 4000, 5000, 5000}));
  EXPECT_EQ(elapsed, Ms(120000));  // the last wait is cut to the budget
  EXPECT_FALSE(b.Next(Ms(120000)).has_value());
}

TEST(Backoff, ClassifiesStatuses) {
  EXPECT_EQ(ClassifyStatus(200), FetchVerdict::kAccept);
  EXPECT_EQ(ClassifyStatus(500), FetchVerdict::kRetry);
  EXPECT_EQ(ClassifyStatus(503), FetchVerdict::kRetry);
  for (unsigned s : {400u, 401u, 403u, 404u, 429u, 301u}) {
    EXPECT_EQ(ClassifyStatus(s), FetchVerdict::kGiveUp) << s;
  }
}

GetEnv EnvOf(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

const std::map<std::string, std::string> kContract = {
    {"MOSAIC_API_URL", "http://172.17.0.1:3000/api"},
    {"AGENT_TOKEN", "bc_secret"},
    {"AGENT_ID", "c1"}};

TEST(AgentOptions, ReadsTheContract) {
  auto o = AgentOptionsFromEnv(EnvOf(kContract));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->gateway_token, "bc_secret");  // AGENT_TOKEN doubles as the gateway token
  EXPECT_EQ(o->home, "/home/node");
  EXPECT_EQ(o->ConfigPath(), "/home/node/.openclaw/openclaw.json");
  EXPECT_EQ(o->ConfigUrl(), "http://172.17.0.1:3000/api/internal/agent-config/c1");
  EXPECT_EQ(o->listen_host, "0.0.0.0");
  EXPECT_EQ(o->listen_port, 18789);

  auto vars = kContract;
  vars["OPENCLAW_GATEWAY_TOKEN"] = "gw";
  vars["HOME"] = "/tmp/h";
  vars["BERTH_TEST_AGENT_LISTEN"] = "127.0.0.1:0";
  vars["BERTH_TEST_AGENT_READY_DELAY_MS"] = "1500";
  vars["BERTH_TEST_AGENT_ALLOCATE_MB"] = "64";
  o = AgentOptionsFromEnv(EnvOf(vars));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->gateway_token, "gw");
  EXPECT_EQ(o->ConfigPath(), "/tmp/h/.openclaw/openclaw.json");
  EXPECT_EQ(o->listen_host, "127.0.0.1");
  EXPECT_EQ(o->listen_port, 0);
  EXPECT_EQ(o->ready_delay, Ms(1500));
  EXPECT_EQ(o->allocate_mib, 64);
}

TEST(AgentOptions, NamesTheMissingVariableWithoutLeakingTheToken) {
  for (const char* name : {"MOSAIC_API_URL", "AGENT_TOKEN", "AGENT_ID"}) {
    auto vars = kContract;
    vars.erase(name);
    auto o = AgentOptionsFromEnv(EnvOf(vars));
    ASSERT_FALSE(o.ok()) << name;
    EXPECT_NE(o.status().message().find(name), std::string::npos) << o.status().message();
    EXPECT_EQ(o.status().message().find("bc_secret"), std::string::npos);
  }
  auto vars = kContract;
  vars["BERTH_TEST_AGENT_ALLOCATE_MB"] = "lots";
  EXPECT_FALSE(AgentOptionsFromEnv(EnvOf(vars)).ok());
  vars = kContract;
  vars["MOSAIC_API_URL"] = "https://berth/api";
  EXPECT_FALSE(AgentOptionsFromEnv(EnvOf(vars)).ok());
}

TEST(AgentOptions, ExitCodeHook) {
  EXPECT_EQ(RequestedExitCode(EnvOf({})), std::nullopt);
  EXPECT_EQ(RequestedExitCode(EnvOf({{"BERTH_TEST_AGENT_EXIT_CODE", "3"}})), 3);
  EXPECT_EQ(RequestedExitCode(EnvOf({{"BERTH_TEST_AGENT_EXIT_CODE", "0"}})), 0);
  EXPECT_EQ(RequestedExitCode(EnvOf({{"BERTH_TEST_AGENT_EXIT_CODE", "300"}})), std::nullopt);
  EXPECT_EQ(RequestedExitCode(EnvOf({{"BERTH_TEST_AGENT_EXIT_CODE", "x"}})), std::nullopt);
}

TEST(OpenAiApi, BearerMatchesExactlyTheToken) {
  EXPECT_TRUE(BearerMatches("Bearer tok", "tok"));
  EXPECT_FALSE(BearerMatches("Bearer tok2", "tok"));
  EXPECT_FALSE(BearerMatches("Bearer to", "tok"));
  EXPECT_FALSE(BearerMatches("bearer tok", "tok"));
  EXPECT_FALSE(BearerMatches("tok", "tok"));
  EXPECT_FALSE(BearerMatches("Bearer ", ""));
}

TEST(OpenAiApi, ModelListNamesTheAgentModels) {
  json list = ModelList();
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][0]["id"], "openclaw");
  EXPECT_EQ(list["data"][1]["id"], "openclaw/default");
  EXPECT_EQ(list["data"][0]["object"], "model");
}

const json kConfig = {{"agents", {{"defaults", {{"model", {{"primary", "main/gpt-x"}}}}}}},
                      {"models",
                       {{"providers",
                         {{"main", {{"baseUrl", "http://10.0.0.1:8000/v1"}, {"apiKey", "sk-main"}}},
                          {"local", {{"baseUrl", "http://10.0.0.2:9000/"}}},
                          {"cloud", {{"baseUrl", "https://api.example/v1"}}},
                          {"nourl", {{"apiKey", "k"}}}}}}}};

TEST(OpenAiApi, PlanChatUsesThePrimaryModel) {
  auto plan =
      PlanChat(kConfig, R"({"model":"openclaw","messages":[],"stream":true})", std::nullopt);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->model_ref, "main/gpt-x");
  EXPECT_EQ(plan->url.HostHeader(), "10.0.0.1:8000");
  EXPECT_EQ(plan->url.path, "/v1/chat/completions");
  EXPECT_EQ(plan->api_key, "sk-main");
  json body = json::parse(plan->body);
  EXPECT_EQ(body["model"], "gpt-x");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["messages"], json::array());
}

TEST(OpenAiApi, PlanChatHonoursTheModelHeader) {
  auto plan = PlanChat(kConfig, R"({"model":"openclaw/agent-7"})", "local/llama/3:70b");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->url.path, "/chat/completions");
  EXPECT_EQ(plan->api_key, "");
  EXPECT_EQ(json::parse(plan->body)["model"], "llama/3:70b");
}

TEST(OpenAiApi, PlanChatRefusals) {
  auto refused = [](const json& config, const std::string& body,
                    std::optional<std::string_view> header) {
    auto plan = PlanChat(config, body, header);
    EXPECT_FALSE(plan.ok()) << body;
    return plan.ok() ? std::string() : plan.status().message();
  };
  EXPECT_NE(refused(kConfig, R"({"model":"gpt-4o"})", std::nullopt).find("Invalid model"),
            std::string::npos);
  refused(kConfig, R"({"messages":[]})", std::nullopt);
  refused(kConfig, R"({"model":7})", std::nullopt);
  refused(kConfig, "not json", std::nullopt);
  refused(kConfig, "[]", std::nullopt);
  EXPECT_NE(refused(kConfig, R"({"model":"openclaw"})", "other/m").find("Unknown provider"),
            std::string::npos);
  refused(kConfig, R"({"model":"openclaw"})", "noslash");
  refused(kConfig, R"({"model":"openclaw"})", "nourl/m");
  refused(kConfig, R"({"model":"openclaw"})", "cloud/m");  // https is not supported
  refused(json::object(), R"({"model":"openclaw"})", std::nullopt);
}

TEST(ConfigFile, WritesMode0600AndCreatesTheDirectory) {
  testing::TempDir dir;
  const std::string path = dir.File("home/.openclaw/openclaw.json");
  ASSERT_TRUE(WriteConfigFile(path, R"({"a":1})").ok());
  EXPECT_EQ(testing::ReadFile(path), R"({"a":1})");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.File("home/.openclaw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(WriteConfigFile(path, R"({"a":2})").ok());  // replaces
  EXPECT_EQ(testing::ReadFile(path), R"({"a":2})");
}

void WriteRaw(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(ConfigFile, WatcherAppliesValidVersionsAndSkipsInvalidOnes) {
  testing::TempDir dir;
  const std::string path = dir.File("openclaw.json");
  WriteRaw(path, R"({"v":1})");
  ConfigWatcher watcher(path);
  watcher.Prime();
  EXPECT_EQ(watcher.Poll().change, ConfigWatcher::Change::kNone);

  WriteRaw(path, R"({"v":"two"})");  // same inode, other size
  auto outcome = watcher.Poll();
  ASSERT_EQ(outcome.change, ConfigWatcher::Change::kApplied);
  EXPECT_EQ(outcome.config["v"], "two");
  EXPECT_EQ(watcher.Poll().change, ConfigWatcher::Change::kNone);

  WriteRaw(path, R"({"v":)");
  outcome = watcher.Poll();
  EXPECT_EQ(outcome.change, ConfigWatcher::Change::kSkipped);
  EXPECT_EQ(outcome.reason, "not valid JSON");
  EXPECT_EQ(watcher.Poll().change, ConfigWatcher::Change::kNone);  // reported once

  WriteRaw(path, "[1,2]");
  EXPECT_EQ(watcher.Poll().change, ConfigWatcher::Change::kSkipped);

  // Same size, newer mtime: still a new version.
  WriteRaw(path, R"({"v":3})");
  ASSERT_EQ(watcher.Poll().change, ConfigWatcher::Change::kApplied);
  WriteRaw(path, R"({"v":4})");
  struct timespec times[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  outcome = watcher.Poll();
  ASSERT_EQ(outcome.change, ConfigWatcher::Change::kApplied);
  EXPECT_EQ(outcome.config["v"], 4);
}

}  // namespace
}  // namespace berth::testagent
