#include "lifecycle_openclaw/openclaw_fixture.hpp"

#include <gtest/gtest.h>

namespace berth::testing {

using nlohmann::json;

const std::string& OpenClawImage() {
  static const std::string image = [] {
    if (const char* given = std::getenv("BERTH_OPENCLAW_IMAGE"); given && *given) {
      return std::string(given);
    }
    DockerTestEnv& docker = DockerTestEnv::Get();
    const std::string tag = "berth-test-openclaw:" + docker.run_id();
    std::map<std::string, std::string> env = {{"DOCKER_HOST", docker.docker_host()}};
    for (const char* pass : {"BERTH_OPENCLAW_HOME", "TMPDIR", "HOME"}) {
      if (const char* value = std::getenv(pass); value && *value) env[pass] = value;
    }
    const auto begin = std::chrono::steady_clock::now();
    docker.TrackImage(tag);
    auto result = RunBerth({"image", "build", "openclaw", "--tag", tag}, env, 1500);
    const auto took =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - begin);
    std::printf("[openclaw] built %s in %llds\n", tag.c_str(),
                static_cast<long long>(took.count()));
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    return result.exit_code == 0 ? tag : std::string();
  }();
  return image;
}

std::string EnvOf(const docker::ContainerDetails& c, const std::string& name) {
  for (const auto& e : c.env) {
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  }
  return "";
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

long long Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

StreamedChat ReadChatStream(const std::string& body) {
  StreamedChat chat;
  for (const std::string& data : SseData(body)) {
    if (data == "[DONE]") {
      chat.done = true;
      continue;
    }
    json event = json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object() || event.contains("error")) {
      chat.problem += data + "\n";
      continue;
    }
    if (event.contains("usage") && event["usage"].is_object()) chat.usage = event["usage"];
    if (!event.contains("choices") || !event["choices"].is_array()) continue;
    for (const json& choice : event["choices"]) {
      const json* delta = choice.contains("delta") ? &choice["delta"] : nullptr;
      if (delta && delta->contains("content") && (*delta)["content"].is_string()) {
        const std::string piece = (*delta)["content"];
        if (!piece.empty()) {
          chat.text += piece;
          ++chat.content_events;
        }
      }
    }
  }
  return chat;
}

}  // namespace berth::testing
