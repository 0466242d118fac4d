#pragma once

#include <string_view>

namespace berth::http {

// The OpenAPI 3.0 document of berth's HTTP API, exactly as written in src/http/openapi.json.
// Embedded at build time (the build generates its definition from that file), so serving it
// needs no file at run time. The test suite checks it against the routes the server registers.
std::string_view OpenApiDocument();

}  // namespace berth::http
