// `berth image build test-agent` against the real engine: the built binary makes the image under
// a per-run tag, a container from it fetches its config from an in-test endpoint on the bridge
// gateway address, turns ready, and streams a chat from an in-test provider. Everything created
// is removed by id (DockerTestEnv), pass or fail.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "image/image_builder.hpp"
#include "support/berth_process.hpp"
#include "support/docker_test_env.hpp"
#include "testagent/fake_http_server.hpp"
#include "testagent/stream_reader.hpp"

#ifndef BERTH_TEST_AGENT_BINARY
#error "BERTH_TEST_AGENT_BINARY must name the built berth-test-agent"
#endif

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "bc_image-test-token";
constexpr const char* kAgentId = "agent-1";

// Fields of a tar header: whether `name` is in `tar`, with its mode, uid and gid.
struct TarEntry {
  bool found = false;
  unsigned mode = 0, uid = 0, gid = 0;
};
TarEntry FindInTar(const std::string& tar, const std::string& name) {
  TarEntry entry;
  for (std::size_t at = 0; at + 512 <= tar.size();) {
    std::string member(tar.c_str() + at);  // NUL-terminated within the 100-byte field
    if (member.empty()) break;
    auto octal = [&](std::size_t offset, std::size_t len) {
      return static_cast<unsigned>(std::stoul(std::string(tar, at + offset, len), nullptr, 8));
    };
    const unsigned long size = octal(124, 12);
    if (member == name) {
      entry = {true, octal(100, 8) & 07777, octal(108, 8), octal(116, 8)};
      return entry;
    }
    at += 512 + (size + 511) / 512 * 512;
  }
  return entry;
}

class ImageBuild : public DockerTest {
 protected:
  std::map<std::string, std::string> BerthEnv() {
    std::map<std::string, std::string> env = {{"DOCKER_HOST", env_.docker_host()}};
    if (const char* tmp = std::getenv("TMPDIR")) env["TMPDIR"] = tmp;
    return env;
  }

  // Builds the test agent image under `reference` through the CLI; returns its id.
  std::string Build(const std::string& reference, const std::vector<std::string>& extra = {},
                    std::string* err = nullptr) {
    std::vector<std::string> args = {"image",   "build",    "test-agent",           "--tag",
                                     reference, "--binary", BERTH_TEST_AGENT_BINARY};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = RunBerth(args, BerthEnv(), 120);
    env_.TrackImage(reference);
    if (err) *err = r.err;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    static const std::regex kLine(R"(^(\S+) (sha256:[0-9a-f]{64})\n$)");
    EXPECT_TRUE(std::regex_match(r.out, m, kLine)) << "stdout: " << r.out;
    if (m.empty()) return "";
    EXPECT_EQ(m[1].str(), reference);
    env_.TrackImage(m[2].str());
    return m[2].str();
  }

  // A bridge network of this run; returns the host's address on it, where containers reach the
  // host (the default bridge does not report its gateway on every engine).
  std::string MakeNetwork() {
    docker::NetworkCreate network;
    network.name = env_.Name("img-net");
    network.labels = env_.Labels();
    auto id = client().CreateNetwork(network);
    EXPECT_TRUE(id.ok()) << id.status().message();
    if (!id.ok()) return "";
    env_.TrackNetwork(*id);
    network_ = network.name;
    auto details = client().InspectNetwork(*id);
    EXPECT_TRUE(details.ok()) << details.status().message();
    return details.ok() ? details->gateway : "";
  }

  // Creates and starts a container of `image` on MakeNetwork's network; returns its id.
  std::string Run(const std::string& image, const std::string& suffix,
                  std::vector<std::string> env) {
    docker::ContainerCreate spec;
    spec.name = env_.Name(suffix);
    spec.image = image;
    spec.env = std::move(env);
    spec.labels = env_.Labels();
    spec.init = true;
    spec.memory = 256 << 20;
    EXPECT_FALSE(network_.empty()) << "MakeNetwork() first";
    spec.network_mode = network_;
    spec.network = network_;
    auto id = client().CreateContainer(spec);
    EXPECT_TRUE(id.ok()) << id.status().message();
    if (!id.ok()) return "";
    env_.TrackContainer(*id);
    Status started = client().StartContainer(*id);
    EXPECT_TRUE(started.ok()) << started.message();
    return *id;
  }

  void Remove(const std::string& id) {
    Status st = client().RemoveContainer(id, /*force=*/true);
    EXPECT_TRUE(st.ok()) << st.message();
  }

  DockerTestEnv& env_ = DockerTestEnv::Get();
  std::string network_;
};

