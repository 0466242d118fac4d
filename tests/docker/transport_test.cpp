// Transport behaviour that needs no engine: connect failures, deadlines, streams, limits.
#include "docker/transport.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "docker/docker_client.hpp"
#include "support/fd_exhaustion.hpp"
#include "support/temp_dir.hpp"
#include "test_servers.hpp"

namespace berth::docker {
namespace {

using berth::testing::TempDir;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::shared_ptr<const Transport> UnixTransport(const std::string& path) {
  EngineEndpoint endpoint;
  endpoint.kind = EngineEndpoint::Kind::kUnix;
  endpoint.socket_path = path;
  auto transport = Transport::Create(endpoint);
  EXPECT_TRUE(transport.ok());
  return *transport;
}

HttpRequest Get(const std::string& target) {
  HttpRequest request;
  request.target = target;
  return request;
}

milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

TEST(Transport, MissingSocketIsUnavailableAtOnceNamingTheEndpoint) {
  TempDir dir;
  const std::string path = dir.File("nothing.sock");
  auto start = Clock::now();
  auto response = UnixTransport(path)->RoundTrip(Get("/version"), milliseconds(5000));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.status().message().find("unix://" + path), std::string::npos)
      << response.status().message();
  EXPECT_NE(response.status().message().find("GET /version"), std::string::npos);
  EXPECT_LT(Since(start), milliseconds(1000));
}

TEST(Transport, SocketWithoutListenerIsUnavailableAtOnce) {
  TempDir dir;
  const std::string path = dir.File("dead.sock");
  // Bound but never listening: connect is refused.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  auto start = Clock::now();
  auto client = DockerClient::Create(*ParseDockerHost(path, "", ""));
  ASSERT_TRUE(client.ok());
  Status status = (*client)->Ping();
  ::close(fd);
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable) << status.ToString();
  EXPECT_NE(status.message().find("refused"), std::string::npos) << status.message();
  EXPECT_LT(Since(start), milliseconds(1000));
}

TEST(Transport, ClosedTcpPortIsUnavailableAtOnce) {
  // Take a free port, then release it: nothing listens there.
  net::io_context ioc;
  net::ip::tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = probe.local_endpoint().port();
  probe.close();
  auto endpoint = ParseDockerHost("tcp://127.0.0.1:" + std::to_string(port), "", "");
  ASSERT_TRUE(endpoint.ok());
  auto transport = Transport::Create(*endpoint);
  ASSERT_TRUE(transport.ok());
  auto start = Clock::now();
  auto response = (*transport)->RoundTrip(Get("/_ping"), milliseconds(5000));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.status().message().find("tcp://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << response.status().message();
  EXPECT_LT(Since(start), milliseconds(1000));
}

TEST(Transport, DeadlineFiresWhenTheServerNeverAnswers) {
  TempDir dir;
  const std::string path = dir.File("silent.sock");
  testing::SilentUnixServer server(path);
  ASSERT_TRUE(server.ok());
  DockerClientOptions options;
  options.call_timeout = milliseconds(200);
  auto client = DockerClient::Create(*ParseDockerHost("unix://" + path, "", ""), options);
  ASSERT_TRUE(client.ok());
  auto start = Clock::now();
  auto version = (*client)->Version();
  const milliseconds took = Since(start);
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(version.status().message().find("no answer within 200 ms"), std::string::npos)
      << version.status().message();
  EXPECT_GE(took, milliseconds(180));
  EXPECT_LT(took, milliseconds(1500));
}

TEST(Transport, StreamHeaderHasADeadline) {
  TempDir dir;
  const std::string path = dir.File("silent.sock");
  testing::SilentUnixServer server(path);
  ASSERT_TRUE(server.ok());
  auto start = Clock::now();
  auto stream = UnixTransport(path)->OpenStream(Get("/events"), milliseconds(200));
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), ErrorCode::kUnavailable);
  EXPECT_LT(Since(start), milliseconds(1500));
}

