#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/asio.hpp"

// In-test servers for the transport tests.
namespace berth::docker::testing {

// A unix socket that accepts connections into its backlog and never answers.
class SilentUnixServer {
 public:
  explicit SilentUnixServer(const std::string& path);
  ~SilentUnixServer();
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// A unix socket server answering every connection with `response` (raw bytes) after reading the
// request head; then holds the connection open until destroyed when `hold_open`, else closes it.
class ScriptedUnixServer {
 public:
  ScriptedUnixServer(const std::string& path, std::string response, bool hold_open);
  ~ScriptedUnixServer();
  bool ok() const { return fd_ >= 0; }

 private:
  void Serve();

  int fd_ = -1;
  std::string response_;
  bool hold_open_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A TCP listener on 127.0.0.1 that relays each connection to a unix socket (the engine), with TLS
// terminated here when `tls` is given. Records what clients sent (first 64 KiB per connection).
class EngineRelay {
 public:
  EngineRelay(std::string engine_socket, std::shared_ptr<net::ssl::context> tls = nullptr);
  ~EngineRelay();

  unsigned short port() const { return port_; }
  std::string Requests() const;
  int handshake_failures() const { return handshake_failures_; }
  // Waits up to `timeout` for at least `n` failed handshakes. Under TLS 1.3 the client finishes
  // its side first and may see the server's alert before this relay has counted the failure.
  bool AwaitHandshakeFailures(int n, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (handshake_failures_ < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return handshake_failures_ >= n;
  }

  // Called by sessions.
  void Record(const char* data, std::size_t size, std::size_t* recorded);
  void HandshakeFailed() { ++handshake_failures_; }
  const std::string& engine_socket() const { return engine_socket_; }

 private:
  void Accept();

  std::string engine_socket_;
  std::shared_ptr<net::ssl::context> tls_;
  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  mutable std::mutex mu_;
  std::string requests_;  // guarded by mu_
  std::atomic<int> handshake_failures_{0};
  std::thread thread_;
};

// Writes a test PKI into `dir` with the openssl CLI (EC P-256 keys, valid for 2 days):
//   ca.pem/ca-key.pem            the CA
//   server.pem/server-key.pem    server cert for DNS:localhost, IP:127.0.0.1 (serverAuth)
//   cert.pem/key.pem             client cert (clientAuth)
//   other-ca.pem/other-ca-key.pem  an unrelated CA
//   wrongname.pem/wrongname-key.pem  server cert for DNS:elsewhere.example only
// Returns false (with the failing command on stderr) when openssl fails.
bool GenerateTestPki(const std::string& dir);

// A server TLS context with `cert`/`key`, requiring a client certificate signed by `client_ca`.
std::shared_ptr<net::ssl::context> ServerTlsContext(const std::string& cert, const std::string& key,
                                                    const std::string& client_ca);

}  // namespace berth::docker::testing
