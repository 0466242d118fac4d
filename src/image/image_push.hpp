#pragma once

#include <string>

#include "common/result.hpp"

namespace berth::docker {
class DockerClient;
}  // namespace berth::docker

namespace berth::image {

// `berth image push --registry HOST:PORT [--image test-agent|openclaw|REF]`.
struct ImagePushCommand {
  std::string registry;              // HOST:PORT (or HOST) of the registry the nodes pull from
  std::string image = "test-agent";  // a kind (its DefaultReference) or an image reference
};

// Where `image` (a kind or a reference) goes in `registry`: "<registry>/<repo path>:<tag>", the
// source's own registry host (a first component with '.' or ':', or "localhost") dropped, tag
// "latest" when it has none. kInvalidArgument for a registry that is not HOST[:PORT] or an image
// given by digest (a push needs a tag).
Result<std::string> PushTarget(const std::string& registry, const std::string& source);
// The image a kind names ("test-agent", "openclaw"), else `image` as it is.
std::string PushSource(const std::string& image);

// Tags `source` as `target` on the engine and pushes it (no registry credentials). Returns the
// digest reference the nodes should use: "<target's repo>@sha256:...". The registry tag stays on
// the engine, so the engine also knows the image by that digest (RepoDigests); a failed push
// removes the tag again unless it was there before.
Result<std::string> PushImage(docker::DockerClient& engine, const std::string& source,
                              const std::string& target);

// Runs the command against the engine named by DOCKER_HOST (and DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH). The engine does the push, so it must reach the registry and trust it: an
// address outside 127.0.0.0/8 served over plain HTTP must be in that engine's
// insecure-registries (on a swarm, push through a manager whose daemon has it). Progress goes to
// stderr; on success the digest reference goes to stdout and the exit code is 0. Exit 2 for bad
// arguments, 1 for any other failure (message on stderr).
int RunImagePush(const ImagePushCommand& command);

}  // namespace berth::image
