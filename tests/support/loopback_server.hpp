#pragma once

#include <memory>
#include <thread>

#include "common/status.hpp"
#include "http/server.hpp"

namespace berth::testing {

// An http::Server on 127.0.0.1 (or `host`) at a free port, serving a router on a thread of its own
// from Start() until Stop() or destruction. Header-only: only tests that link berth's HTTP library
// include it.
class LoopbackServer {
 public:
  LoopbackServer() = default;
  ~LoopbackServer() { Stop(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  Status Start(http::Router& router, int threads = 2, const std::string& host = "127.0.0.1") {
    http::ServerOptions options;
    options.host = host;
    options.port = 0;
    options.threads = threads;
    server_ = std::make_unique<http::Server>(options, router);
    Status listening = server_->Listen();
    if (!listening.ok()) return listening;
    thread_ = std::thread([this] { server_->Run(); });
    return Status::Ok();
  }

  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  unsigned short port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace berth::testing
