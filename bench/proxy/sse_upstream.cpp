// bench_sse_upstream: a fast OpenAI-style streaming upstream for the chat proxy benchmark
// (bench/README.md, "Chat proxy"). It runs on the host or as a user's agent container (berth
// packages it with `berth image build test-agent --binary`), so it honours the parts of the agent
// contract a proxy touches: port 18789, GET /readyz, any bearer token.
//
//   POST /v1/chat/completions  {"stream":true,...}: text/event-stream, chunked: N events
//                              `data: {...chat.completion.chunk...}\n\n`, a usage event,
//                              `data: [DONE]\n\n`; without "stream":true one chat.completion.
//   GET  /readyz, /healthz     200
//   GET  /v1/models            the agent's model list
//   GET  /bench/stats          {"openStreams","streamsStarted","streamsCompleted"}
//
// N and the delay between events come from --chunks / --delay-ms (else BENCH_CHUNKS /
// BENCH_CHUNK_DELAY_MS), and per request from the headers x-bench-chunks / x-bench-delay-ms or
// the body's {"bench":{"chunks":N,"delayMs":M}} (berth forwards the body, not the client's
// headers), so one process serves both short streams (throughput) and long-lived ones
// (open-stream memory).
// With no delay the whole response goes out in one write; with a delay, the header goes out at
// once and each event in its own write, as a model's tokens would.
//
// One io_context and one SO_REUSEPORT acceptor per thread: the kernel spreads connections over
// the threads, and a connection never leaves its thread (no strands, no locks).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/asio.hpp"
#include "common/logging.hpp"

namespace berth::bench {
namespace {

using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kBodyLimit = 1024 * 1024;
constexpr long kMaxChunks = 1'000'000;
constexpr long kMaxDelayMs = 3'600'000;
constexpr auto kWriteTimeout = 30s;

struct UpstreamOptions {
  std::string host = "0.0.0.0";
  unsigned short port = 18789;
  unsigned threads = 0;  // 0: one per core
  long chunks = 20;
  std::chrono::milliseconds delay{0};
  std::chrono::seconds idle_timeout{120};  // keep-alive connections waiting for a request
};

std::optional<long> ParseLong(std::string_view text, long min, long max) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// "host:port", "[v6]:port" or ":port".
bool ParseListen(std::string_view text, UpstreamOptions& o) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  auto port = ParseLong(text.substr(colon + 1), 1, 65535);
  if (!port) return false;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  o.host = host.empty() ? "0.0.0.0" : std::string(host);
  o.port = static_cast<unsigned short>(*port);
  return true;
}

// Flags beat the environment. Returns false (after printing why) on a bad value.
bool ParseOptions(int argc, char** argv, UpstreamOptions& o) {
  auto apply = [&o](std::string_view name, std::string_view value) {
    if (name == "listen") return ParseListen(value, o);
    if (name == "threads") {
      auto v = ParseLong(value, 0, 256);
      if (v) o.threads = static_cast<unsigned>(*v);
      return v.has_value();
    }
    if (name == "chunks") {
      auto v = ParseLong(value, 0, kMaxChunks);
      if (v) o.chunks = *v;
      return v.has_value();
    }
    if (name == "delay-ms") {
      auto v = ParseLong(value, 0, kMaxDelayMs);
      if (v) o.delay = std::chrono::milliseconds(*v);
      return v.has_value();
    }
    if (name == "idle-timeout-s") {
      auto v = ParseLong(value, 1, 86400);
      if (v) o.idle_timeout = std::chrono::seconds(*v);
      return v.has_value();
    }
    return false;
  };
  const std::pair<const char*, const char*> env_names[] = {{"LISTEN", "listen"},
                                                           {"BENCH_THREADS", "threads"},
                                                           {"BENCH_CHUNKS", "chunks"},
                                                           {"BENCH_CHUNK_DELAY_MS", "delay-ms"}};
  for (const auto& [env, name] : env_names) {
    const char* value = std::getenv(env);
    if (value != nullptr && *value != '\0' && !apply(name, value)) {
      std::fprintf(stderr, "bench_sse_upstream: invalid %s=%s\n", env, value);
      return false;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fprintf(stderr,
                   "usage: bench_sse_upstream [--listen HOST:PORT] [--threads N] [--chunks N] "
                   "[--delay-ms MS] [--idle-timeout-s S]\n"
                   "env: LISTEN (0.0.0.0:18789), BENCH_THREADS, BENCH_CHUNKS (20), "
                   "BENCH_CHUNK_DELAY_MS (0)\n");
      return false;
    }
    if (!arg.starts_with("--") || i + 1 >= argc || !apply(arg.substr(2), argv[i + 1])) {
      std::fprintf(stderr, "bench_sse_upstream: bad argument %s (see --help)\n", argv[i]);
      return false;
    }
    ++i;
  }
  return true;
}

// Thousands of open streams need thousands of descriptors.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// --- response bodies ---------------------------------------------------------------------------

std::atomic<std::uint64_t> g_response_counter{0};

// Streams in flight and finished, for GET /bench/stats: the open-stream phase samples them to
// see how many streams a proxy really holds open upstream.
struct StreamCounters {
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> completed{0};
};
StreamCounters g_streams;

// Counts one SSE stream as open for its lifetime; `completed` when it was sent to the end.
class OpenStream {
 public:
  OpenStream() {
    g_streams.open.fetch_add(1, std::memory_order_relaxed);
    g_streams.started.fetch_add(1, std::memory_order_relaxed);
  }
  ~OpenStream() {
    g_streams.open.fetch_sub(1, std::memory_order_relaxed);
    if (completed_) g_streams.completed.fetch_add(1, std::memory_order_relaxed);
  }
  OpenStream(const OpenStream&) = delete;
  OpenStream& operator=(const OpenStream&) = delete;
  void Complete() { completed_ = true; }

