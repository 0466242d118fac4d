#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "common/logging.hpp"
#include "http/server_impl.hpp"

namespace berth::http {

using namespace server_detail;  // NOLINT: the server's own helpers

Status Server::Impl::Listen() {
  if (listening) return InvalidArgument("http server is already listening");
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::vector<tcp::endpoint> endpoints;
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(address, options.port);
  } else {
    if (!IsValidHostName(host)) {
      return InvalidArgument("invalid listen address \"" + options.host + "\"");
    }
    tcp::resolver resolver(*contexts.front());
    auto results = resolver.resolve(host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) return InvalidArgument("cannot resolve listen host \"" + host + "\": " + ec.message());
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) return InvalidArgument("listen host \"" + host + "\" has no address");
  }
  Status last;
  for (const tcp::endpoint& endpoint : endpoints) {
    last = BindTo(endpoint);
    if (last.ok()) {
      listening = true;
      port = acceptor.local_endpoint().port();
      return Status::Ok();
    }
  }
  return last;
}

Status Server::Impl::BindTo(const tcp::endpoint& endpoint) {
  const std::string where = FormatEndpoint(endpoint);
  beast::error_code ec;
  auto fail = [&](ErrorCode code, const std::string& what) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return Status(code, "cannot " + what + " " + where + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "open a socket for");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail(ErrorCode::kUnavailable, "set SO_REUSEADDR on");
  acceptor.bind(endpoint, ec);
  if (ec == boost::system::errc::address_not_available)
    return fail(ErrorCode::kInvalidArgument, "bind");
  if (ec) return fail(ErrorCode::kUnavailable, "bind");  // in use, or a privileged port
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "listen on");
  return Status::Ok();
}

void Server::Impl::Run() {
  {
    std::lock_guard lock(run_mu);
    running = true;
  }
  // co_spawn from a thread that is not running the io_context has crashed on Boost 1.74
  // (STYLE.md): spawn the accept loop from inside the context.
  net::post(control, [this] {
    net::co_spawn(control, AcceptLoop(), [](std::exception_ptr e) {
      LogCoroutineException("http server: accept loop", e);
    });
  });
  for (auto& context : contexts) work.push_back(net::make_work_guard(*context));
  std::vector<std::thread> pool;
  pool.reserve(contexts.size() - 1);
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    pool.emplace_back([this, i] { RunLoop(*contexts[i]); });
  }
  RunLoop(*contexts.front());
  for (std::thread& t : pool) t.join();
  // Jobs still queued belong to sessions of these loops: drop them while the loops exist.
  if (options.work_pool) options.work_pool->Shutdown();
  std::lock_guard lock(run_mu);
  running = false;
  run_cv.notify_all();  // under the lock: ~Server may destroy run_cv as soon as it sees !running
}

void Server::Impl::RunLoop(net::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http server: io_context handler threw: {}", e.what());
    } catch (...) {
      spdlog::error("http server: io_context handler threw an unknown exception");
    }
  }
}

void Server::Impl::Stop() {
  if (stopping.exchange(true)) return;
  net::post(control, [this] { BeginShutdown(); });
}

// On the control strand, after `stopping` was set.
void Server::Impl::BeginShutdown() {
  beast::error_code ec;
  acceptor.close(ec);
  wakeup.cancel();
  std::vector<ConnectionPtr> live = Snapshot();
  if (live.empty()) return ReleaseWork();
  for (const ConnectionPtr& conn : live) {
    // A connection between requests has nothing in flight; one mid-request finishes it and then
    // closes, since its response carries Connection: close.
    net::post(conn->stream.get_executor(), [conn] {
      if (conn->idle) CloseConnection(*conn);
    });
  }
  grace.expires_after(options.shutdown_grace);
  // Cancelled by Unregister() when the last connection goes; either way, whatever is left now
  // has had its grace.
  grace.async_wait([this](beast::error_code) {
    for (const ConnectionPtr& conn : Snapshot()) {
      net::post(conn->stream.get_executor(), [conn] { CloseConnection(*conn); });
    }
    ReleaseWork();
  });
}

