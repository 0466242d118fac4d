// Checks the configs berth builds against the real OpenClaw validator (`openclaw config validate
// --json`, the same check the gateway applies at start and on hot reload), run through
// scripts/openclaw. Requires scripts/install-openclaw.sh to have run; set BERTH_SKIP_OPENCLAW=1 to
// skip explicitly. The validator runs offline, in a scratch HOME and state dir.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agentconfig/openclaw_config.hpp"
#include "support/temp_dir.hpp"

namespace berth::agentconfig {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

constexpr std::size_t kParallelValidators = 2;  // the machine has 2 shared cores
constexpr auto kValidatorTimeout = std::chrono::seconds(120);

std::string WrapperPath() { return std::string(BERTH_SOURCE_DIR) + "/scripts/openclaw"; }

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// `value[key]` when `value` is an object holding `key`, else null; never throws.
const Json& Member(const Json& value, const std::string& key) {
  static const Json kNull;
  if (!value.is_object()) return kNull;
  const auto it = value.find(key);
  return it == value.end() ? kNull : *it;
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

struct Invocation {
  std::vector<std::string> args;  // after the wrapper
  std::string config_text;        // written to a file named by OPENCLAW_CONFIG_PATH
};

struct Outcome {
  int exit_code = -1;  // -1: did not run or was killed
  std::string out;
  std::string err;
  Json json;  // stdout parsed; discarded value when it is not JSON

  std::string Describe() const {
    return "exit " + std::to_string(exit_code) + "\nstdout: " + out + "\nstderr: " + err;
  }
};

class OpenClawRunner {
 public:
  // Runs every invocation through scripts/openclaw, kParallelValidators at a time, each in its own
  // process group, and returns the outcomes in order.
  std::vector<Outcome> RunAll(const std::vector<Invocation>& invocations) {
    ++batch_;
    std::vector<Outcome> outcomes(invocations.size());
    struct Running {
      std::size_t index;
      pid_t pid;
      std::chrono::steady_clock::time_point started;
    };
    std::vector<Running> running;
    std::size_t next = 0;
    while (next < invocations.size() || !running.empty()) {
      while (next < invocations.size() && running.size() < kParallelValidators) {
        const pid_t pid = Spawn(next, invocations[next]);
        if (pid > 0) running.push_back({next, pid, std::chrono::steady_clock::now()});
        ++next;
      }
      for (auto it = running.begin(); it != running.end();) {
        int status = 0;
        const pid_t done = waitpid(it->pid, &status, WNOHANG);
        if (done == 0 && std::chrono::steady_clock::now() - it->started > kValidatorTimeout) {
          kill(-it->pid, SIGKILL);
          waitpid(it->pid, &status, 0);
          Collect(it->index, -1, outcomes);
          ADD_FAILURE() << "openclaw timed out after " << kValidatorTimeout.count() << " s";
          it = running.erase(it);
        } else if (done == it->pid) {
          Collect(it->index, WIFEXITED(status) ? WEXITSTATUS(status) : -1, outcomes);
          it = running.erase(it);
        } else {
          ++it;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return outcomes;
  }

  Outcome Run(const Invocation& invocation) { return RunAll({invocation}).front(); }

 private:
  std::filesystem::path FileFor(std::size_t index, const std::string& suffix) const {
    return dir_.path() / (std::to_string(batch_) + "-" + std::to_string(index) + suffix);
  }

  pid_t Spawn(std::size_t index, const Invocation& invocation) {
    const std::filesystem::path scratch =
        dir_.path() / ("home-" + std::to_string(batch_) + "-" + std::to_string(index));
    std::filesystem::create_directories(scratch / "state");
    const std::string config = FileFor(index, ".json").string();
    WriteFile(config, invocation.config_text);

    // A clean environment: nothing of the caller's OpenClaw setup (profile, token, state) leaks in.
    std::vector<std::string> env = {
        "HOME=" + scratch.string(),
        "OPENCLAW_HOME=" + scratch.string(),
        "OPENCLAW_STATE_DIR=" + (scratch / "state").string(),
        "OPENCLAW_CONFIG_PATH=" + config,
        "NO_COLOR=1",
        std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
    };
    for (const char* passed : {"BERTH_OPENCLAW_HOME", "TMPDIR"}) {
      if (const char* value = std::getenv(passed)) env.push_back(std::string(passed) + "=" + value);
    }
    std::vector<std::string> args = {WrapperPath()};
    args.insert(args.end(), invocation.args.begin(), invocation.args.end());

    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& var : env) envp.push_back(var.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, FileFor(index, ".out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, FileFor(index, ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // so a timeout kills its children
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      ADD_FAILURE() << "cannot run " << argv[0] << ": " << std::strerror(rc);
      return -1;
    }
    return pid;
  }

  void Collect(std::size_t index, int exit_code, std::vector<Outcome>& outcomes) {
    Outcome& outcome = outcomes[index];
    outcome.exit_code = exit_code;
    outcome.out = ReadFile(FileFor(index, ".out"));
    outcome.err = ReadFile(FileFor(index, ".err"));
    outcome.json = Json::parse(outcome.out, nullptr, /*allow_exceptions=*/false);
  }

  testing::TempDir dir_;
  int batch_ = 0;
};

class OpenClawValidate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* skip = std::getenv("BERTH_SKIP_OPENCLAW"); skip && std::string(skip) == "1") {
      GTEST_SKIP() << "BERTH_SKIP_OPENCLAW=1";
    }
    const Outcome version = runner_.Run({{"--version"}, "{}"});
    ASSERT_EQ(version.exit_code, 0)
        << "OpenClaw is not installed (or does not run): run scripts/install-openclaw.sh as root "
           "(installs into ${BERTH_OPENCLAW_HOME:-/var/cache/berth/openclaw}), or set "
           "BERTH_SKIP_OPENCLAW=1 to skip these tests.\n"
        << version.Describe();
    ASSERT_THAT(version.out, HasSubstr("OpenClaw " + std::string(kOpenClawVersion) + " "))
        << "berth's schema findings were validated against OpenClaw " << kOpenClawVersion
        << "; run scripts/install-openclaw.sh to install that version (or update the findings)";
  }

  // Runs `openclaw config validate --json` on every config, 2 at a time.
  std::vector<Outcome> ValidateAll(const std::vector<std::pair<std::string, Json>>& configs) {
    std::vector<Invocation> invocations;
    for (const auto& labelled : configs) {
      invocations.push_back({{"config", "validate", "--json"}, labelled.second.dump(2)});
    }
    return runner_.RunAll(invocations);
  }

  // Expects every config to be valid with no warnings.
  void ExpectAllValid(const std::vector<std::pair<std::string, Json>>& configs) {
    const std::vector<Outcome> outcomes = ValidateAll(configs);
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const Outcome& outcome = outcomes[i];
      const std::string context = configs[i].first + "\n" + outcome.Describe();
      EXPECT_EQ(outcome.exit_code, 0) << context;
      EXPECT_EQ(Member(outcome.json, "valid"), Json(true)) << context;
      EXPECT_EQ(Member(outcome.json, "warnings"), Json::array()) << context;
    }
  }

  // Expects every config to be rejected; returns the issues reported for each.
  std::vector<Json> ExpectAllInvalid(const std::vector<std::pair<std::string, Json>>& configs) {
    const std::vector<Outcome> outcomes = ValidateAll(configs);
    std::vector<Json> issues;
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const Outcome& outcome = outcomes[i];
      const std::string context = configs[i].first + "\n" + outcome.Describe();
      EXPECT_EQ(outcome.exit_code, 1) << context;
      EXPECT_EQ(Member(outcome.json, "valid"), Json(false)) << context;
      const Json& reported = Member(outcome.json, "issues");
      EXPECT_TRUE(reported.is_array() && !reported.empty()) << context;
      issues.push_back(reported.is_array() && !reported.empty() ? reported
                                                                : Json::array({Json::object()}));
    }
    return issues;
  }