 private:
  bool completed_ = false;
};

std::string StatsBody() {
  return "{\"openStreams\":" + std::to_string(g_streams.open.load(std::memory_order_relaxed)) +
         ",\"streamsStarted\":" +
         std::to_string(g_streams.started.load(std::memory_order_relaxed)) +
         ",\"streamsCompleted\":" +
         std::to_string(g_streams.completed.load(std::memory_order_relaxed)) + "}";
}

std::string NewCompletionId() {
  char id[32];
  auto n = g_response_counter.fetch_add(1, std::memory_order_relaxed);
  int len =
      std::snprintf(id, sizeof id, "chatcmpl-bench%016llx", static_cast<unsigned long long>(n));
  return std::string(id, static_cast<std::size_t>(len));
}

long UnixSeconds() {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

// Appends `event` framed as one HTTP/1.1 chunk, or as is for an HTTP/1.0 client (no chunking).
void AppendChunk(std::string& out, std::string_view event, bool chunked) {
  if (chunked) {
    char size[24];
    int len = std::snprintf(size, sizeof size, "%zx\r\n", event.size());
    out.append(size, static_cast<std::size_t>(len));
  }
  out.append(event);
  if (chunked) out.append("\r\n");
}

// Builds the SSE events of one completion. Every event of a response shares its id and creation
// time, as OpenAI's do.
class EventWriter {
 public:
  EventWriter() : id_(NewCompletionId()), created_(std::to_string(UnixSeconds())) {}

  std::string Content() const {
    return "data: {\"id\":\"" + id_ +
           "\",\"object\":\"chat.completion.chunk\",\"created\":" + created_ +
           ",\"model\":\"openclaw\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"},"
           "\"finish_reason\":null}]}\n\n";
  }
  std::string Usage(long chunks) const {
    const std::string completion = std::to_string(chunks);
    const std::string total = std::to_string(chunks + kPromptTokens);
    return "data: {\"id\":\"" + id_ +
           "\",\"object\":\"chat.completion.chunk\",\"created\":" + created_ +
           ",\"model\":\"openclaw\",\"choices\":[],\"usage\":{\"prompt_tokens\":" +
           std::to_string(kPromptTokens) + ",\"completion_tokens\":" + completion +
           ",\"total_tokens\":" + total + "}}\n\n";
  }
  static std::string_view Done() { return "data: [DONE]\n\n"; }

  std::string Completion(long chunks) const {
    std::string content;
    for (long i = 0; i < chunks; ++i) content += i == 0 ? "tok" : " tok";
    nlohmann::json body = {{"id", id_},
                           {"object", "chat.completion"},
                           {"created", UnixSeconds()},
                           {"model", "openclaw"},
                           {"choices",
                            {{{"index", 0},
                              {"message", {{"role", "assistant"}, {"content", content}}},
                              {"finish_reason", "stop"}}}},
                           {"usage",
                            {{"prompt_tokens", kPromptTokens},
                             {"completion_tokens", chunks},
                             {"total_tokens", chunks + kPromptTokens}}}};
    return body.dump();
  }

 private:
  static constexpr long kPromptTokens = 8;
  std::string id_;
  std::string created_;
};

std::string SseHeader(bool chunked, bool keep_alive) {
  std::string header = chunked ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n";
  header += "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
  if (chunked) header += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive) header += "Connection: close\r\n";
  header += "\r\n";
  return header;
}

