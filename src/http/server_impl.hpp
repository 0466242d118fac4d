#pragma once

// Private to the HTTP server: Server::Impl, whose members are defined in server.cpp (listening,
// accepting, the connection registry, shutdown) and server_session.cpp (one connection's
// requests).

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/server.hpp"
#include "http/server_connection.hpp"

namespace berth::http {

using server_detail::BodyBudget;
using server_detail::Clock;
using server_detail::Connection;
using server_detail::ConnectionPtr;
using server_detail::Executor;
using server_detail::Socket;
using server_detail::Strand;
using server_detail::tcp;

struct Server::Impl {
  Impl(ServerOptions options_in, const Router& router_in)
      : options(std::move(options_in)),
        router(router_in),
        threads(options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        max_connections(std::max<std::size_t>(1, options.max_connections)),
        body_budget(options.body_memory_limit),
        header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            options.header_limit, std::numeric_limits<std::uint32_t>::max()))),
        contexts(MakeContexts(threads)),
        control(net::make_strand(*contexts.front())),
        acceptor(control),
        wakeup(control),
        grace(control) {}

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int count) {
    std::vector<std::unique_ptr<net::io_context>> out;
    // A concurrency hint of 1: each context is run by one thread (posting from others is fine).
    for (int i = 0; i < count; ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  Status Listen();
  Status BindTo(const tcp::endpoint& endpoint);
  void Run();
  void RunLoop(net::io_context& context);
  void Stop();
  void ReleaseWork();
  void BeginShutdown();

  net::awaitable<void> AcceptLoop();
  void StartConnection(Socket socket);
  void Unregister(const ConnectionPtr& conn);
  // Closes the longest-open idle connection, to make room at the cap; false when none is idle.
  bool ShedIdle();
  // Answers a request from its head alone (the body, if any, is not read). false: stop serving
  // the connection (the caller lingers when `linger` says so).
  net::awaitable<bool> AnswerHead(ConnectionPtr conn, Request& request, const BeastRequest& head,
                                  bool must_close, Response answer, Clock::time_point start,
                                  bool& linger);
  std::vector<ConnectionPtr> Snapshot();
  net::awaitable<void> Session(ConnectionPtr conn);
  net::awaitable<void> Handle(const Router::Route& route, Request& request, ResponseWriter& writer);
  std::optional<Response> ReadErrorResponse(const beast::error_code& ec);
  void LogAccess(std::string_view method, std::string_view target, unsigned status,
                 Clock::time_point start, const std::string& request_id, const std::string& peer);

  const ServerOptions options;
  const Router& router;
  const int threads;
  const std::size_t max_connections;
  BodyBudget body_budget;
  const std::uint32_t header_limit;

  // Connections are dealt round-robin over these; the first also runs the control strand.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::size_t next_context = 0;  // on the control strand
  // Keep every context running until shutdown: one with no connection yet has no work.
  std::vector<net::executor_work_guard<Executor>> work;  // on the control strand once running
  // Acceptor, wakeup and grace timers are used only on this strand.
  Strand control;
  net::basic_socket_acceptor<tcp, Strand> acceptor;
  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Strand> wakeup;  // paused accepts
  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Strand> grace;   // shutdown grace
  bool listening = false;
  unsigned short port = 0;

  std::atomic<bool> stopping{false};

  std::mutex connections_mu;
  std::list<std::weak_ptr<Connection>> connections;  // guarded by connections_mu
  // Open connections per peer address (those within the limit); guarded by connections_mu.
  std::unordered_map<std::string, std::size_t> per_address;

  std::mutex run_mu;
  std::condition_variable run_cv;
  bool running = false;  // guarded by run_mu
};

}  // namespace berth::http
