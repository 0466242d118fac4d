// `berth image push` through the test swarm's manager engine (SwarmTestCluster) to the cluster's
// registry on the host's link address: the engine that pushes must trust that plain-HTTP
// registry (the nodes' daemons list it in insecure-registries; the host's engine does not, and
// is never reconfigured), which is what an operator with a swarm does anyway. The manager holds
// berth/test-agent:0.1.0 (swarm-cluster.sh loaded it), already pushed under the same tag: the
// push rewrites nothing the other tests use. Plus PushTarget's naming, without an engine.
#include "image/image_push.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <regex>

#include "docker/docker_client.hpp"
#include "support/berth_process.hpp"
#include "support/swarm_test_cluster.hpp"

namespace berth::image {
namespace {

using berth::testing::CommandResult;

TEST(ImagePushTarget, PutsTheRepositoryPathUnderTheRegistry) {
  EXPECT_EQ(*PushTarget("10.0.0.1:5000", "berth/test-agent:0.1.0"),
            "10.0.0.1:5000/berth/test-agent:0.1.0");
  EXPECT_EQ(*PushTarget("reg.example", "busybox"), "reg.example/busybox:latest");
  // The source's own registry is replaced; a port in it is not a tag.
  EXPECT_EQ(*PushTarget("r:5000", "other.example:443/team/agent"), "r:5000/team/agent:latest");
  EXPECT_EQ(*PushTarget("r:5000", "localhost/agent:2"), "r:5000/agent:2");
  EXPECT_EQ(PushSource("test-agent").rfind("berth/test-agent:", 0), 0u);
  EXPECT_EQ(PushSource("openclaw").rfind("berth/openclaw:", 0), 0u);
  EXPECT_EQ(PushSource("x/y:z"), "x/y:z");
  for (const char* bad : {"", "http://r:5000", "r:5000/path", "r:port", "-r"}) {
    EXPECT_EQ(PushTarget(bad, "a:b").status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(PushTarget("r:5000", "a@sha256:00").status().code(), ErrorCode::kInvalidArgument);
}

// The registry's digest of repo:tag (Docker-Content-Digest of the manifest), via curl.
std::string RegistryDigest(const std::string& registry, const std::string& repo,
                           const std::string& tag) {
  const std::string command =
      "curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://" +
      registry + "/v2/" + repo + "/manifests/" + tag + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  std::smatch m;
  static const std::regex kHeader(R"([Dd]ocker-[Cc]ontent-[Dd]igest: (sha256:[0-9a-f]{64}))");
  return std::regex_search(out, m, kHeader) ? m[1].str() : "headers: " + out;
}

class ImagePushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip, error;
    cluster_ = berth::testing::SwarmTestCluster::Shared(&skip, &error);
    if (!skip.empty()) GTEST_SKIP() << "the swarm test cluster cannot run here: " << skip;
    ASSERT_NE(cluster_, nullptr) << error;
  }
  CommandResult Push(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"image", "push"};
    args.insert(args.end(), extra.begin(), extra.end());
    return berth::testing::RunBerth(args, {{"DOCKER_HOST", cluster_->manager_host()}}, 120);
  }

  berth::testing::SwarmTestCluster* cluster_ = nullptr;
};

TEST_F(ImagePushTest, PushesTheTestAgentAndPrintsTheDigestReferenceTheRegistryHolds) {
  CommandResult r = Push({"--registry", cluster_->registry(), "--image", "test-agent"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  static const std::regex kLine(R"(^(\S+)/berth/test-agent@(sha256:[0-9a-f]{64})\n$)");
  ASSERT_TRUE(std::regex_match(r.out, m, kLine)) << "stdout: " << r.out;
  EXPECT_EQ(m[1].str(), cluster_->registry());
  const std::string digest = m[2].str();
  // The same image as the one swarm-cluster.sh pushed (docker CLI), so the same manifest.
  EXPECT_EQ(r.out, cluster_->test_agent_image() + "\n");
  const std::string tag = PushSource("test-agent").substr(PushSource("test-agent").rfind(':') + 1);
  EXPECT_EQ(RegistryDigest(cluster_->registry(), "berth/test-agent", tag), digest);
}

TEST_F(ImagePushTest, ARegistryThatDoesNotAnswerFailsWithTheEnginesError) {
  // Port 1 on the host's link address: nothing listens, the connection is refused.
  CommandResult r = Push({"--registry", cluster_->host_addr() + ":1", "--image", "test-agent"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("push image " + cluster_->host_addr() + ":1/berth/test-agent"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The tag made for the push is gone again.
  auto endpoint = docker::ParseDockerHost(cluster_->manager_host(), "", "");
  ASSERT_TRUE(endpoint.ok());
  auto manager = docker::DockerClient::Create(*endpoint);
  ASSERT_TRUE(manager.ok());
  EXPECT_EQ(
      (*manager)
          ->InspectImage(cluster_->host_addr() + ":1/berth/test-agent:" +
                         PushSource("test-agent").substr(PushSource("test-agent").rfind(':') + 1))
          .status()
          .code(),
      ErrorCode::kNotFound);
}

TEST_F(ImagePushTest, AnImageTheEngineLacksOrABadRegistryIsReported) {
  CommandResult missing =
      Push({"--registry", cluster_->registry(), "--image", "berth/no-such-image:1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("berth image build"), std::string::npos) << missing.err;
  CommandResult bad = Push({"--registry", "http://" + cluster_->registry()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--registry wants HOST:PORT"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace berth::image
