#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "http/request.hpp"
#include "http/response_writer.hpp"
#include "service/principal.hpp"

namespace berth::http {

class WorkPool;

// Synchronous handler: runs on a server thread; may block on the store (SQLite, microseconds).
using Handler = std::function<Response(Request&)>;
// Asynchronous handler, for work that waits (an agent start, an engine call): a coroutine on the
// connection's executor that must not block its thread; it co_awaits instead.
using AsyncHandler = std::function<net::awaitable<Response>(Request&)>;
// Streaming handler, for answers whose body is produced over time (server-sent events, proxied
// streams): answers through the ResponseWriter (http/response_writer.hpp).
using StreamHandler = std::function<net::awaitable<void>(Request&, ResponseWriter&)>;

// Who may call a route. Decided on the request's head, before any byte of its body is read: a
// caller without the right token never makes berth hold its body (STYLE.md, rule 16).
enum class Access { kPublic, kUser, kAdmin };
// The shape of a route's errors: berth's {"error":{"code","message","type"}}, or OpenAI's
// {"error":{"message","type","code","param"}} for the OpenAI-compatible routes.
enum class ErrorStyle { kBerth, kOpenAi };

struct RouteOptions {
  Access access = Access::kPublic;
  ErrorStyle errors = ErrorStyle::kBerth;
  // A synchronous handler runs on the server's WorkPool (fair per caller), never on the event
  // loop that serves other sockets, unless it is inline: cheap answers that touch neither the
  // store nor a JSON tree of the request's (health, the OpenAPI document).
  bool inline_handler = false;
  // For a public route that authenticates callers its own way (berth's LLM gateway: an agent's
  // key in whichever header its client uses): runs on the request's head, after matching and
  // before any byte of the body is read, and may leave what it found in Request::admitted for
  // the handler. An error is answered at once (in the route's ErrorStyle), the body unread.
  std::function<Status(Request&, const BeastRequest& head)> admit = {};
};

// Resolves a bearer token; the one authentication adapter of every route with an Access.
using Authenticator = std::function<Result<service::Principal>(std::string_view token)>;

// Maps method + path pattern to a handler. Patterns are literal segments and ":name" captures,
// e.g. "/api/admin/users/:id/tokens"; a capture matches one non-empty segment. A path that
// matches a pattern under another method yields 405 with an Allow header; no match yields 404
// {"error":{"code":"not_found","message":"no route for <path>"}}.
//
// Matching is on the percent-decoded path, segment by segment ("%2F" stays inside its segment, so
// a capture may hold a '/'); one trailing slash is ignored ("/a/b/" is "/a/b"); empty segments
// ("/a//b") match nothing. When several patterns match, the one with a literal at the first
// segment where they differ wins ("/users/me" beats "/users/:id"), then the one added first.
// The query string is decoded ('+' is a space) into Request::query. Malformed percent-encoding
// in the path or query yields 400 invalid_argument.
//
// Routes with an Access other than kPublic authenticate the `Authorization: Bearer` token through
// the Authenticator (SetAuthenticator) and find the caller in Request::principal; without a
// token 401 "Missing Bearer token", an unknown one 401, the wrong role 403.
//
// Add() and SetAuthenticator() are not thread-safe; call them before the server starts.
// Everything else is thread-safe as long as the handlers are. Exceptions from handlers propagate
// to the caller (the server turns them into a generic 500).
class Router {
 public:
  struct Route;

  void Add(bhttp::verb method, std::string pattern, Handler handler, RouteOptions options = {});
  void AddAsync(bhttp::verb method, std::string pattern, AsyncHandler handler,
                RouteOptions options = {});
  void AddStream(bhttp::verb method, std::string pattern, StreamHandler handler,
                 RouteOptions options = {});
  void SetAuthenticator(Authenticator authenticator);

  // What the server does with a request's head before reading its body: matches the route
  // (filling request.path, query, params and route) and authenticates the caller (filling
  // request.principal). `route` is null when `answer` holds the response to send instead
  // (400/401/403/404/405), without reading the body.
  struct Admission {
    const Route* route = nullptr;
    std::optional<Response> answer;
  };
  Admission Admit(Request& request, const BeastRequest& head) const;
  // Runs an admitted route's handler once request.raw holds the whole request. Synchronous
  // handlers that are not inline run on `pool` (when not null) under the caller's key; a full
  // pool answers 429 with Retry-After.
  net::awaitable<void> Run(const Route& route, Request& request, ResponseWriter& writer,
                           WorkPool* pool) const;

  // Admit + Run on a whole request: for tests, and callers that hold no separate head.
  net::awaitable<void> Serve(Request& request, ResponseWriter& writer,
                             WorkPool* pool = nullptr) const;
  // Admit + the handler, for synchronous routes (an async or streaming route answers 500).
  Response Dispatch(Request& request) const;
  // As Dispatch, for synchronous and asynchronous routes (a streaming route answers 500).
  net::awaitable<Response> DispatchAsync(Request& request) const;
  // "METHOD pattern" of every route, for documentation checks.
  std::vector<std::string> Routes() const;

  // The error answer of a route's style (ErrorStyle::kBerth: ErrorResponse).
  static Response Error(ErrorStyle style, const Status& error);

  struct Route {
    bhttp::verb method;
    std::vector<std::string> segments;
    std::string pattern;
    RouteOptions options;
    Handler handler;  // exactly one of the three handlers is set
    AsyncHandler async_handler;
    StreamHandler stream_handler;
  };

 private:
  // The route for `request` with request.params and request.query filled, or the 400/404/405
  // answer in `early` (and nullptr).
  const Route* Match(Request& request, const BeastRequest& head, Response& early) const;
  // The caller of a route with an Access, into request.principal; the 401/403 otherwise.
  std::optional<Response> Authenticate(const Route& route, Request& request,
                                       const BeastRequest& head) const;
  std::vector<Route> routes_;
  Authenticator authenticator_;
};

}  // namespace berth::http
