#include "test_servers.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace berth::docker::testing {
namespace {

namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;

constexpr std::size_t kRecordLimit = 64 * 1024;

int ListenUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Relays one client connection to the engine socket.
template <class ClientStream>
class Session : public std::enable_shared_from_this<Session<ClientStream>> {
 public:
  Session(EngineRelay* relay, ClientStream client, net::io_context& ioc)
      : relay_(relay), client_(std::move(client)), engine_(ioc) {}

  void Start() {
    if constexpr (std::is_same_v<ClientStream, ssl::stream<tcp::socket>>) {
      client_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  self->relay_->HandshakeFailed();
                                  return self->Stop();
                                }
                                self->ConnectEngine();
                              });
    } else {
      ConnectEngine();
    }
  }

 private:
  void ConnectEngine() {
    engine_.async_connect(local::endpoint(relay_->engine_socket()),
                          [self = this->shared_from_this()](beast::error_code ec) {
                            if (ec) return self->Stop();
                            self->Up();
                            self->Down();
                          });
  }

  void Up() {
    client_.async_read_some(net::buffer(up_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Stop();
                              self->relay_->Record(self->up_.data(), n, &self->recorded_);
                              net::async_write(self->engine_, net::buffer(self->up_, n),
                                               [self](beast::error_code ec, std::size_t) {
                                                 if (ec) return self->Stop();
                                                 self->Up();
                                               });
                            });
  }

  void Down() {
    engine_.async_read_some(net::buffer(down_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Stop();
                              net::async_write(self->client_, net::buffer(self->down_, n),
                                               [self](beast::error_code ec, std::size_t) {
                                                 if (ec) return self->Stop();
                                                 self->Down();
                                               });
                            });
  }

  void Stop() {
    beast::error_code ignored;
    engine_.close(ignored);
    beast::get_lowest_layer(client_).close(ignored);
  }

  EngineRelay* relay_;
  ClientStream client_;
  local::socket engine_;
  std::array<char, 16384> up_{};
  std::array<char, 16384> down_{};
  std::size_t recorded_ = 0;
};

bool Run(const std::string& command) {
  const std::string quiet = command + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) == 0) return true;
  std::fprintf(stderr, "failed: %s\n", command.c_str());
  return false;
}

}  // namespace

SilentUnixServer::SilentUnixServer(const std::string& path) : fd_(ListenUnix(path)) {}
SilentUnixServer::~SilentUnixServer() {
  if (fd_ >= 0) ::close(fd_);
}

ScriptedUnixServer::ScriptedUnixServer(const std::string& path, std::string response,
                                       bool hold_open)
    : fd_(ListenUnix(path)), response_(std::move(response)), hold_open_(hold_open) {
  if (fd_ >= 0) thread_ = std::thread([this] { Serve(); });
}

ScriptedUnixServer::~ScriptedUnixServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void ScriptedUnixServer::Serve() {
  std::vector<int> held;
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) continue;
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd c{conn, POLLIN, 0};
      if (::poll(&c, 1, 2000) <= 0) break;
      ssize_t n = ::read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t sent = 0;
    while (sent < response_.size()) {
      ssize_t n = ::send(conn, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (hold_open_) {
      held.push_back(conn);
    } else {
      ::close(conn);
    }
  }
  for (int conn : held) ::close(conn);
}

EngineRelay::EngineRelay(std::string engine_socket, std::shared_ptr<net::ssl::context> tls)
    : engine_socket_(std::move(engine_socket)),
      tls_(std::move(tls)),
      acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { ioc_.run(); });
}

EngineRelay::~EngineRelay() {
  ioc_.stop();
  thread_.join();
}

std::string EngineRelay::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void EngineRelay::Record(const char* data, std::size_t size, std::size_t* recorded) {
  std::lock_guard lock(mu_);
  const std::size_t n = std::min(size, kRecordLimit - std::min(kRecordLimit, *recorded));
  requests_.append(data, n);
  *recorded += n;
}

void EngineRelay::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    if (tls_) {
      std::make_shared<Session<ssl::stream<tcp::socket>>>(
          this, ssl::stream<tcp::socket>(std::move(socket), *tls_), ioc_)
          ->Start();
    } else {
      std::make_shared<Session<tcp::socket>>(this, std::move(socket), ioc_)->Start();
    }
    Accept();
  });
}

bool GenerateTestPki(const std::string& dir) {
  const std::string d = "'" + dir + "'";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
  };
  write("server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  write("client.ext", "extendedKeyUsage=clientAuth\n");
  write("wrongname.ext", "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n");
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto ca = [&](const std::string& name) {
    return Run("openssl req -x509 " + ec + " -days 2 -subj /CN=" + name + " -keyout " + d + "/" +
               name + "-key.pem -out " + d + "/" + name + ".pem");
  };
  auto leaf = [&](const std::string& out, const std::string& key, const std::string& cn,
                  const std::string& ext) {
    return Run("openssl req " + ec + " -subj /CN=" + cn + " -keyout " + d + "/" + key + " -out " +
               d + "/" + out + ".csr") &&
           Run("openssl x509 -req -days 2 -set_serial " + std::to_string(std::rand() + 2) +
               " -in " + d + "/" + out + ".csr -CA " + d + "/ca.pem -CAkey " + d +
               "/ca-key.pem -extfile " + d + "/" + ext + " -out " + d + "/" + out);
  };
  return ca("ca") && ca("other-ca") &&
         leaf("server.pem", "server-key.pem", "localhost", "server.ext") &&
         leaf("cert.pem", "key.pem", "berth-client", "client.ext") &&
         leaf("wrongname.pem", "wrongname-key.pem", "elsewhere.example", "wrongname.ext");
}

std::shared_ptr<net::ssl::context> ServerTlsContext(const std::string& cert, const std::string& key,
                                                    const std::string& client_ca) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain_file(cert);
  ctx->use_private_key_file(key, ssl::context::pem);
  ctx->load_verify_file(client_ca);
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

}  // namespace berth::docker::testing
