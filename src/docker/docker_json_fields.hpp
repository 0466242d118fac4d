#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "docker/docker_types.hpp"

// Private to the docker module (docker_json.cpp, docker_json_swarm.cpp): tolerant readers of the
// engine's JSON fields. A missing or mistyped field reads as empty/zero; nothing throws.
namespace berth::docker::json_fields {

using json = nlohmann::json;

inline const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

inline std::string Str(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline int64_t Int(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_number_float()) {
    // A float outside int64_t (or NaN) is no count berth can use, and converting it is undefined.
    const double d = v.get<double>();
    if (!(d >= -0x1p63 && d < 0x1p63)) return 0;
    return static_cast<int64_t>(d);
  }
  return 0;
}

inline uint64_t Uint(const json& j, const char* key) {
  const int64_t v = Int(j, key);
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

inline bool Bool(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_boolean() && v.get<bool>();
}

inline std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  const json& v = Field(j, key);
  if (!v.is_array()) return out;
  for (const json& item : v) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

inline std::map<std::string, std::string> StringMap(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  const json& v = Field(j, key);
  if (!v.is_object()) return out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

// The engine's "Mounts" of a container's HostConfig or a service's ContainerSpec (same shape).
json MountsJson(const std::vector<MountSpec>& specs);

}  // namespace berth::docker::json_fields
