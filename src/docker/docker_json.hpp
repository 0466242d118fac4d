#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_parse.hpp"
#include "common/result.hpp"
#include "docker/docker_types.hpp"

// Conversions between the engine's JSON and the typed structs. Exposed for unit tests; callers
// use DockerClient. Parsers never throw: a missing or mistyped field reads as empty/zero; a body
// that is not JSON at all is kInternal.
namespace berth::docker {

// The engine's answers nest a few levels; a list of every container may hold millions of values.
inline constexpr JsonLimits kEngineJsonLimits{.max_depth = 64, .max_values = 50'000'000};

Result<nlohmann::json> ParseJsonBody(std::string_view body, std::string_view what);

VersionInfo VersionFromJson(const nlohmann::json& j);
ImageInfo ImageFromJson(const nlohmann::json& j);
NetworkDetails NetworkFromJson(const nlohmann::json& j);
VolumeInfo VolumeFromJson(const nlohmann::json& j);
ContainerDetails ContainerFromJson(const nlohmann::json& j);
ContainerListEntry ContainerListEntryFromJson(const nlohmann::json& j);
// kInternal when the line is not a JSON object.
Result<DockerEvent> EventFromJsonLine(std::string_view line);

nlohmann::json ContainerCreateToJson(const ContainerCreate& c);
nlohmann::json NetworkCreateToJson(const NetworkCreate& n);

// Swarm.
SystemInfo SystemInfoFromJson(const nlohmann::json& j);
SwarmNode NodeFromJson(const nlohmann::json& j);
nlohmann::json ServiceSpecToJson(const ServiceSpec& spec);
// The engine's Spec of a service, as far as ServiceSpec holds it.
ServiceSpec ServiceSpecFromJson(const nlohmann::json& spec);
ServiceDetails ServiceFromJson(const nlohmann::json& j);
SwarmTask TaskFromJson(const nlohmann::json& j);

// RFC 3339 with optional fraction and zone ("2026-11-24T05:33:12.123456789Z"). nullopt for the
// engine's zero time ("0001-01-01T00:00:00Z") and for text that is not such a time.
std::optional<std::chrono::system_clock::time_point> ParseDockerTime(std::string_view text);

// The engine's error for a response with status `status`: 404 kNotFound, 409 kAlreadyExists,
// 400 kInvalidArgument, anything else kInternal (with the status); whatever the status, a swarm
// update refused for a stale version ("update out of sequence") is kAborted. The message is the
// body's "message" (or the body itself), prefixed with `what` when not empty.
Status EngineError(int status, std::string_view body, std::string_view what);

// Compares API versions "1.41" > "1.9" numerically: <0, 0, >0.
int CompareApiVersions(std::string_view a, std::string_view b);

}  // namespace berth::docker
