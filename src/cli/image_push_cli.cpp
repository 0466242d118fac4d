#include "cli/image_push_cli.hpp"

#include <CLI/CLI.hpp>

#include "image/image_push.hpp"

namespace berth::cli {

CLI::App* AddImagePush(CLI::App* image, image::ImagePushCommand* args) {
  auto* push = image->add_subcommand(
      "push",
      "push an agent image from the engine (DOCKER_HOST) to a registry the swarm's nodes pull "
      "from; prints the digest reference to use as OPENCLAW_IMAGE");
  push->add_option("--registry", args->registry, "HOST:PORT of the registry")->required();
  push->add_option("--image", args->image,
                   "test-agent | openclaw (the default `image build` tags) | an image reference "
                   "(default test-agent)");
  return push;
}

}  // namespace berth::cli
