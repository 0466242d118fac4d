#include "docker/request_paths.hpp"

#include <nlohmann/json.hpp>

#include "docker/docker_client.hpp"

namespace berth::docker {
namespace {

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string EscapePath(std::string_view value, std::string_view also_keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (Unreserved(c) || also_keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string FiltersParam(const std::map<std::string, std::vector<std::string>>& filters) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, values] : filters) j[key] = values;
  return EscapeQuery(j.dump());
}

}  // namespace berth::docker