  static std::vector<std::string> IssuePaths(const Json& issues) {
    std::vector<std::string> paths;
    for (const Json& issue : issues) paths.push_back(Member(issue, "path").dump());
    return paths;
  }

  OpenClawRunner runner_;
};

ProviderInput Provider(std::string name, std::optional<std::string> base_url,
                       std::vector<ModelEntry> models, std::optional<std::string> api_key = {},
                       std::optional<std::string> api_type = {}) {
  ProviderInput provider;
  provider.name = std::move(name);
  provider.type = "openai";
  provider.base_url = std::move(base_url);
  provider.api_key = std::move(api_key);
  provider.api_type = std::move(api_type);
  provider.models = std::move(models);
  return provider;
}

// Inputs as berth's API admits them: every provider must pass ValidateProvider.
std::vector<ProviderInput> Validated(std::vector<ProviderInput> providers) {
  for (const ProviderInput& provider : providers) {
    const Status status = ValidateProvider(provider);
    EXPECT_TRUE(status.ok()) << provider.name << ": " << status.ToString();
  }
  return providers;
}

std::vector<ModelEntry> Strict(const std::string& json) {
  Result<std::vector<ModelEntry>> models = ParseModelsStrict(Json::parse(json));
  EXPECT_TRUE(models.ok()) << models.status().ToString();
  return models.ok() ? std::move(models).value() : std::vector<ModelEntry>{};
}

