#include "http/router.hpp"

#include <boost/container/small_vector.hpp>
#include <utility>

#include "http/offload.hpp"
#include "http/work_pool.hpp"

namespace berth::http {
namespace {

// Offsets of one decoded segment inside Request::path; offsets rather than views because the path
// string grows (and may reallocate) while it is being built.
struct Span {
  std::size_t offset;
  std::size_t size;
};
using Spans = boost::container::small_vector<Span, 16>;

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the percent-decoding of `in` to `out`; `plus_is_space` for query components
// (application/x-www-form-urlencoded). False on a malformed escape.
bool AppendDecoded(std::string_view in, bool plus_is_space, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Splits a pattern or path into its segments; "/a/b/" and "/a/b" both give {a, b}, "/" gives {}.
std::vector<std::string> SplitPattern(std::string_view pattern) {
  std::vector<std::string> segments;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  if (!pattern.empty() && pattern.back() == '/') pattern.remove_suffix(1);
  if (pattern.empty()) return segments;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = pattern.find('/', start);
    segments.emplace_back(pattern.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool IsCapture(const std::string& segment) { return segment.size() > 1 && segment[0] == ':'; }

// Decodes an origin-form path ("/...") into `path` (with a trailing slash dropped) and records
// each segment. False on malformed percent-encoding.
bool DecodePath(std::string_view raw, std::string& path, Spans& spans) {
  path.clear();
  path.reserve(raw.size());
  raw.remove_prefix(1);
  if (!raw.empty() && raw.back() == '/') raw.remove_suffix(1);
  if (raw.empty()) {
    path = "/";
    return true;
  }
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = raw.find('/', start);
    std::string_view segment = raw.substr(start, slash - start);
    path.push_back('/');
    std::size_t offset = path.size();
    // Each segment is decoded on its own so that "%2F" stays inside its segment.
    if (!AppendDecoded(segment, false, path)) return false;
    spans.push_back({offset, path.size() - offset});
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

// Fills `query` from "a=1&b=two+words"; the first occurrence of a key wins. A key without '='
// gets an empty value. False on malformed percent-encoding.
bool ParseQuery(std::string_view raw, std::map<std::string, std::string>& query) {
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t amp = raw.find('&', start);
    std::string_view pair = raw.substr(start, amp - start);
    if (!pair.empty()) {
      std::size_t eq = pair.find('=');
      std::string key;
      std::string value;
      if (!AppendDecoded(pair.substr(0, eq), true, key)) return false;
      if (eq != std::string_view::npos && !AppendDecoded(pair.substr(eq + 1), true, value)) {
        return false;
      }
      if (!key.empty()) query.emplace(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return true;
}

}  // namespace

void Router::Add(bhttp::verb method, std::string pattern, Handler handler, RouteOptions options) {
  std::vector<std::string> segments = SplitPattern(pattern);
  routes_.push_back(
      Route{method, std::move(segments), std::move(pattern), options, std::move(handler), {}, {}});
}

void Router::AddAsync(bhttp::verb method, std::string pattern, AsyncHandler handler,
                      RouteOptions options) {
  std::vector<std::string> segments = SplitPattern(pattern);
  routes_.push_back(
      Route{method, std::move(segments), std::move(pattern), options, {}, std::move(handler), {}});
}

void Router::AddStream(bhttp::verb method, std::string pattern, StreamHandler handler,
                       RouteOptions options) {
  std::vector<std::string> segments = SplitPattern(pattern);
  routes_.push_back(
      Route{method, std::move(segments), std::move(pattern), options, {}, {}, std::move(handler)});
}

void Router::SetAuthenticator(Authenticator authenticator) {
  authenticator_ = std::move(authenticator);
}

std::vector<std::string> Router::Routes() const {
  std::vector<std::string> out;
  out.reserve(routes_.size());
  for (const Route& route : routes_) {
    std::string_view method = ToStd(bhttp::to_string(route.method));
    out.push_back(std::string(method.data(), method.size()) + " " + route.pattern);
  }
  return out;
}

const Router::Route* Router::Match(Request& request, const BeastRequest& head,
                                   Response& early) const {
  std::string_view target_view = ToStd(head.target());
  std::size_t question = target_view.find('?');
  std::string_view raw_path = target_view.substr(0, question);
  // absolute-form ("http://host/p", RFC 9112 §3.2.2): only the path matters for routing.
  if (raw_path.starts_with("http://") || raw_path.starts_with("https://")) {
    std::size_t slash = raw_path.find('/', raw_path.find("//") + 2);
    raw_path = slash == std::string_view::npos ? std::string_view("/") : raw_path.substr(slash);
  }
  if (raw_path.empty() || raw_path.front() != '/') {
    // asterisk-form ("OPTIONS *") or authority-form (CONNECT): nothing here serves those.
    request.path.assign(raw_path);
    early = ErrorResponse(bhttp::status::not_found, ErrorCodeName(ErrorCode::kNotFound),
                          "no route for " + request.path);
    return nullptr;
  }

  Spans spans;
  if (!DecodePath(raw_path, request.path, spans)) {
    early = ErrorResponse(bhttp::status::bad_request, ErrorCodeName(ErrorCode::kInvalidArgument),
                          "malformed percent-encoding in path");
    return nullptr;
  }
  const std::string& path = request.path;
  auto matches = [&](const Route& route) {
    if (route.segments.size() != spans.size()) return false;
    for (std::size_t i = 0; i < spans.size(); ++i) {
      const std::string& want = route.segments[i];
      if (IsCapture(want)) {
        if (spans[i].size == 0) return false;
      } else if (path.compare(spans[i].offset, spans[i].size, want) != 0) {
        return false;
      }
    }
    return true;
  };
  // Literal beats capture at the first segment where two matching patterns differ, whatever
  // their order of registration: "/users/me" wins over "/users/:id".
  auto more_specific = [](const Route& a, const Route& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
      bool a_capture = IsCapture(a.segments[i]);
      bool b_capture = IsCapture(b.segments[i]);
      if (a_capture != b_capture) return !a_capture;
    }
    return false;
  };

  const Route* best = nullptr;
  for (const Route& route : routes_) {
    if (route.method != head.method() || !matches(route)) continue;
    if (best == nullptr || more_specific(route, *best)) best = &route;
  }

  if (best != nullptr) {
    for (std::size_t i = 0; i < spans.size(); ++i) {
      if (IsCapture(best->segments[i])) {
        request.params.insert_or_assign(best->segments[i].substr(1),
                                        path.substr(spans[i].offset, spans[i].size));
      }
    }
    if (question != std::string_view::npos &&
        !ParseQuery(target_view.substr(question + 1), request.query)) {
      early = ErrorResponse(bhttp::status::bad_request, ErrorCodeName(ErrorCode::kInvalidArgument),
                            "malformed percent-encoding in query string");
      return nullptr;
    }
    return best;
  }

  std::string allow;
  for (const Route& route : routes_) {
    if (!matches(route)) continue;
    std::string_view method = ToStd(bhttp::to_string(route.method));
    // Routes are few; a linear search for duplicates in the header beats a set here.
    bool seen = false;
    for (std::size_t pos = 0; pos < allow.size();) {
      std::size_t end = allow.find(", ", pos);
      if (std::string_view(allow).substr(pos, end - pos) == method) seen = true;
      if (end == std::string::npos) break;
      pos = end + 2;
    }
    if (seen) continue;
    if (!allow.empty()) allow += ", ";
    allow.append(method.data(), method.size());
  }
  if (!allow.empty()) {
    std::string_view method = ToStd(head.method_string());
    Response res = ErrorResponse(
        bhttp::status::method_not_allowed, "method_not_allowed",
        std::string("method ").append(method.data(), method.size()) + " not allowed for " + path);
    res.set(bhttp::field::allow, allow);
    early = std::move(res);
    return nullptr;
  }
  early = ErrorResponse(bhttp::status::not_found, ErrorCodeName(ErrorCode::kNotFound),
                        "no route for " + path);
  return nullptr;
}

Response Router::Error(ErrorStyle style, const Status& error) {
  return style == ErrorStyle::kOpenAi ? OpenAiErrorResponse(error) : ErrorResponse(error);
}

std::optional<Response> Router::Authenticate(const Route& route, Request& request,
                                             const BeastRequest& head) const {
  const ErrorStyle style = route.options.errors;
  if (route.options.admit) {
    if (Status admitted = route.options.admit(request, head); !admitted.ok()) {
      return Error(style, admitted);
    }
  }
  if (route.options.access == Access::kPublic) return std::nullopt;
  auto token = BearerTokenOf(head);
  if (!token) return Error(style, Unauthenticated("Missing Bearer token"));
  if (!authenticator_) return Error(style, Internal("no authenticator for " + route.pattern));
  auto principal = authenticator_(*token);
  if (!principal.ok()) return Error(style, principal.status());
  const service::Role wanted =
      route.options.access == Access::kAdmin ? service::Role::kAdmin : service::Role::kUser;
  if (principal->role != wanted) {
    return Error(style, PermissionDenied(wanted == service::Role::kAdmin
                                             ? "this endpoint needs an admin token"
                                             : "this endpoint needs a user token"));
  }
  request.principal = std::move(*principal);
  return std::nullopt;
}

Router::Admission Router::Admit(Request& request, const BeastRequest& head) const {
  Admission admission;
  Response early;
  const Route* route = Match(request, head, early);
  if (route == nullptr) {
    admission.answer = std::move(early);
    return admission;
  }
  request.route = route->pattern;
  admission.answer = Authenticate(*route, request, head);
  if (!admission.answer) admission.route = route;
  return admission;
}

namespace {

// The WorkPool key of a request: its caller, so that callers take turns.
std::string WorkKey(const Request& request) {
  if (!request.principal) return "peer:" + request.peer.substr(0, request.peer.rfind(':'));
  if (request.principal->role == service::Role::kAdmin) return "admin";
  return "user:" + request.principal->user_id;
}

Response Busy(ErrorStyle style) {
  Response res = Router::Error(
      style, ResourceExhausted("too many requests of yours are waiting; retry shortly"));
  res.set(bhttp::field::retry_after, "1");
  return res;
}

}  // namespace

net::awaitable<void> Router::Run(const Route& route, Request& request, ResponseWriter& writer,
                                 WorkPool* pool) const {
  if (route.stream_handler) {
    co_await route.stream_handler(request, writer);
    co_return;
  }
  Response response;
  if (route.async_handler) {
    response = co_await route.async_handler(request);
  } else if (pool == nullptr || route.options.inline_handler) {
    response = route.handler(request);
  } else {
    const Handler& handler = route.handler;
    std::shared_ptr<Response> answered = co_await RunOnPool<Response>(
        *pool, WorkKey(request), [&handler, &request] { return handler(request); });
    response = answered ? std::move(*answered) : Busy(route.options.errors);
  }
  co_await writer.Send(response);
}

net::awaitable<void> Router::Serve(Request& request, ResponseWriter& writer, WorkPool* pool) const {
  Admission admission = Admit(request, request.raw);
  if (admission.route == nullptr) {
    co_await writer.Send(*admission.answer);
    co_return;
  }
  co_await Run(*admission.route, request, writer, pool);
}

Response Router::Dispatch(Request& request) const {
  Admission admission = Admit(request, request.raw);
  if (admission.route == nullptr) return std::move(*admission.answer);
  if (!admission.route->handler) {
    return ErrorResponse(bhttp::status::internal_server_error, ErrorCodeName(ErrorCode::kInternal),
                         "internal error");
  }
  return admission.route->handler(request);
}

net::awaitable<Response> Router::DispatchAsync(Request& request) const {
  Admission admission = Admit(request, request.raw);
  if (admission.route == nullptr) co_return std::move(*admission.answer);
  if (admission.route->async_handler) co_return co_await admission.route->async_handler(request);
  if (!admission.route->handler) {
    co_return ErrorResponse(bhttp::status::internal_server_error,
                            ErrorCodeName(ErrorCode::kInternal), "internal error");
  }
  co_return admission.route->handler(request);
}

}  // namespace berth::http
