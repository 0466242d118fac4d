#include "http/chat_api.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json_parse.hpp"
#include "http/offload.hpp"
#include "proxy/chat_request.hpp"

namespace berth::http {
namespace {

using nlohmann::json;

constexpr char kEventStream[] = "text/event-stream";
constexpr std::size_t kEventStreamLength = sizeof(kEventStream) - 1;
// The most of a gateway's error body berth reads to put into an in-stream error event.
constexpr std::size_t kMaxErrorBody = 64 << 10;

// Bodies up to this size are scanned on the event loop when they name the agent's own model:
// microseconds, and no store read. Larger ones, and every provider model (a store read, and the
// body rewritten as a tree), go to the work pool.
constexpr std::size_t kInlineScanBytes = 16 << 10;

// The answer when the gateway could not be reached at all.
Response BadGateway(const Status& error) {
  return OpenAiErrorResponse(bhttp::status::bad_gateway, "bad_gateway", error.message());
}

// One server-sent event carrying an error, for failures after a stream has begun: the body of
// the OpenAI-shaped error answer.
std::string ErrorEvent(bhttp::status status, std::string_view code, std::string_view message) {
  return "data: " + OpenAiErrorResponse(status, code, message).body() + "\n\n";
}

Status AgentsReady(const std::shared_ptr<lifecycle::AgentManager>& agents) {
  if (agents && agents->initialized()) return Status::Ok();
  return Unavailable("the container engine is not available yet; agents cannot be started");
}

// The outcome of EnsureRunningAsync, handed from whichever thread completes the start to the
// connection's strand.
struct StartWait {
  explicit StartWait(net::any_io_executor executor) : wake(std::move(executor)) {}
  net::steady_timer wake;  // on the connection's strand
  std::mutex mu;
  std::optional<Result<lifecycle::AgentEndpoint>> result;  // guarded by mu
  bool calling = false;      // EnsureRunningAsync has not returned yet; guarded by mu
  bool client_gone = false;  // on the strand

  std::optional<Result<lifecycle::AgentEndpoint>> Take() {
    std::lock_guard lock(mu);
    return std::exchange(result, std::nullopt);
  }
};

// Counts an open stream for as long as it lives.
class OpenStreamCount {
 public:
  explicit OpenStreamCount(ChatStats& stats) : stats_(stats) { ++stats_.open_streams; }
  ~OpenStreamCount() { --stats_.open_streams; }
  OpenStreamCount(const OpenStreamCount&) = delete;
  OpenStreamCount& operator=(const OpenStreamCount&) = delete;

 private:
  ChatStats& stats_;
};

// The gateway's headers a client may see: the content description and hints, never hop-by-hop
// framing (berth frames the answer itself) or anything about the connection.
bool PassesThrough(bhttp::field field, beast::string_view name) {
  switch (field) {
    case bhttp::field::content_type:
    case bhttp::field::cache_control:
    case bhttp::field::retry_after:
    case bhttp::field::content_language:
      return true;
    default:
      break;
  }
  return name.size() > 7 && (beast::iequals(name.substr(0, 7), "openai-") ||
                             beast::iequals(name.substr(0, 10), "x-ratelimi"));
}

class ChatHandlers {
 public:
  explicit ChatHandlers(ChatServices services) : s_(std::move(services)) {}

  net::awaitable<void> Completions(Request& request, ResponseWriter& writer);
  net::awaitable<void> Events(Request& request, ResponseWriter& writer);
  Response Models(Request& request);

 private:
  net::awaitable<void> Fail(ResponseWriter& writer, const Status& error);
  // RouteChatRequest for `user_id`, on the work pool unless it is cheap (kInlineScanBytes).
  net::awaitable<std::shared_ptr<Result<proxy::ChatRoute>>> Route(std::string user_id,
                                                                  std::string body);
  net::awaitable<void> ForwardAnswer(proxy::GatewayExchange& exchange, ResponseWriter& writer,
                                     bool began);

