#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

// How DockerClient spells request paths and reads answers. Private to the docker module (the
// client's .cpp files).
namespace berth::docker {

inline bool IsSuccess(int status) { return status >= 200 && status < 300; }

// Percent-encodes every byte but RFC 3986's unreserved ones and those in `also_keep`.
std::string EscapePath(std::string_view value, std::string_view also_keep);

// A path segment naming a container, network or volume.
inline std::string Segment(std::string_view id) { return EscapePath(id, ""); }
// An image reference keeps its '/', ':' and '@' (the engine routes /images/{name:.*}/json).
inline std::string ImageSegment(std::string_view name) { return EscapePath(name, "/:@"); }

// The `filters` query parameter's value: the map as JSON, escaped.
std::string FiltersParam(const std::map<std::string, std::vector<std::string>>& filters);

}  // namespace berth::docker