TEST_F(ImageBuild, TestAgentImageServesAChatFromAContainer) {
  const std::string reference = "berth-test-" + env_.run_id() + "-agent:img";
  const std::string id = Build(reference);
  ASSERT_FALSE(id.empty());

  auto info = client().InspectImage(reference);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->id, id);
  EXPECT_EQ(info->user, "node");
  EXPECT_EQ(info->working_dir, "/home/node");
  EXPECT_EQ(info->entrypoint, std::vector<std::string>{"/usr/local/bin/berth-test-agent"});
  EXPECT_EQ(info->labels["berth.image"], "test-agent");
  EXPECT_EQ(info->labels["berth.image.inputs"].size(), 64u);
  EXPECT_LT(info->size, 40 << 20);  // debug sections stripped

  // Idempotent: the same inputs give the same image, without an import.
  std::string err;
  EXPECT_EQ(Build(reference, {}, &err), id);
  EXPECT_NE(err.find("up to date"), std::string::npos) << err;

  const std::string gateway = MakeNetwork();
  ASSERT_FALSE(gateway.empty());
  FakeHttpServer provider(
      [](const FakeRequest& req, FakeExchange& ex) {
        ex.StartChunked(200, "text/event-stream");
        ex.Chunk("data: {\"model\":" + json(json::parse(req.body)["model"]).dump() + "}\n\n");
        ex.Chunk("data: [DONE]\n\n");
        ex.EndChunked();
      },
      gateway);
  const json config = {
      {"gateway", {{"mode", "local"}, {"port", 18789}}},
      {"agents", {{"defaults", {{"model", {{"primary", "up/model-x"}}}}}}},
      {"models",
       {{"providers", {{"up", {{"baseUrl", provider.Url() + "/v1"}, {"apiKey", "sk-up"}}}}}}}};
  FakeHttpServer berth(
      [&](const FakeRequest& req, FakeExchange& ex) {
        if (req.Header("authorization") != std::string("Bearer ") + kToken ||
            req.target != std::string("/api/internal/agent-config/") + kAgentId) {
          ex.Respond(401, R"({"error":{"message":"Invalid container token"}})");
          return;
        }
        ex.Respond(200, config.dump());
      },
      gateway);

  const std::string container =
      Run(reference, "img-agent",
          {"MOSAIC_API_URL=" + berth.Url() + "/api", std::string("AGENT_TOKEN=") + kToken,
           std::string("AGENT_ID=") + kAgentId});
  ASSERT_FALSE(container.empty());
  auto details = client().InspectContainer(container);
  ASSERT_TRUE(details.ok());
  const std::string ip = details->network_ips[network_];
  ASSERT_FALSE(ip.empty());

  HttpResult ready;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    ready = HttpRequest("GET", ip, 18789, "/readyz");
    if (ready.status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(ready.status, 200) << client().ContainerLogs(container, 50)->combined;
  EXPECT_EQ(ready.Json(), json({{"ready", true}}));
  EXPECT_EQ(berth.RequestCount(), 1u);

  // The config landed where the gateway reads it: node's, 0600.
  auto archive = client().GetArchive(container, "/home/node/.openclaw/openclaw.json");
  ASSERT_TRUE(archive.ok()) << archive.status().message();
  TarEntry file = FindInTar(*archive, "openclaw.json");
  ASSERT_TRUE(file.found);
  EXPECT_EQ(file.mode, 0600u);
  EXPECT_EQ(file.uid, 1000u);
  EXPECT_EQ(file.gid, 1000u);

  auto chat = HttpRequest("POST", ip, 18789, "/v1/chat/completions",
                          R"({"model":"openclaw","stream":true})",
                          {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.headers["content-type"], "text/event-stream");
  EXPECT_EQ(chat.body, "data: {\"model\":\"model-x\"}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(provider.RequestCount(), 1u);
  EXPECT_EQ(provider.Requests()[0].Header("authorization"), "Bearer sk-up");
  EXPECT_EQ(HttpRequest("GET", ip, 18789, "/v1/models").status, 401);

  // A graceful stop ends with 0.
  ASSERT_TRUE(client().StopContainer(container, 10s).ok());
  auto stopped = client().InspectContainer(container);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->exit_code, 0);
  Remove(container);
}

TEST_F(ImageBuild, EnvVariantsAndContractFailures) {
  ASSERT_FALSE(MakeNetwork().empty());
  // --env bakes a test hook into a variant image.
  const std::string variant = "berth-test-" + env_.run_id() + "-agent:exit3";
  std::string err;
  ASSERT_FALSE(Build(variant, {"--env", "BERTH_TEST_AGENT_EXIT_CODE=3"}, &err).empty()) << err;
  auto info = client().InspectImage(variant);
  ASSERT_TRUE(info.ok());
  EXPECT_NE(std::find(info->env.begin(), info->env.end(), "BERTH_TEST_AGENT_EXIT_CODE=3"),
            info->env.end());
  std::string c = Run(variant, "img-exit3", {});
  auto code = client().WaitContainer(c, 30s);
  ASSERT_TRUE(code.ok()) << code.status().message();
  EXPECT_EQ(*code, 3);
  Remove(c);

  // The plain image without the contract's variables: exit 78.
  const std::string plain = "berth-test-" + env_.run_id() + "-agent:plain";
  ASSERT_FALSE(Build(plain).empty());
  c = Run(plain, "img-noenv", {});
  code = client().WaitContainer(c, 30s);
  ASSERT_TRUE(code.ok()) << code.status().message();
  EXPECT_EQ(*code, 78);
  auto logs = client().ContainerLogs(c, 20);
  ASSERT_TRUE(logs.ok());
  EXPECT_NE(logs->combined.find("MOSAIC_API_URL"), std::string::npos) << logs->combined;
  Remove(c);
}

TEST_F(ImageBuild, ClearErrors) {
  auto r = RunBerth(
      {"image", "build", "test-agent", "--tag", "berth-test-" + env_.run_id() + "-agent:missing",
       "--binary", "/nonexistent/berth-test-agent"},
      BerthEnv());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/berth-test-agent"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = RunBerth({"image", "build", "test-agent", "--binary", BERTH_TEST_AGENT_BINARY},
               {{"DOCKER_HOST", "unix:///nonexistent/docker.sock"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not answer"), std::string::npos) << r.err;

  r = RunBerth({"image", "build", "nginx"}, BerthEnv());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("openclaw or test-agent"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::testing
