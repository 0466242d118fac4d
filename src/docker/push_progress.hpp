#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

// Reading the progress stream of an image push (POST /images/{name}/push). Private to the docker
// module; declared here so that its tests can reach it.
namespace berth::docker {

// The manifest digest ("sha256:...") the registry stored, from the stream's `aux.Digest` (or,
// failing that, its "<tag>: digest: sha256:... size: N" status line). An error line fails with
// kUnavailable carrying the engine's message (the registry could not be reached, refused the
// push, or speaks only HTTP to an engine that wants HTTPS); a stream that ends without a digest
// is kInternal. `what` prefixes every message. Lines that are not JSON objects are skipped.
Result<std::string> DigestFromPushProgress(std::string_view body, const std::string& what);

// The X-Registry-Auth header's value: `auth_json` (the engine's AuthConfig, "{}" for none) in
// base64url with padding, as the engine decodes it.
std::string RegistryAuthHeader(const std::string& auth_json);

}  // namespace berth::docker
