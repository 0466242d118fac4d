#pragma once

#include <any>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/asio.hpp"
#include "common/status.hpp"
#include "service/principal.hpp"

namespace berth::http {

using BeastRequest = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// One parsed request as a handler sees it. The router fills path, query and params; the server
// fills raw, request_id (echoed as X-Request-Id) and peer. A handler may read and modify it freely
// (it owns it for the duration of the call); nothing in it outlives the request.
struct Request {
  BeastRequest raw;
  std::string path;                           // target without the query string, percent-decoded
  std::map<std::string, std::string> query;   // decoded query parameters; first occurrence wins
  std::map<std::string, std::string> params;  // ":name" segments of the matched route
  std::string request_id;
  std::string peer;   // remote address, for logs and rate limits
  std::string route;  // the matched route's pattern ("/api/providers/:id"), for metrics and logs
  // The authenticated caller of a route with an Access (router.hpp); nullopt on public routes.
  std::optional<service::Principal> principal;
  // What a route's own admission check found (RouteOptions::admit), for its handler.
  std::any admitted;

  bhttp::verb method() const { return raw.method(); }
  // Header value, or empty when absent.
  std::string_view Header(std::string_view name) const;
  // The token of an `Authorization: Bearer <token>` header: scheme case-insensitive, exactly one
  // space, then one non-empty token without whitespace. nullopt when absent or in any other form
  // (another scheme, empty token, several tokens).
  std::optional<std::string> BearerToken() const;
  const std::string& Param(const std::string& name) const;  // REQUIRES: the route declared it
  // The caller. REQUIRES: the route has an Access (the router authenticated it).
  const service::Principal& caller() const { return *principal; }
};

// The method as a metric label or log field: one of a closed set (GET, HEAD, POST, PUT, PATCH,
// DELETE, OPTIONS), "other" for any other token a client sends (STYLE.md, rule 16).
std::string_view MethodLabel(bhttp::verb method);

// Request::BearerToken() of a request head (whose body may not be read yet).
std::optional<std::string> BearerTokenOf(const BeastRequest& head);

// Response builders. Every JSON body is serialized with nlohmann::json (invalid UTF-8 in strings
// is replaced, never thrown); every error has the one shape {"error":{"code","message","type"}}
// and the
// status code of its ErrorCode (see StatusToHttp). The server adds Server, X-Request-Id,
// Connection and Content-Length; handlers need not.
Response JsonResponse(bhttp::status status, const nlohmann::json& body);
// code = ErrorCodeName(error.code()). The message is passed through, except for kInternal (and an
// ok Status, a caller bug) whose message may hold internals: it is logged at error level and the
// client gets the generic "internal error". 401 responses carry `WWW-Authenticate: Bearer`.
Response ErrorResponse(const Status& error);
// Error in the same shape with an explicit status and code, for HTTP-level errors that have no
// ErrorCode (405, 431). The message is sent as given. 401 carries `WWW-Authenticate: Bearer`.
Response ErrorResponse(bhttp::status status, std::string_view code, std::string_view message);
// OpenAI's error "type" for a status (every berth error carries one, so that OpenAI clients read
// any of them): invalid_request_error, authentication_error, permission_error, not_found_error,
// rate_limit_error, server_error.
std::string_view ErrorType(bhttp::status status);
// An error in OpenAI's shape, {"error":{"message","type","code","param"}}, for the
// OpenAI-compatible routes (so that OpenAI clients surface it); kInternal as in ErrorResponse.
Response OpenAiErrorResponse(const Status& error);
Response OpenAiErrorResponse(bhttp::status status, std::string_view code, std::string_view message);
// 400/401/403/404/409/413/429/503; kDataLoss and kInternal are 500; kOk is 200.
bhttp::status StatusToHttp(ErrorCode code);

}  // namespace berth::http
