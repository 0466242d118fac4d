#pragma once

// A scriptable HTTP/1.1 server for tests that run the test agent (or an image of it): it plays
// berth's config endpoint or an LLM provider. Each connection is served on its own thread, one
// request per connection (answers carry Connection: close). The handler runs on that thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace berth::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string Header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// The answering side of one exchange.
class FakeExchange {
 public:
  explicit FakeExchange(int fd) : fd_(fd) {}
  // A whole answer with Content-Length.
  void Respond(int status, const std::string& body,
               const std::string& content_type = "application/json");
  // A chunked answer: StartChunked, any number of Chunk (each sent at once, one chunk each),
  // EndChunked. Chunk returns false once the peer is gone.
  void StartChunked(int status, const std::string& content_type);
  bool Chunk(std::string_view data);
  void EndChunked();
  // Bytes as given, for answers no well-behaved server sends. false once the peer is gone.
  bool Raw(std::string_view data) { return WriteAll(data); }
  // Waits until the peer closes its side (true) or `timeout` passes (false).
  bool WaitForPeerClose(std::chrono::milliseconds timeout);

 private:
  bool WriteAll(std::string_view data);
  int fd_;
};

class FakeHttpServer {
 public:
  using Handler = std::function<void(const FakeRequest&, FakeExchange&)>;

  // Binds host:0 at once. With listen_now false, connections are refused until Listen().
  explicit FakeHttpServer(Handler handler, const std::string& host = "127.0.0.1",
                          bool listen_now = true);
  // Stops accepting, cuts open connections and joins every thread.
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  void Listen();
  unsigned short port() const { return port_; }
  std::string host() const { return host_; }
  // "http://host:port"
  std::string Url() const;
  std::vector<FakeRequest> Requests() const;
  std::size_t RequestCount() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  std::string host_;
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;  // guarded by mu_
  std::vector<std::thread> workers_;   // guarded by mu_
  std::vector<int> open_fds_;          // guarded by mu_
};

}  // namespace berth::testing
