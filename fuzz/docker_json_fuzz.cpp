// Docker engine answers (inspect, list, events, tasks, swarm info, services) through the parsers
// that turn them into berth's types. The first byte picks the parser; the rest is the answer.
// Parsers must not throw, crash or hit undefined behaviour on any well-formed-but-odd JSON
// (wrong types, huge numbers, missing fields).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docker/docker_json.hpp"

namespace bd = berth::docker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (which % 10 == 0) {
    (void)bd::EventFromJsonLine(text);
    (void)bd::ParseDockerTime(text);
    (void)bd::CompareApiVersions(text, "1.44");
    return 0;
  }
  berth::Result<nlohmann::json> j = bd::ParseJsonBody(text, "engine answer");
  if (!j.ok()) return 0;
  switch (which % 10) {
    case 1:
      (void)bd::ContainerFromJson(*j);
      break;
    case 2:
      (void)bd::ContainerListEntryFromJson(*j);
      break;
    case 3:
      (void)bd::TaskFromJson(*j);
      break;
    case 4:
      (void)bd::SystemInfoFromJson(*j);
      break;
    case 5:
      (void)bd::ServiceFromJson(*j);
      break;
    case 6:
      (void)bd::NodeFromJson(*j);
      break;
    case 7:
      (void)bd::ImageFromJson(*j);
      break;
    case 8:
      (void)bd::NetworkFromJson(*j);
      break;
    default:
      (void)bd::VersionFromJson(*j);
      (void)bd::VolumeFromJson(*j);
      break;
  }
  return 0;
}