TEST(Transport, StreamDeliversChunksAndCloseUnblocksARead) {
  TempDir dir;
  const std::string path = dir.File("stream.sock");
  testing::ScriptedUnixServer server(
      path,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\n{\"a\":1\r\n2\r\n}\n\r\n",
      /*hold_open=*/true);
  ASSERT_TRUE(server.ok());
  auto stream = UnixTransport(path)->OpenStream(Get("/events"), milliseconds(2000));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->status(), 200);
  EXPECT_EQ((*stream)->content_type(), "application/json");
  std::string body;
  while (body != "{\"a\":1}\n") {
    auto more = (*stream)->ReadSome(&body);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    ASSERT_TRUE(*more);
  }
  // Nothing more comes: a read blocks until Close() from another thread.
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(200));
    (*stream)->Close();
  });
  auto start = Clock::now();
  auto blocked = (*stream)->ReadSome(&body);
  const milliseconds took = Since(start);
  closer.join();
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(blocked.status().message().find("stream closed"), std::string::npos);
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(1500));
  // Later reads fail at once; Close() is idempotent.
  (*stream)->Close();
  EXPECT_FALSE((*stream)->ReadSome(&body).ok());
}

TEST(Transport, CloseBeforeReadMakesTheReadFailAtOnce) {
  TempDir dir;
  const std::string path = dir.File("stream.sock");
  testing::ScriptedUnixServer server(path, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                     /*hold_open=*/true);
  auto stream = UnixTransport(path)->OpenStream(Get("/events"), milliseconds(2000));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  (*stream)->Close();
  std::string body;
  auto start = Clock::now();
  EXPECT_FALSE((*stream)->ReadSome(&body).ok());
  EXPECT_LT(Since(start), milliseconds(500));
}

TEST(Transport, StreamEndsWhenTheBodyEnds) {
  TempDir dir;
  const std::string path = dir.File("short.sock");
  testing::ScriptedUnixServer server(
      path, "HTTP/1.1 400 Bad Request\r\nContent-Length: 16\r\n\r\n{\"message\":\"no\"}",
      /*hold_open=*/false);
  auto stream = UnixTransport(path)->OpenStream(Get("/events"), milliseconds(2000));
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->status(), 400);
  std::string body;
  for (int i = 0; i < 10; ++i) {
    auto more = (*stream)->ReadSome(&body);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
  }
  EXPECT_EQ(body, "{\"message\":\"no\"}");
}

TEST(Transport, BodyLimitIsEnforced) {
  TempDir dir;
  const std::string path = dir.File("big.sock");
  testing::ScriptedUnixServer server(
      path, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'),
      /*hold_open=*/false);
  auto transport = UnixTransport(path);
  auto small = transport->RoundTrip(Get("/x"), milliseconds(2000), 100);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), ErrorCode::kInternal);
  EXPECT_NE(small.status().message().find("too large"), std::string::npos);
  auto fits = transport->RoundTrip(Get("/x"), milliseconds(2000));
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->body.size(), 1000u);
}

TEST(Transport, GarbageIsNotHttp) {
  TempDir dir;
  const std::string path = dir.File("garbage.sock");
  testing::ScriptedUnixServer server(path, "SSH-2.0-OpenSSH\r\n\r\n", /*hold_open=*/false);
  auto response = UnixTransport(path)->RoundTrip(Get("/x"), milliseconds(2000));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kInternal) << response.status().ToString();
}

TEST(Transport, MissingBodyFileIsInvalidArgument) {
  TempDir dir;
  const std::string path = dir.File("ok.sock");
  testing::ScriptedUnixServer server(path, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
  HttpRequest request = Get("/images/create");
  request.method = bhttp::verb::post;
  request.body_file = dir.File("missing.tar");
  auto response = UnixTransport(path)->RoundTrip(request, milliseconds(2000));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("missing.tar"), std::string::npos);
}