  ChatServices s_;
};

net::awaitable<void> ChatHandlers::Fail(ResponseWriter& writer, const Status& error) {
  Response res = OpenAiErrorResponse(error);
  if (error.code() == ErrorCode::kResourceExhausted) {
    const auto seconds = s_.agents ? s_.agents->retry_after().count() : 1;
    res.set(bhttp::field::retry_after, std::to_string(seconds));
  }
  co_await writer.Send(res);
}

Response ChatHandlers::Models(Request& request) {
  auto usable = s_.providers->UsableModels(request.caller().user_id);
  if (!usable.ok()) return OpenAiErrorResponse(usable.status());
  json data = json::array();
  for (const std::string& id : proxy::ModelIds(*usable)) {
    const auto slash = id.find('/');
    data.push_back({{"id", id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", slash == std::string::npos ? "berth" : id.substr(0, slash)}});
  }
  return JsonResponse(bhttp::status::ok, {{"object", "list"}, {"data", std::move(data)}});
}

// Not a coroutine (http/offload.hpp): returns the awaitable of the pool's answer, or a ready one.
net::awaitable<std::shared_ptr<Result<proxy::ChatRoute>>> ChatHandlers::Route(std::string user_id,
                                                                              std::string body) {
  using Routed = Result<proxy::ChatRoute>;
  auto route_on = [providers = s_.providers](std::string user, std::string text,
                                             std::optional<proxy::ChatScan> scan) {
    auto usable = [&] { return providers->UsableModels(user); };
    if (scan) return proxy::RouteScannedChatRequest(std::move(text), *scan, usable);
    return proxy::RouteChatRequest(std::move(text), usable);
  };
  std::optional<proxy::ChatScan> scanned;
  if (body.size() <= kInlineScanBytes || !s_.work) {
    auto scan = proxy::ScanChatRequest(body);
    if (!scan.ok() || scan->names_agent || !s_.work) {
      Routed routed = scan.ok() ? route_on(std::move(user_id), std::move(body), std::move(*scan))
                                : Routed(scan.status());
      return Ready(std::make_shared<Routed>(std::move(routed)));
    }
    scanned = std::move(*scan);
  }
  return RunOnPool<Routed>(
      *s_.work, "user:" + user_id,
      [route_on, user_id, body = std::move(body), scanned = std::move(scanned)]() mutable {
        return route_on(user_id, std::move(body), std::move(scanned));
      });
}

net::awaitable<void> ChatHandlers::Completions(Request& request, ResponseWriter& writer) {
  const std::string user_id = request.caller().user_id;
  auto slot = s_.limiter->Acquire(user_id);
  if (!slot.ok()) co_return co_await Fail(writer, slot.status());
  std::shared_ptr<Result<proxy::ChatRoute>> routed =
      co_await Route(user_id, std::move(request.raw.body()));
  if (!routed) {
    co_return co_await Fail(
        writer, ResourceExhausted("too many requests of yours are waiting; retry shortly"));
  }
  Result<proxy::ChatRoute>& route = *routed;
  if (!route.ok()) co_return co_await Fail(writer, route.status());
  if (Status st = AgentsReady(s_.agents); !st.ok()) co_return co_await Fail(writer, st);

  // The whole exchange is activity, and the reaper never stops an agent while it lasts.
  s_.agents->Touch(user_id);
  lifecycle::AgentManager::StreamGuard guard = s_.agents->OpenStream(user_id);
  OpenStreamCount counted(*s_.stats);

  // Ensure the agent runs; a streaming client hears SSE comments while it starts.
  auto wait = std::make_shared<StartWait>(writer.executor());
  wait->calling = true;
  s_.agents->EnsureRunningAsync(user_id, [wait](Result<lifecycle::AgentEndpoint> started) {
    {
      std::lock_guard lock(wait->mu);
      wait->result = std::move(started);
      // Answered within the call (a warm agent): the Take() below finds it, nothing to wake.
      if (wait->calling) return;
    }
    net::post(wait->wake.get_executor(), [wait] { wait->wake.cancel(); });
  });
  {
    std::lock_guard lock(wait->mu);
    wait->calling = false;
  }
  std::optional<Result<lifecycle::AgentEndpoint>> started = wait->Take();
  bool began = false;
  if (!started) {
    writer.WatchClient([wait] {
      wait->client_gone = true;
      wait->wake.cancel();
    });
    for (;;) {
      wait->wake.expires_after(s_.options.start_keepalive);
      beast::error_code ec;
      co_await wait->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (wait->client_gone) co_return;  // the start goes on; its agent idles until reaped
      started = wait->Take();
      if (started) break;
      if (!route->stream || ec) continue;  // a stale wake-up, or nothing to keep alive
      if (!began) {
        ResponseHead head{bhttp::status::ok, 11};
        head.set(bhttp::field::content_type, kEventStream);
        head.set(bhttp::field::cache_control, "no-cache");
        head.set("X-Accel-Buffering", "no");
        if (!co_await writer.Begin(head)) co_return;
        began = true;
      }
      if (!co_await writer.Write(": berth: starting your agent\n\n")) co_return;
    }
  }
  if (!started->ok()) {
    const Status& error = started->status();
    if (!began) co_return co_await Fail(writer, error);
    const bhttp::status status = StatusToHttp(error.code());
    co_await writer.End(ErrorEvent(status, ErrorCodeName(error.code()), error.message()));
    co_return;
  }
  const lifecycle::AgentEndpoint& endpoint = **started;

  proxy::GatewayExchange::Options exchange_options;
  exchange_options.connect_timeout = s_.options.connect_timeout;
  exchange_options.idle_gap = s_.options.idle_gap;
  auto exchange =
      std::make_shared<proxy::GatewayExchange>(writer.executor(), s_.pool, exchange_options);
  // A client that goes away cancels the gateway's request at once.
  writer.WatchClient([exchange] { exchange->Cancel(); });

  proxy::GatewayRequest upstream;
  upstream.host = endpoint.host;
  upstream.port = endpoint.port;
  upstream.token = endpoint.token;
  upstream.target = "/v1/chat/completions";
  upstream.body = std::move(route->body);
  if (!route->model_header.empty())
    upstream.headers.emplace_back("x-openclaw-model", route->model_header);
  upstream.headers.emplace_back("x-request-id", request.request_id);
  if (route->stream) upstream.headers.emplace_back("accept", std::string(kEventStream));
  Status sent = co_await exchange->Send(upstream);
  if (!sent.ok()) {
    if (exchange->cancelled() || writer.client_gone()) co_return;
    spdlog::warn("chat: user {}: {} (request id {})", user_id, sent.message(), request.request_id);
    if (!began) {
      Response res = BadGateway(sent);
      co_await writer.Send(res);
      co_return;
    }
    co_await writer.End(ErrorEvent(bhttp::status::bad_gateway, "bad_gateway", sent.message()));
    co_return;
  }
  co_await ForwardAnswer(*exchange, writer, began);
}

// Streams the gateway's answer to the client as it arrives. When a keep-alive already began a
// 200 event stream, a gateway error becomes an error event in it.
net::awaitable<void> ChatHandlers::ForwardAnswer(proxy::GatewayExchange& exchange,
                                                 ResponseWriter& writer, bool began) {
  const auto& head = exchange.head();
  const bool ok = head.result_int() / 100 == 2;
  if (began && !ok) {
    std::string body;
    for (;;) {
      auto piece = co_await exchange.Read();
      if (!piece.ok() || piece->empty()) break;
      body.append(piece->substr(0, kMaxErrorBody - std::min(body.size(), kMaxErrorBody)));
    }
    json parsed = ParseJson(body, "gateway answer").value_or(json());
    std::string message = "the agent gateway answered " + std::to_string(head.result_int());
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object() &&
        parsed["error"].value("message", json()).is_string()) {
      message += ": " + parsed["error"]["message"].get<std::string>();
    }
    co_await writer.End(ErrorEvent(head.result(), "gateway_error", message));
    co_return;
  }
  if (!began) {
    ResponseHead out{head.result(), 11};
    for (const auto& field : head) {
      if (PassesThrough(field.name(), field.name_string())) {
        out.insert(field.name_string(), field.value());
      }
    }
    if (!co_await writer.Begin(out)) co_return;
  }
  const bool event_stream =
      beast::iequals(head[bhttp::field::content_type].substr(0, kEventStreamLength), kEventStream);
  for (;;) {
    // What already arrived goes out with the head (and, when it completes the body, with the
    // body's end): one write. Before waiting for more, the client gets what is held.
    Result<std::string_view> piece = exchange.ReadAvailable();
    if (piece.ok() && piece->empty() && !exchange.done()) {
      if (!co_await writer.Flush()) {
        exchange.Cancel();
        co_return;
      }
      piece = co_await exchange.Read();
    }
    if (!piece.ok()) {
      if (exchange.cancelled() || writer.client_gone()) co_return;
      spdlog::warn("chat: {}", piece.status().message());
      // An event stream can say what happened; any other body is cut off, and the connection
      // closes without the last chunk so that the client sees it was.
      if (event_stream) {
        co_await writer.End(
            ErrorEvent(bhttp::status::bad_gateway, "bad_gateway", piece.status().message()));
      }
      co_return;
    }
    if (exchange.done()) {
      co_await writer.End(*piece);
      co_return;
    }
    if (!co_await writer.Write(*piece)) {
      exchange.Cancel();
      co_return;
    }
  }
}

// An agent's state as the event stream carries it; for an AgentEvent and an AgentView alike.
// `status`: the API's word for it (ApiStatusName: "paused" included).
json AgentStateJson(std::string_view status, const std::string& phase, const std::string& error) {
  json j = {{"status", status}};
  if (!phase.empty()) j["phase"] = phase;
  if (!error.empty()) j["error"] = error;
  return j;
}

std::string SseEvent(std::string_view name, const json& data) {
  return "event: " + std::string(name) +
         "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

net::awaitable<void> ChatHandlers::Events(Request& request, ResponseWriter& writer) {
  if (Status st = AgentsReady(s_.agents); !st.ok()) co_return co_await Fail(writer, st);
  const std::string user_id = request.caller().user_id;
  // Subscribe before reading the state, so that no change falls between the two.
  std::shared_ptr<proxy::AgentEventHub::Subscription> subscription =
      s_.events->Subscribe(user_id, writer.executor());
  auto current = s_.agents->GetAgent(user_id);
  if (!current.ok()) co_return co_await Fail(writer, current.status());
  auto state_json = [](const lifecycle::AgentView& v) {
    return AgentStateJson(v.StatusName(), v.phase, v.error);
  };

  OpenStreamCount counted(*s_.stats);
  ResponseHead head{bhttp::status::ok, 11};
  head.set(bhttp::field::content_type, kEventStream);
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  if (!co_await writer.Begin(head)) co_return;
  if (!co_await writer.Write(SseEvent("state", state_json(*current)))) co_return;
  // Opening this stream is a sign the user is about to chat: a stopped or paused agent is
  // started (or resumed) now, and its steps follow on this stream. A refusal (the start cap)
  // is no matter here: the chat that follows starts it or says why not.
  if (current->paused || current->status == lifecycle::AgentStatus::kStopped) {
    s_.agents->EnsureRunningAsync(user_id, [](Result<lifecycle::AgentEndpoint>) {});
  }
  bool gone = false;
  writer.WatchClient([subscription, &gone] {
    gone = true;
    subscription->Interrupt();
  });
  while (!gone) {
    bool missed = false;
    std::vector<lifecycle::AgentEvent> events =
        co_await subscription->Next(s_.options.events_keepalive, &missed);
    if (gone) break;
    std::string out;
    if (missed) {
      // Some changes were dropped: the current state says where things stand.
      auto now = s_.agents->GetAgent(user_id);
      if (now.ok()) out += SseEvent("state", state_json(*now));
    }
    for (const auto& event : events)
      out += SseEvent("agent", AgentStateJson(lifecycle::ApiStatusName(event.status, event.paused),
                                              event.phase, event.error));
    if (out.empty()) out = ": keep-alive\n\n";
    if (!co_await writer.Write(out)) break;
  }
  writer.WatchClient(nullptr);
}

}  // namespace

void RegisterChatRoutes(Router& router, ChatServices services) {
  if (!services.limiter) services.limiter = std::make_shared<proxy::ChatLimiter>();
  if (!services.pool) services.pool = std::make_shared<proxy::GatewayPool>();
  if (!services.events) services.events = std::make_shared<proxy::AgentEventHub>();
  if (!services.stats) services.stats = std::make_shared<ChatStats>();
  auto handlers = std::make_shared<ChatHandlers>(std::move(services));
  using V = bhttp::verb;
  const RouteOptions user{Access::kUser, ErrorStyle::kOpenAi};
  router.AddStream(
      V::post, "/v1/chat/completions",
      [handlers](Request& request, ResponseWriter& writer) {
        return handlers->Completions(request, writer);
      },
      user);
  router.Add(
      V::get, "/v1/models", [handlers](Request& request) { return handlers->Models(request); },
      user);
  router.AddStream(
      V::get, "/api/agent/events",
      [handlers](Request& request, ResponseWriter& writer) {
        return handlers->Events(request, writer);
      },
      user);
}

}  // namespace berth::http
