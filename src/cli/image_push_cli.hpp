#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace berth::image {
struct ImagePushCommand;
}  // namespace berth::image

namespace berth::cli {

// Adds `push` (image/image_push.hpp) under `image`, filling *args when parsed; returns it.
CLI::App* AddImagePush(CLI::App* image, image::ImagePushCommand* args);

}  // namespace berth::cli