// The engine answers an image import with progress while it still reads the upload. A client that
// wrote the whole body before reading would deadlock once both socket buffers fill: this server
// sends 4 MiB of "progress" after 64 KiB of an 8 MiB upload and reads the rest only afterwards.
TEST(Transport, UploadAndResponseFlowAtTheSameTime) {
  TempDir dir;
  const std::string path = dir.File("import.sock");
  constexpr std::size_t kUpload = 8 * 1024 * 1024;
  constexpr std::size_t kProgress = 4 * 1024 * 1024;
  {
    std::ofstream body(dir.File("rootfs.tar"), std::ios::binary);
    const std::string block(64 * 1024, 'r');
    for (std::size_t i = 0; i < kUpload / block.size(); ++i) body << block;
  }
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::size_t received = 0;
  std::thread server([&] {
    int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) return;
    std::string data;
    char buf[65536];
    auto read_more = [&] {
      ssize_t n = ::read(conn, buf, sizeof(buf));
      if (n > 0) data.append(buf, static_cast<std::size_t>(n));
      return n > 0;
    };
    while (data.find("\r\n\r\n") == std::string::npos && read_more()) {
    }
    const std::size_t head = data.find("\r\n\r\n") + 4;
    while (data.size() - head < 64 * 1024 && read_more()) {
    }
    auto write_all = [&](const std::string& bytes) {
      std::size_t sent = 0;
      while (sent < bytes.size()) {
        ssize_t n = ::send(conn, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
      }
    };
    char size_line[32];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", kProgress);
    write_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size_line) +
              std::string(kProgress, 'p') + "\r\n");
    received = data.size() - head;
    while (received < kUpload) {
      ssize_t n = ::read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
    const std::string last = "received=" + std::to_string(received);
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", last.size());
    write_all(std::string(size_line) + last + "\r\n0\r\n\r\n");
    ::close(conn);
  });
  HttpRequest request = Get("/images/create?fromSrc=-");
  request.method = bhttp::verb::post;
  request.content_type = "application/x-tar";
  request.body_file = dir.File("rootfs.tar");
  auto response = UnixTransport(path)->RoundTrip(request, milliseconds(10000));
  ::shutdown(listener, SHUT_RDWR);
  server.join();
  ::close(listener);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(received, kUpload);
  EXPECT_EQ(response->body.size(), kProgress + std::string("received=8388608").size());
  EXPECT_EQ(response->body.substr(kProgress), "received=8388608");
}

TEST(Transport, TooLongSocketPathIsUnavailableNotACrash) {
  auto response =
      UnixTransport("/tmp/" + std::string(200, 'x'))->RoundTrip(Get("/x"), milliseconds(500));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
}

// Out of descriptors, a call fails with an error (the io_context it needs cannot be made):
// berth must not abort, as it once did when a flood of connections used up its limit.
TEST(Transport, OutOfDescriptorsIsAnErrorNotAnAbort) {
  auto transport = UnixTransport("/nonexistent/berth-test.sock");
  Result<HttpResponse> response = Unavailable("not called");
  Result<std::unique_ptr<ResponseStream>> stream = Unavailable("not called");
  bool exhausted = false;
  {
    berth::testing::FdExhaustion no_fds;
    exhausted = no_fds.exhausted();
    response = transport->RoundTrip(Get("/_ping"), milliseconds(1000));
    stream = transport->OpenStream(Get("/events"), milliseconds(1000));
  }
  ASSERT_TRUE(exhausted);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.status().message().find("Too many open files"), std::string::npos)
      << response.status().message();
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), ErrorCode::kUnavailable);
  // And once descriptors are free again, the same transport works as before (no engine here:
  // it fails to connect, with the usual error).
  auto after = transport->RoundTrip(Get("/_ping"), milliseconds(1000));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().message().find("Too many open files"), std::string::npos);
}

}  // namespace
}  // namespace berth::docker