// --- connections ---------------------------------------------------------------------------------

using Request = bhttp::request<bhttp::string_body>;

bhttp::response<bhttp::string_body> JsonResponse(const Request& req, bhttp::status status,
                                                 std::string body) {
  bhttp::response<bhttp::string_body> res{status, req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string ErrorBody(std::string_view message, std::string_view type) {
  return nlohmann::json{{"error", {{"message", message}, {"type", type}}}}.dump();
}

// A header's integer value, `fallback` when absent; nullopt when present but invalid.
std::optional<long> HeaderValue(const Request& req, std::string_view name, long fallback,
                                long max) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return fallback;
  auto value = it->value();
  return ParseLong(std::string_view(value.data(), value.size()), 0, max);
}

struct StreamShape {
  long chunks = 0;
  long delay_ms = 0;
};

// Sets `out` from body["bench"][name] when present; false when that is not an integer in
// [0, max].
bool BodyValue(const nlohmann::json& bench, const char* name, long max, long& out) {
  auto it = bench.find(name);
  if (it == bench.end()) return true;
  if (!it->is_number_integer()) return false;
  auto value = it->get<long long>();
  if (value < 0 || value > max) return false;
  out = static_cast<long>(value);
  return true;
}

// The headers x-bench-chunks / x-bench-delay-ms, else the body's {"bench":{"chunks","delayMs"}}
// (for proxies that forward the body but not the client's headers, berth among them), else the
// defaults. nullopt when a value is invalid.
std::optional<StreamShape> StreamShapeOf(const Request& req, const nlohmann::json& body,
                                         const UpstreamOptions& options) {
  StreamShape shape{options.chunks, options.delay.count()};
  if (auto bench = body.find("bench"); bench != body.end()) {
    if (!bench->is_object() || !BodyValue(*bench, "chunks", kMaxChunks, shape.chunks) ||
        !BodyValue(*bench, "delayMs", kMaxDelayMs, shape.delay_ms)) {
      return std::nullopt;
    }
  }
  auto chunks = HeaderValue(req, "x-bench-chunks", shape.chunks, kMaxChunks);
  auto delay_ms = HeaderValue(req, "x-bench-delay-ms", shape.delay_ms, kMaxDelayMs);
  if (!chunks || !delay_ms) return std::nullopt;
  return StreamShape{*chunks, *delay_ms};
}

class Session {
 public:
  Session(tcp::socket socket, std::shared_ptr<const UpstreamOptions> options)
      : stream_(std::move(socket)), options_(std::move(options)) {}

  // Serves requests until the client closes, idles past the timeout, or asks for no keep-alive.
  static net::awaitable<void> Run(std::shared_ptr<Session> self) {
    beast::error_code ec;
    while (true) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      self->stream_.expires_after(self->options_->idle_timeout);
      co_await bhttp::async_read(self->stream_, self->buffer_, parser,
                                 net::redirect_error(net::use_awaitable, ec));
      if (ec == bhttp::error::body_limit) {
        Request req = parser.release();
        req.keep_alive(false);
        co_await self->Write(
            JsonResponse(req, bhttp::status::payload_too_large,
                         ErrorBody("request body over 1 MiB", "invalid_request_error")));
        break;
      }
      if (ec) break;
      Request req = parser.release();
      const bool keep_alive = req.keep_alive();
      if (!co_await self->Handle(std::move(req)) || !keep_alive) break;
    }
    self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  // Returns false when the connection must close (a write failed).
  net::awaitable<bool> Handle(Request req) {
    const auto target = req.target();
    const auto method = req.method();
    if (target == "/readyz" || target == "/healthz") {
      if (method != bhttp::verb::get && method != bhttp::verb::head)
        co_return co_await NotAllowed(req);
      co_return co_await Write(JsonResponse(req, bhttp::status::ok, R"({"ok":true})"));
    }
    if (target == "/bench/stats") {
      if (method != bhttp::verb::get) co_return co_await NotAllowed(req);
      co_return co_await Write(JsonResponse(req, bhttp::status::ok, StatsBody()));
    }
    if (target == "/v1/models") {
      if (method != bhttp::verb::get) co_return co_await NotAllowed(req);
      co_return co_await Write(JsonResponse(
          req, bhttp::status::ok,
          R"({"object":"list","data":[{"id":"openclaw","object":"model","created":0,)"
          R"("owned_by":"openclaw"},{"id":"openclaw/default","object":"model","created":0,)"
          R"("owned_by":"openclaw"}]})"));
    }
    if (target == "/v1/chat/completions") {
      if (method != bhttp::verb::post) co_return co_await NotAllowed(req);
      co_return co_await Chat(std::move(req));
    }
    co_return co_await Write(
        JsonResponse(req, bhttp::status::not_found, ErrorBody("not found", "not_found_error")));
  }

  net::awaitable<bool> NotAllowed(const Request& req) {
    return Write(JsonResponse(req, bhttp::status::method_not_allowed,
                              ErrorBody("method not allowed", "invalid_request_error")));
  }

  net::awaitable<bool> Chat(Request req) {
    auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      co_return co_await Write(
          JsonResponse(req, bhttp::status::bad_request,
                       ErrorBody("the body must be a JSON object", "invalid_request_error")));
    }
    auto shape = StreamShapeOf(req, body, *options_);
    if (!shape) {
      co_return co_await Write(JsonResponse(
          req, bhttp::status::bad_request,
          ErrorBody("x-bench-chunks / x-bench-delay-ms and bench.chunks / bench.delayMs must be "
                    "non-negative integers",
                    "invalid_request_error")));
    }
    const long chunks = shape->chunks;
    const long delay_ms = shape->delay_ms;
    auto stream = body.find("stream");
    EventWriter events;
    if (stream == body.end() || !stream->is_boolean() || !stream->get<bool>()) {
      co_return co_await Write(JsonResponse(req, bhttp::status::ok, events.Completion(chunks)));
    }

    OpenStream counted;
    const bool chunked = req.version() >= 11;
    const bool keep_alive = chunked && req.keep_alive();
    std::string out = SseHeader(chunked, keep_alive);
    // The usage event, [DONE] and, when chunked, the last chunk.
    const auto append_end = [&](std::string& to) {
      AppendChunk(to, events.Usage(chunks), chunked);
      AppendChunk(to, EventWriter::Done(), chunked);
      if (chunked) to += "0\r\n\r\n";
    };
    if (delay_ms == 0) {
      const std::string content = events.Content();
      out.reserve(out.size() + static_cast<std::size_t>(chunks) * (content.size() + 8) + 512);
      for (long i = 0; i < chunks; ++i) AppendChunk(out, content, chunked);
      append_end(out);
      if (!co_await WriteRaw(out)) co_return false;
      counted.Complete();
      co_return keep_alive;
    }

    if (!co_await WriteRaw(out)) co_return false;
    net::steady_timer timer(stream_.get_executor());
    const auto delay = std::chrono::milliseconds(delay_ms);
    for (long i = 0; i < chunks; ++i) {
      timer.expires_after(delay);
      beast::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      out.clear();
      AppendChunk(out, events.Content(), chunked);
      if (!co_await WriteRaw(out)) co_return false;
    }
    out.clear();
    append_end(out);
    if (!co_await WriteRaw(out)) co_return false;
    counted.Complete();
    co_return keep_alive;
  }

  net::awaitable<bool> Write(bhttp::response<bhttp::string_body> res) {
    beast::error_code ec;
    stream_.expires_after(kWriteTimeout);
    co_await bhttp::async_write(stream_, res, net::redirect_error(net::use_awaitable, ec));
    co_return !ec && res.keep_alive();
  }

  net::awaitable<bool> WriteRaw(const std::string& bytes) {
    beast::error_code ec;
    stream_.expires_after(kWriteTimeout);
    co_await net::async_write(stream_, net::buffer(bytes),
                              net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<const UpstreamOptions> options_;
};

net::awaitable<void> Accept(std::shared_ptr<tcp::acceptor> acceptor,
                            std::shared_ptr<const UpstreamOptions> options) {
  auto executor = acceptor->get_executor();
  bool warned = false;
  while (acceptor->is_open()) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor->async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors (EMFILE) or the like: back off instead of spinning.
      if (!warned) spdlog::warn("accept failed: {}", ec.message());
      warned = true;
      net::steady_timer pause(executor, 10ms);
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket), options);
    net::co_spawn(executor, Session::Run(std::move(session)), [](std::exception_ptr e) {
      LogCoroutineException("bench_sse_upstream session", e);
    });
  }
}

