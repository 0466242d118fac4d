#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/request.hpp"
#include "http/response_writer.hpp"

namespace berth::http {

// Synchronous handler: runs on a server thread; may block on the store (SQLite, microseconds).
using Handler = std::function<Response(Request&)>;
// Asynchronous handler, for work that waits (an agent start, an engine call): a coroutine on the
// connection's executor that must not block its thread; it co_awaits instead.
using AsyncHandler = std::function<net::awaitable<Response>(Request&)>;
// Streaming handler, for answers whose body is produced over time (server-sent events, proxied
// streams): answers through the ResponseWriter (http/response_writer.hpp).
using StreamHandler = std::function<net::awaitable<void>(Request&, ResponseWriter&)>;

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
// Add() is not thread-safe; call it before the server starts. Dispatch() is thread-safe as long
// as the handlers are. Exceptions from handlers propagate to the caller (the server turns them
// into a generic 500).
class Router {
 public:
  void Add(bhttp::verb method, std::string pattern, Handler handler);
  void AddAsync(bhttp::verb method, std::string pattern, AsyncHandler handler);
  void AddStream(bhttp::verb method, std::string pattern, StreamHandler handler);
  // Fills request.params and runs the handler, or answers 404/405 in the JSON error shape.
  // A route added with AddAsync or AddStream answers 500 here: use DispatchAsync or Serve.
  Response Dispatch(Request& request) const;
  // As Dispatch, for synchronous and asynchronous routes (a streaming route answers 500).
  net::awaitable<Response> DispatchAsync(Request& request) const;
  // Every kind of route, answering through `writer`; what the server calls. Sets
  // request.route to the matched pattern (empty when none matched).
  net::awaitable<void> Serve(Request& request, ResponseWriter& writer) const;
  // "METHOD pattern" of every route, for documentation checks.
  std::vector<std::string> Routes() const;

 private:
  struct Route {
    bhttp::verb method;
    std::vector<std::string> segments;
    std::string pattern;
    Handler handler;  // exactly one of the three handlers is set
    AsyncHandler async_handler;
    StreamHandler stream_handler;
  };
  // The route for `request` with request.params and request.query filled, or the 400/404/405
  // answer in `early` (and nullptr).
  const Route* Match(Request& request, Response& early) const;
  std::vector<Route> routes_;
};

}  // namespace berth::http