TEST_F(OpenClawValidate, AcceptsUserConfigs) {
  std::vector<std::pair<std::string, Json>> configs;

  configs.emplace_back("no providers", BuildUserConfig(std::nullopt, {}));

  configs.emplace_back(
      "several providers, with and without key and baseUrl, string and object models",
      BuildUserConfig(
          std::nullopt,
          Validated({
              Provider("my-zai", "https://api.z.ai/v1", ParseModelsLenient(R"([{"id": "glm-5"}])"),
                       "secret-zai-key", "openai-completions"),
              Provider("local-vllm", "http://10.0.0.5:8000/v1",
                       Strict(R"(["qwen3-32b", {"id": "llama-3.3-70b", "name": "Llama 3.3"}])")),
              Provider("openai", std::nullopt, Strict(R"(["gpt-4o-mini", "gpt-4.1"])"), "sk-o"),
              Provider("anthropic", std::nullopt, {}, "sk-ant"),
              Provider("empty-custom", "https://empty.example", {}, ""),
          })));

  std::vector<ProviderInput> every_api;
  for (std::size_t i = 0; i < kModelApis.size(); ++i) {
    every_api.push_back(Provider("api-" + std::to_string(i),
                                 "https://api" + std::to_string(i) + ".example/v1",
                                 {ModelEntry{"m", std::nullopt}}, "k", std::string(kModelApis[i])));
  }
  configs.emplace_back("every accepted api type",
                       BuildUserConfig("api-0/m", Validated(std::move(every_api))));

  configs.emplace_back(
      "primary model not among the providers",
      BuildUserConfig(
          "anthropic/claude-sonnet-4",
          Validated({Provider("acme", "https://acme.example/v1", Strict(R"(["m"])"))})));

  std::vector<ModelEntry> many;
  for (std::size_t i = 0; i < kMaxModelsPerProvider; ++i) {
    many.push_back({"model-" + std::to_string(i), std::nullopt});
  }
  many.front().id = std::string(kMaxModelIdLength, 'i');
  many.front().name = std::string(kMaxModelNameLength, 'n');
  configs.emplace_back(
      "edge values: env references, unicode, slashes, maximum lengths",
      BuildUserConfig(
          "z.ai/m-${HOME}",
          Validated({
              Provider(
                  "z.ai", "https://x.example/${OPENCLAW_GATEWAY_TOKEN}?k=$HOME",
                  Strict(R"(["m-${HOME}", {"id": "vendor/model:free", "name": "\u6a21\u578b ${X}"},
                                 "$${HOME}"])"),
                  "sk-${AGENT_TOKEN}$$"),
              Provider(std::string(kMaxProviderNameLength, 'p'), "http://[::1]:11434", many,
                       std::string(kMaxApiKeyLength, 'k'), "ollama"),
              Provider("a_b-c.d", "HTTPS://UPPER.EXAMPLE:443/", {}, "$lower"),
          })));

  // Stored rows that break today's rules; the builder must still produce a file the gateway takes.
  ProviderInput bad_api =
      Provider("bad-api", "https://x.example", {}, {}, "openai-codex-responses");
  configs.emplace_back(
      "stored rows that fail validation",
      BuildUserConfig("", {Provider("custom", std::nullopt, {{"m", std::nullopt}}),
                           Provider("Upper Case", "https://x.example", {}), bad_api,
                           Provider("__proto__", "https://x.example", {}),
                           Provider("kept", "not a url", {{"", "x"}, {"a", ""}, {"a", "b"}})}));

  ExpectAllValid(configs);
}