// Every thread's acceptor binds the same address with SO_REUSEPORT.
std::shared_ptr<tcp::acceptor> OpenAcceptor(net::io_context& ioc, const tcp::endpoint& endpoint) {
  auto acceptor = std::make_shared<tcp::acceptor>(ioc);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(net::socket_base::reuse_address(true));
  acceptor->set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  acceptor->bind(endpoint);
  acceptor->listen(net::socket_base::max_listen_connections);
  return acceptor;
}

int Main(int argc, char** argv) {
  auto options = std::make_shared<UpstreamOptions>();
  if (!ParseOptions(argc, argv, *options)) return 2;
  InitLogging("info");
  RaiseFileLimit();
  const unsigned threads =
      options->threads > 0 ? options->threads : std::max(1u, std::thread::hardware_concurrency());

  beast::error_code ec;
  auto address = net::ip::make_address(options->host, ec);
  if (ec) {
    std::fprintf(stderr, "bench_sse_upstream: invalid listen host %s\n", options->host.c_str());
    return 2;
  }
  const tcp::endpoint endpoint(address, options->port);

  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  try {
    for (unsigned i = 0; i < threads; ++i) {
      contexts.push_back(std::make_unique<net::io_context>(1));
      acceptors.push_back(OpenAcceptor(*contexts.back(), endpoint));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sse_upstream: cannot listen on %s:%u: %s\n", options->host.c_str(),
                 options->port, e.what());
    return 1;
  }
  std::shared_ptr<const UpstreamOptions> shared_options = options;
  for (unsigned i = 0; i < threads; ++i) {
    // co_spawn from inside the context (STYLE.md, "Known traps").
    net::post(*contexts[i], [acceptor = acceptors[i], shared_options, &ioc = *contexts[i]] {
      net::co_spawn(ioc, Accept(acceptor, shared_options), [](std::exception_ptr e) {
        LogCoroutineException("bench_sse_upstream accept loop", e);
      });
    });
  }

  net::signal_set signals(*contexts[0], SIGINT, SIGTERM);
  signals.async_wait([&contexts](const beast::error_code& error, int) {
    if (error) return;
    for (auto& ioc : contexts) ioc->stop();
  });

  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  spdlog::info("listening on {}:{} ({} threads, {} events per stream, {} ms apart, {} files)",
               options->host, options->port, threads, options->chunks, options->delay.count(),
               static_cast<unsigned long long>(files.rlim_cur));

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&ioc = *contexts[i]] { ioc.run(); });
  contexts[0]->run();
  for (auto& ioc : contexts) ioc->stop();
  for (auto& worker : workers) worker.join();
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
