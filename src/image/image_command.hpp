#pragma once

#include <string>
#include <vector>

namespace berth::image {

// `berth image build <openclaw|test-agent> [--tag T] [--env K=V]... [--binary PATH] [--force]`.
struct ImageBuildCommand {
  std::string kind;
  std::string tag;
  std::vector<std::string> env;
  std::string binary;
  bool force = false;
};

// Runs the command against the engine named by DOCKER_HOST (and DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH), default unix:///var/run/docker.sock. Progress goes to stderr; on success one
// line "<reference> <image id>" goes to stdout and the exit code is 0. Exit 2 for bad arguments,
// 1 for any other failure (message on stderr).
int RunImageBuild(const ImageBuildCommand& command);

}  // namespace berth::image
