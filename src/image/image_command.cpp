#include "image/image_command.hpp"

#include <chrono>
#include <cstdio>

#include "docker/docker_client.hpp"
#include "image/image_builder.hpp"

namespace berth::image {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

int Fail(const Status& status) {
  std::fprintf(stderr, "berth image build: %s\n", status.message().c_str());
  return status.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace

int RunImageBuild(const ImageBuildCommand& command) {
  auto kind = ParseImageKind(command.kind);
  if (!kind.ok()) return Fail(kind.status());
  for (const std::string& entry : command.env) {
    if (auto change = EnvChange(entry); !change.ok()) return Fail(change.status());
  }

  auto endpoint = docker::EndpointFromEnvironment();
  if (!endpoint.ok()) return Fail(endpoint.status());
  // A quick probe first, so that a missing engine is reported at once and clearly.
  docker::DockerClientOptions probe_options;
  probe_options.call_timeout = std::chrono::seconds(10);
  auto probe = docker::DockerClient::Create(*endpoint, probe_options);
  if (!probe.ok()) return Fail(probe.status());
  if (auto version = (*probe)->Version(); !version.ok()) {
    return Fail(Unavailable("the Docker engine at " + endpoint->ToString() + " does not answer (" +
                            version.status().message() +
                            "); start it (scripts/start-dockerd.sh) or set DOCKER_HOST"));
  }
  docker::DockerClientOptions client_options;
  // Removing a replaced 700 MB build takes the engine longer than the default 30 s.
  client_options.call_timeout = std::chrono::minutes(5);
  auto client = docker::DockerClient::Create(*endpoint, client_options);
  if (!client.ok()) return Fail(client.status());

  ImageBuildOptions options;
  options.kind = *kind;
  options.reference = command.tag;
  options.env = command.env;
  options.binary = command.binary;
  options.force = command.force;
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "berth image build: %s\n", line.c_str());
    std::fflush(stderr);
  };
  auto built = BuildImage(**client, options);
  if (!built.ok()) return Fail(built.status());
  std::printf("%s %s\n", built->reference.c_str(), built->id.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace berth::image
