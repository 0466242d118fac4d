#pragma once

#include <boost/asio/ssl.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "common/status.hpp"
#include "llm/destination.hpp"

namespace berth::llm {

// One call berth makes to a provider on an agent's behalf.
struct UpstreamCall {
  bhttp::verb method = bhttp::verb::post;
  std::string url;  // absolute: http(s)://host[:port]/path[?query]
  // Sent as given (the provider's own credential among them); Host, Content-Length and
  // Connection are set by the client.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // The longest silence allowed while the answer is awaited or streams (a model may think long
  // before its first token).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(300)};
};

// Where a provider's answer goes, piece by piece, as it arrives.
class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  // The provider's status and headers. `body_follows`: body bytes have already arrived and go
  // to Body at once (no need to push the head out alone). false: stop (the agent is gone).
  virtual net::awaitable<bool> Head(unsigned status, const bhttp::fields& headers,
                                    bool body_follows) = 0;
  // The body as it arrives: what one wait on the provider's socket brought (up to 16 KiB), at
  // once, never held for more. `last`: the body is whole with this piece, so the sink may keep it
  // to go out with the end of its own answer (one write instead of two). false: stop.
  virtual net::awaitable<bool> Body(std::string_view piece, bool last) = 0;
  // Runs `cancel` (on the call's executor) once the agent is gone, so that a call waiting on a
  // silent provider ends at once instead of at its idle timeout.
  virtual void OnGone(std::function<void()> cancel) = 0;
};

struct ProviderConnection;  // provider_client.cpp

// An absolute http(s) URL, split for a connection.
struct ProviderUrl {
  bool tls = false;
  std::string host;    // without brackets
  std::string port;    // "443" / "80" when the URL has none
  std::string target;  // path and query, "/" at least
  std::string host_header;
};
// kInvalidArgument for anything but http(s)://host[:port][/path][?query] (no user info, no
// fragment, no whitespace or control characters).
Result<ProviderUrl> ParseProviderUrl(std::string_view url);

// berth's HTTP client for providers: resolves the host, connects only to an address the
// DestinationPolicy allows (checked on the address connected to, not the URL: DNS may change),
// verifies TLS against the system's CA bundle and the host name, sends the call and streams the
// answer into the sink as it arrives, never buffered whole. Connections are kept alive and reused
// (per scheme, host and port; at most kMaxIdlePerHost idle, each for kIdleKeep), as a reverse
// proxy's upstream connections are: a new TCP (and TLS) connection per call costs more than the
// call's forwarding. A reused connection's address is checked against the current policy again;
// one the provider closed meanwhile is replaced before anything reaches the sink.
// Thread-safe; each call runs on the caller's executor.
class ProviderClient {
 public:
  // The system CA bundle; kInternal when it cannot be loaded.
  static Result<std::shared_ptr<net::ssl::context>> SystemTlsContext();

  ProviderClient(DestinationPolicy policy, std::shared_ptr<net::ssl::context> tls)
      : policy_(std::make_shared<const DestinationPolicy>(std::move(policy))),
        tls_(std::move(tls)) {}

  // Before the sink's Head: kInvalidArgument (bad URL), kPermissionDenied (every address of the
  // host refused), kUnavailable (no connection, TLS failure, no answer within idle_timeout).
  // After it: Ok when the answer was whole, kUnavailable when the provider cut it or fell
  // silent, kAborted when the sink said stop.
  net::awaitable<Status> Call(const UpstreamCall& call, AnswerSink& sink) const;

  // Replaces the policy (a listener of berth's opened later); calls under way keep theirs.
  void SetPolicy(DestinationPolicy policy);

  static constexpr std::size_t kMaxIdlePerHost = 64;
  static constexpr std::chrono::seconds kIdleKeep{30};
  // Closes every idle connection. Call it before the io_contexts the calls ran on are destroyed
  // (a pooled socket belongs to one): at shutdown, once the server has stopped.
  void CloseIdle();

  // Connections opened so far (for tests and metrics: reuse shows as fewer opens than calls).
  std::size_t connections_opened() const;

 private:
  std::shared_ptr<const DestinationPolicy> Policy() const;
  std::shared_ptr<ProviderConnection> TakeIdle(const std::string& key) const;
  void PutIdle(const std::string& key, std::shared_ptr<ProviderConnection> connection) const;
  net::awaitable<Result<std::shared_ptr<ProviderConnection>>> Open(
      const UpstreamCall& call, const ProviderUrl& url, const DestinationPolicy& policy) const;

  mutable std::mutex mu_;
  std::shared_ptr<const DestinationPolicy> policy_;  // guarded by mu_
  const std::shared_ptr<net::ssl::context> tls_;
  mutable std::mutex pool_mu_;
  // Idle connections by "<scheme>://<host>:<port>", newest last. Guarded by pool_mu_.
  mutable std::map<std::string, std::vector<std::shared_ptr<ProviderConnection>>> idle_;
  mutable std::size_t opened_ = 0;  // guarded by pool_mu_
};

}  // namespace berth::llm