TEST_F(OpenClawValidate, AcceptsSystemConfigs) {
  ExpectAllValid({{"default primary", BuildSystemConfig(std::nullopt)},
                  {"configured primary", BuildSystemConfig("anthropic/claude-sonnet-4")}});
}

// kBuiltInProviderIds is what lets ValidateProvider accept a provider without baseUrl.
TEST_F(OpenClawValidate, AcceptsEveryBundledProviderWithoutBaseUrl) {
  std::vector<ProviderInput> bundled;
  for (std::string_view id : kBuiltInProviderIds) {
    bundled.push_back(Provider(std::string(id), std::nullopt, {{"m", std::nullopt}}));
  }
  const Json config = BuildUserConfig(std::nullopt, Validated(bundled));
  ASSERT_EQ(config["models"]["providers"].size(), kBuiltInProviderIds.size());
  ExpectAllValid({{"every bundled provider id without baseUrl", config}});
}

// Negative controls: the check can fail. It fails on the seed's models map (the defect that
// crashes the gateway) and on an unknown key; it also pins two facts berth's rules rest on: custom
// providers need baseUrl (ValidateProvider requires it, the builder drops stored rows without
// it), and the accepted api values are exactly kModelApis.
TEST_F(OpenClawValidate, RejectsWhatTheGatewayRefuses) {
  const ProviderInput acme = Provider("acme", "https://acme.example", {{"m", std::nullopt}});

  Json seed_map = BuildUserConfig(std::nullopt, {acme});
  seed_map["models"]["providers"]["acme"]["models"] = {{"m", Json::object()}};
  Json unknown_key = BuildUserConfig(std::nullopt, {});
  unknown_key["gateway"]["berthManaged"] = true;
  Json no_base_url = BuildUserConfig(std::nullopt, {acme});
  no_base_url["models"]["providers"]["acme"].erase("baseUrl");
  Json bad_api = BuildUserConfig(std::nullopt, {acme});
  bad_api["models"]["providers"]["acme"]["api"] = "not-an-api";

  const std::vector<Json> issues =
      ExpectAllInvalid({{"the seed's models map", seed_map},
                        {"an unknown key", unknown_key},
                        {"a custom provider without baseUrl", no_base_url},
                        {"an unknown api", bad_api}});
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_THAT(IssuePaths(issues[0]), ::testing::ElementsAre(R"("models.providers.acme.models")"));
  EXPECT_THAT(IssuePaths(issues[1]), ::testing::ElementsAre(R"("gateway")"));
  EXPECT_THAT(Member(issues[1][0], "message").dump(), HasSubstr("berthManaged"));
  EXPECT_THAT(IssuePaths(issues[2]), ::testing::ElementsAre(R"("models.providers.acme.baseUrl")"));
  EXPECT_THAT(IssuePaths(issues[3]), ::testing::ElementsAre(R"("models.providers.acme.api")"));
  const std::vector<std::string> expected_apis(kModelApis.begin(), kModelApis.end());
  EXPECT_EQ(Member(issues[3][0], "allowedValues"), Json(expected_apis));
}

// Escaped user text comes out of OpenClaw's env substitution exactly as the user wrote it.
TEST_F(OpenClawValidate, ReadsEscapedTextLiterally) {
  const Json config = BuildUserConfig(
      "acme/m-${HOME}",
      {Provider("acme", "https://x.example/${HOME}/$${HOME}", {{"m-${HOME}", "n-${PATH}"}})});
  const std::string text = config.dump();
  const std::vector<Outcome> got =
      runner_.RunAll({{{"config", "get", "models.providers.acme", "--json"}, text},
                      {{"config", "get", "agents.defaults.model.primary", "--json"}, text}});
  ASSERT_EQ(got[0].exit_code, 0) << got[0].Describe();
  ASSERT_EQ(got[1].exit_code, 0) << got[1].Describe();
  const Json& provider = got[0].json;
  EXPECT_EQ(Member(provider, "baseUrl"), Json("https://x.example/${HOME}/$${HOME}"));
  const Json& models = Member(provider, "models");
  ASSERT_TRUE(models.is_array() && models.size() == 1) << got[0].Describe();
  EXPECT_EQ(Member(models[0], "id"), Json("m-${HOME}"));
  EXPECT_EQ(Member(models[0], "name"), Json("n-${PATH}"));
  EXPECT_EQ(got[1].json, Json("acme/m-${HOME}"));
}

}  // namespace
}  // namespace berth::agentconfig
