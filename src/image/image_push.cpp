#include "image/image_push.hpp"

#include <chrono>
#include <cstdio>
#include <regex>

#include "docker/docker_client.hpp"
#include "image/image_builder.hpp"

namespace berth::image {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

int Fail(const Status& status) {
  std::fprintf(stderr, "berth image push: %s\n", status.message().c_str());
  return status.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// A reference's first path component names a registry when it has a '.' or ':' or is
// "localhost" (the engine's own rule).
bool IsRegistryHost(const std::string& component) {
  return component.find_first_of(".:") != std::string::npos || component == "localhost";
}

}  // namespace

std::string PushSource(const std::string& image) {
  auto kind = ParseImageKind(image);
  return kind.ok() ? DefaultReference(*kind) : image;
}

Result<std::string> PushTarget(const std::string& registry, const std::string& source) {
  static const std::regex kRegistry(R"(^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$)");
  if (!std::regex_match(registry, kRegistry)) {
    return InvalidArgument("--registry wants HOST:PORT (no scheme, no path), got \"" + registry +
                           "\"");
  }
  if (source.empty()) return InvalidArgument("--image is empty");
  if (source.find('@') != std::string::npos) {
    return InvalidArgument("--image " + source + " is a digest: give a tagged reference");
  }
  std::string path = source;
  if (auto slash = path.find('/');
      slash != std::string::npos && IsRegistryHost(path.substr(0, slash))) {
    path = path.substr(slash + 1);
  }
  const auto colon = path.rfind(':');
  const auto slash = path.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    path += ":latest";
  }
  return registry + "/" + path;
}

Result<std::string> PushImage(docker::DockerClient& engine, const std::string& source,
                              const std::string& target) {
  if (auto image = engine.InspectImage(source); !image.ok()) {
    if (image.status().code() != ErrorCode::kNotFound) return image.status();
    return NotFound("image " + source + " is not on the engine at " + engine.endpoint().ToString() +
                    ": build it there (`berth image build test-agent|openclaw`) or load it");
  }
  const bool tagged_before = engine.InspectImage(target).ok();
  BERTH_RETURN_IF_ERROR(engine.TagImage(source, target));
  auto digest = engine.PushImage(target);
  if (!digest.ok()) {
    // A failed push leaves no tag of ours behind (only the tag goes: the image has others).
    if (!tagged_before) (void)engine.RemoveImage(target, false);
    return digest.status();
  }
  return target.substr(0, target.rfind(':')) + "@" + *digest;
}

int RunImagePush(const ImagePushCommand& command) {
  const std::string source = PushSource(command.image);
  auto target = PushTarget(command.registry, source);
  if (!target.ok()) return Fail(target.status());

  auto endpoint = docker::EndpointFromEnvironment();
  if (!endpoint.ok()) return Fail(endpoint.status());
  auto client = docker::DockerClient::Create(*endpoint);
  if (!client.ok()) return Fail(client.status());
  if (auto version = (*client)->Version(); !version.ok()) {
    return Fail(Unavailable("the Docker engine at " + endpoint->ToString() + " does not answer (" +
                            version.status().message() + "); set DOCKER_HOST"));
  }
  std::fprintf(stderr, "berth image push: pushing %s as %s through %s\n", source.c_str(),
               target->c_str(), endpoint->ToString().c_str());
  auto pushed = PushImage(**client, source, *target);
  if (!pushed.ok()) return Fail(pushed.status());
  std::printf("%s\n", pushed->c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace berth::image
