#include "llm/provider_client.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <limits>
#include <optional>

namespace berth::llm {

// A connection to a provider, plain or TLS, with one interface for the exchange.
struct ProviderConnection {
  beast::tcp_stream tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;  // takes tcp over once connected
  net::ip::tcp::endpoint endpoint;
  std::chrono::steady_clock::time_point idle_since;
  // Cleared before the connection goes back to the pool: the last caller's "agent gone" no longer
  // closes it.
  std::shared_ptr<std::atomic<bool>> in_use = std::make_shared<std::atomic<bool>>(true);
  explicit ProviderConnection(const net::any_io_executor& executor) : tcp(executor) {}
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : tcp; }
};

namespace {

using tcp = net::ip::tcp;
using net::redirect_error;
using net::use_awaitable;

constexpr std::size_t kPiece = 16 << 10;

bool IsUrlChar(char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0 && c != '#'; }

template <typename Stream>
net::awaitable<Status> Exchange(Stream& stream, beast::tcp_stream& tcp, const UpstreamCall& call,
                                const ProviderUrl& url, AnswerSink& sink, bool* head_seen,
                                bool* reusable) {
  bhttp::request<bhttp::string_body> request{call.method, url.target, 11};
  for (const auto& [name, value] : call.headers) request.set(name, value);
  request.set(bhttp::field::host, url.host_header);
  request.body() = call.body;
  request.prepare_payload();
  beast::error_code ec;
  tcp.expires_after(call.idle_timeout);
  co_await bhttp::async_write(stream, request, redirect_error(use_awaitable, ec));
  if (ec) co_return Unavailable("cannot send to the provider: " + ec.message());

  // Beast reads into what the buffer can hold beyond 512 bytes: an empty buffer would read the
  // answer 512 bytes at a time, and each read would be a write to the agent.
  beast::flat_buffer buffer;
  buffer.reserve(kPiece);
  bhttp::response_parser<bhttp::buffer_body> parser;
  // Not boost::none: Beast 1.74 compares a Content-Length against it as "greater than none",
  // which is always true, and refuses every body of known length.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await bhttp::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, ec));
  if (ec) co_return Unavailable("no answer from the provider: " + ec.message());
  *head_seen = true;
  const auto& head = parser.get();
  if (!co_await sink.Head(head.result_int(), head.base(), buffer.size() > 0)) {
    co_return Aborted("the agent is gone");
  }

  // What one wait on the socket brought goes to the sink in one piece: the parser stops after
  // each chunk of a chunked body, and a write per chunk (a packet each) would cost more than the
  // forwarding itself. So what the buffer already holds is parsed on at once, up to the first
  // element that is not whole yet; nothing waits for more to arrive before it is passed on.
  // (Beast's eager mode would not do: its read_some then waits on the socket for that element.)
  std::array<char, kPiece> piece;
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    tcp.expires_after(call.idle_timeout);
    co_await bhttp::async_read_some(stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    while (!ec && !parser.is_done() && buffer.size() > 0 && parser.get().body().size > 0) {
      beast::error_code more;
      const std::size_t used = parser.put(buffer.data(), more);
      buffer.consume(used);
      if (more == bhttp::error::need_more || more == bhttp::error::need_buffer || used == 0) break;
      if (more) ec = more;
    }
    const std::size_t got = piece.size() - parser.get().body().size;
    if (got > 0 && !co_await sink.Body(std::string_view(piece.data(), got), parser.is_done())) {
      co_return Aborted("the agent is gone");
    }
    if (ec == bhttp::error::end_of_stream && parser.is_done()) break;
    if (ec) co_return Unavailable("the provider's answer was cut: " + ec.message());
  }
  // Whole, and the provider keeps the connection open, with nothing more of it buffered.
  *reusable = parser.is_done() && parser.get().keep_alive() && buffer.size() == 0;
  co_return Status::Ok();
}

// Whether an idle connection is still open and silent: a provider that closed it (or sent
// anything unasked) makes it useless.
bool StillOpen(beast::tcp_stream& tcp) {
  if (!tcp.socket().is_open()) return false;
  char c;
  const ssize_t n = ::recv(tcp.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::string PoolKey(const ProviderUrl& url) {
  return (url.tls ? "https://" : "http://") + url.host + ":" + url.port;
}

}  // namespace

Result<ProviderUrl> ParseProviderUrl(std::string_view url) {
  ProviderUrl out;
  std::string_view rest;
  if (url.substr(0, 8) == "https://") {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else {
    return InvalidArgument("provider URL must start with http:// or https://");
  }
  for (char c : url) {
    if (!IsUrlChar(c)) return InvalidArgument("provider URL has a character URLs cannot hold");
  }
  const std::size_t end = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, end);
  out.target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("provider URL must not hold user information");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("provider URL has a bad host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("provider URL has a bad host");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return InvalidArgument("provider URL has no host");
  if (port.empty() && authority.find(':') != std::string_view::npos && authority.front() != '[') {
    return InvalidArgument("provider URL has an empty port");
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return InvalidArgument("provider URL has a bad port");
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return InvalidArgument("provider URL has a bad port");
    out.port = std::string(port);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.host_header = std::string(authority);
  return out;
}

Result<std::shared_ptr<net::ssl::context>> ProviderClient::SystemTlsContext() {
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  beast::error_code ec;
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                           net::ssl::context::no_tlsv1_1,
                       ec);
  if (!ec) context->set_default_verify_paths(ec);
  if (!ec) context->set_verify_mode(net::ssl::verify_peer, ec);
  if (ec) return Internal("cannot load the system's CA bundle: " + ec.message());
  return context;
}

void ProviderClient::SetPolicy(DestinationPolicy policy) {
  auto next = std::make_shared<const DestinationPolicy>(std::move(policy));
  std::lock_guard lock(mu_);
  policy_ = std::move(next);
}

std::shared_ptr<const DestinationPolicy> ProviderClient::Policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

void ProviderClient::CloseIdle() {
  std::map<std::string, std::vector<std::shared_ptr<ProviderConnection>>> idle;
  {
    std::lock_guard lock(pool_mu_);
    idle.swap(idle_);
  }
}

std::size_t ProviderClient::connections_opened() const {
  std::lock_guard lock(pool_mu_);
  return opened_;
}

std::shared_ptr<ProviderConnection> ProviderClient::TakeIdle(const std::string& key) const {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(pool_mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    std::shared_ptr<ProviderConnection> c = std::move(list.back());
    list.pop_back();
    if (now - c->idle_since < kIdleKeep && StillOpen(c->lowest())) return c;
  }
  idle_.erase(it);
  return nullptr;
}

void ProviderClient::PutIdle(const std::string& key,
                             std::shared_ptr<ProviderConnection> connection) const {
  connection->in_use->store(false);
  connection->idle_since = std::chrono::steady_clock::now();
  connection->lowest().expires_never();
  std::lock_guard lock(pool_mu_);
  auto& list = idle_[key];
  // The oldest go first: they are the likeliest to be closed by the provider.
  std::erase_if(list,
                [&](const auto& c) { return connection->idle_since - c->idle_since >= kIdleKeep; });
  if (list.size() >= kMaxIdlePerHost) list.erase(list.begin());
  list.push_back(std::move(connection));
}

net::awaitable<Result<std::shared_ptr<ProviderConnection>>> ProviderClient::Open(
    const UpstreamCall& call, const ProviderUrl& url, const DestinationPolicy& policy) const {
  const net::any_io_executor executor = co_await net::this_coro::executor;
  beast::error_code ec;
  tcp::resolver resolver(executor);
  const tcp::resolver::results_type found =
      co_await resolver.async_resolve(url.host, url.port, redirect_error(use_awaitable, ec));
  if (ec) co_return Unavailable("cannot resolve the provider's host " + url.host);

  auto connection = std::make_shared<ProviderConnection>(executor);
  Status refused = Status::Ok();
  bool connected = false;
  for (const auto& entry : found) {
    const tcp::endpoint endpoint = entry.endpoint();
    // Judged on the address connected to, never on the name (DNS may answer otherwise next).
    if (Status allowed = policy.Check(endpoint); !allowed.ok()) {
      if (refused.ok()) refused = allowed;
      continue;
    }
    connection->tcp.expires_after(call.connect_timeout);
    co_await connection->tcp.async_connect(endpoint, redirect_error(use_awaitable, ec));
    if (!ec) {
      connection->endpoint = endpoint;
      connected = true;
      break;
    }
  }
  if (!connected) {
    if (!refused.ok()) co_return refused;
    co_return Unavailable("cannot connect to the provider at " + url.host + ":" + url.port);
  }
  connection->tcp.socket().set_option(tcp::no_delay(true), ec);
  {
    std::lock_guard lock(pool_mu_);
    ++opened_;
  }
  if (!url.tls) co_return connection;
  connection->tls.emplace(std::move(connection->tcp), *tls_);
  auto& tls = *connection->tls;
  if (SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str()) != 1) {
    co_return Unavailable("cannot name the provider's host for TLS");
  }
  tls.set_verify_callback(net::ssl::host_name_verification(url.host));
  connection->lowest().expires_after(call.connect_timeout);
  co_await tls.async_handshake(net::ssl::stream_base::client, redirect_error(use_awaitable, ec));
  if (ec) co_return Unavailable("TLS with the provider failed: " + ec.message());
  co_return connection;
}

net::awaitable<Status> ProviderClient::Call(const UpstreamCall& call, AnswerSink& sink) const {
  const std::shared_ptr<const DestinationPolicy> policy = Policy();
  auto url = ParseProviderUrl(call.url);
  if (!url.ok()) co_return url.status();
  const std::string key = PoolKey(*url);
  // A reused connection the provider closed meanwhile fails before the answer's head: then once
  // more on a new one (nothing has reached the sink yet).
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<ProviderConnection> connection = attempt == 0 ? TakeIdle(key) : nullptr;
    if (connection && !policy->Check(connection->endpoint).ok()) connection = nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      net::awaitable<Result<std::shared_ptr<ProviderConnection>>> opening =
          Open(call, *url, *policy);
      auto opened = co_await std::move(opening);
      if (!opened.ok()) co_return opened.status();
      connection = std::move(*opened);
    }
    connection->in_use->store(true);
    sink.OnGone([connection, in_use = connection->in_use] {
      if (in_use->load()) connection->lowest().close();
    });
    bool head_seen = false;
    bool reusable = false;
    Status status;
    if (connection->tls) {
      net::awaitable<Status> secure =
          Exchange(*connection->tls, connection->lowest(), call, *url, sink, &head_seen, &reusable);
      status = co_await std::move(secure);
    } else {
      // Named, not a temporary of the co_await (g++ 12: http/offload.hpp).
      net::awaitable<Status> plain =
          Exchange(connection->tcp, connection->tcp, call, *url, sink, &head_seen, &reusable);
      status = co_await std::move(plain);
    }
    if (!status.ok() && reused && !head_seen && status.code() == ErrorCode::kUnavailable) {
      continue;  // stale: the provider had closed it
    }
    if (status.ok() && reusable) PutIdle(key, std::move(connection));
    co_return status;
  }
}

}  // namespace berth::llm