// On the control strand: each context returns from run() once what is still pending on it
// (a connection being closed) completes.
void Server::Impl::ReleaseWork() { work.clear(); }

std::vector<ConnectionPtr> Server::Impl::Snapshot() {
  std::vector<ConnectionPtr> out;
  std::lock_guard lock(connections_mu);
  out.reserve(connections.size());
  for (const auto& weak : connections) {
    if (ConnectionPtr conn = weak.lock()) out.push_back(std::move(conn));
  }
  return out;
}

net::awaitable<void> Server::Impl::AcceptLoop() {
  beast::error_code ec;
  // Not const: Boost 1.74's redirect_error cannot forward a const token.
  auto token = net::redirect_error(net::use_awaitable, ec);
  while (!stopping.load()) {
    std::size_t count;
    {
      std::lock_guard lock(connections_mu);
      count = connections.size();
    }
    if (count >= max_connections) {
      // Idle keep-alive connections make room first; when none is idle, wait for one to close.
      ShedIdle();
      // Unregister() cancels this wait when a connection closes. It posts that cancel to this
      // strand after updating the count, so it either runs before the check above (which then
      // sees the lower count) or after the wait began (and ends it).
      wakeup.expires_at(Clock::time_point::max());
      co_await wakeup.async_wait(token);
      continue;
    }
    net::io_context& context = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    Socket socket = co_await acceptor.async_accept(context.get_executor(), token);
    if (stopping.load()) break;
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) break;
      // Typically EMFILE/ENFILE: back off instead of spinning on the error.
      spdlog::warn("http server: accept failed: {}", ec.message());
      wakeup.expires_after(std::chrono::milliseconds(100));
      co_await wakeup.async_wait(token);
      continue;
    }
    StartConnection(std::move(socket));
  }
}

void Server::Impl::StartConnection(Socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  tcp::endpoint remote = socket.remote_endpoint(ec);
  auto conn = std::make_shared<Connection>(std::move(socket));
  conn->peer = ec ? std::string("unknown") : FormatEndpoint(remote);
  conn->address = ec ? std::string("unknown") : FormatAddress(remote);
  {
    std::lock_guard lock(connections_mu);
    conn->position = connections.insert(connections.end(), conn);
    if (options.max_connections_per_address > 0) {
      std::size_t& open = per_address[conn->address];
      if (open >= options.max_connections_per_address) {
        conn->over_address_limit = true;
      } else {
        ++open;
      }
    }
  }
  net::co_spawn(conn->stream.get_executor(), Session(conn), [this, conn](std::exception_ptr e) {
    LogCoroutineException("http server: connection", e);
    Unregister(conn);
  });
}

void Server::Impl::Unregister(const ConnectionPtr& conn) {
  std::size_t remaining;
  {
    std::lock_guard lock(connections_mu);
    connections.erase(conn->position);
    remaining = connections.size();
    if (options.max_connections_per_address > 0 && !conn->over_address_limit) {
      auto it = per_address.find(conn->address);
      if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    }
  }
  if (remaining + 1 == max_connections) net::post(control, [this] { wakeup.cancel(); });
  if (remaining == 0 && stopping.load()) net::post(control, [this] { grace.cancel(); });
}

bool Server::Impl::ShedIdle() {
  std::lock_guard lock(connections_mu);
  for (const auto& weak : connections) {
    ConnectionPtr conn = weak.lock();
    if (!conn || !conn->idle.load()) continue;
    net::post(conn->stream.get_executor(), [conn] {
      // It may have begun a request meanwhile: then it is not idle any more, and stays.
      if (conn->idle.load() && !conn->closed) CloseConnection(*conn);
    });
    return true;
  }
  return false;
}

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() {
  impl_->Stop();
  std::unique_lock lock(impl_->run_mu);
  impl_->run_cv.wait(lock, [this] { return !impl_->running; });
}

Status Server::Listen() { return impl_->Listen(); }

unsigned short Server::port() const { return impl_->port; }

void Server::Run() { impl_->Run(); }

void Server::Stop() { impl_->Stop(); }

}  // namespace berth::http
