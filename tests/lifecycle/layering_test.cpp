// The lifecycle depends on the ContainerRuntime seam only: no file of it names the Docker client,
// and no public runtime header drags it in (berth_runtime links it privately).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace berth::lifecycle {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LifecycleLayering, NoLifecycleFileIncludesTheDockerClient) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(BERTH_SOURCE_DIR) / "src/lifecycle")) {
    ++files;
    EXPECT_EQ(Read(entry.path()).find("#include \"docker/"), std::string::npos)
        << entry.path().filename() << " includes a docker/ header";
  }
  EXPECT_GT(files, 10);
}

TEST(LifecycleLayering, TheRuntimeSeamsPublicHeadersDoNotIncludeDocker) {
  for (const char* header :
       {"container_runtime.hpp", "agent_image_contract.hpp", "docker_runtime.hpp"}) {
    EXPECT_EQ(Read(fs::path(BERTH_SOURCE_DIR) / "src/runtime" / header).find("#include \"docker/"),
              std::string::npos)
        << header;
  }
}

}  // namespace
}  // namespace berth::lifecycle
