#include "http/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace berth::http {
namespace {

using namespace std::chrono_literals;
using berth::testing::HttpRequest;
using berth::testing::HttpResult;
using berth::testing::RawExchange;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kHost = "127.0.0.1";

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A keep-alive client connection with a deadline on every operation, for tests that need to
// see several requests share one connection or watch the server close it.
class TestConnection {
 public:
  explicit TestConnection(unsigned short port) : stream_(ioc_) {
    stream_.expires_after(5s);
    tcp::endpoint endpoint(net::ip::make_address(kHost), port);
    connected_ = !RunOp([&](auto handler) { stream_.async_connect(endpoint, std::move(handler)); });
  }

  bool connected() const { return connected_; }

  // One request on this connection; a response with status 0 on any error.
  bhttp::response<bhttp::string_body> Send(bhttp::verb method, const std::string& target,
                                           const std::string& body = "") {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, kHost);
    req.body() = body;
    req.prepare_payload();
    stream_.expires_after(5s);
    bhttp::response<bhttp::string_body> res;
    if (RunOp([&](auto handler) { bhttp::async_write(stream_, req, std::move(handler)); })) {
      return res;
    }
    if (RunOp(
            [&](auto handler) { bhttp::async_read(stream_, buffer_, res, std::move(handler)); })) {
      res = {};
      res.result(0);
    }
    return res;
  }

  // True when the server closes the connection within `timeout`.
  bool WaitForClose(std::chrono::seconds timeout) {
    stream_.expires_after(timeout);
    char byte;
    beast::error_code ec = RunOp(
        [&](auto handler) { stream_.async_read_some(net::buffer(&byte, 1), std::move(handler)); });
    return ec && ec != beast::error::timeout;
  }

  void Close() { stream_.close(); }

 private:
  template <typename Initiate>
  beast::error_code RunOp(Initiate initiate) {
    beast::error_code result;
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    router_.Add(bhttp::verb::get, "/hello", [](Request&) {
      return JsonResponse(bhttp::status::ok, {{"hello", "world"}});
    });
    router_.Add(bhttp::verb::post, "/echo", [](Request& request) {
      nlohmann::json body = nlohmann::json::parse(request.raw.body(), nullptr, false);
      if (body.is_discarded()) return ErrorResponse(InvalidArgument("body is not JSON"));
      return JsonResponse(bhttp::status::ok, {{"got", body}, {"request_id", request.request_id}});
    });
    router_.Add(bhttp::verb::get, "/peer", [](Request& request) {
      return JsonResponse(bhttp::status::ok, {{"peer", request.peer}});
    });
    router_.Add(bhttp::verb::get, "/token", [](Request& request) {
      std::optional<std::string> token = request.BearerToken();
      return JsonResponse(bhttp::status::ok,
                          {{"token", token ? nlohmann::json(*token) : nlohmann::json()}});
    });
    router_.Add(bhttp::verb::get, "/throw", [](Request&) -> Response {
      throw std::runtime_error("secret detail from the database layer");
    });
    router_.Add(bhttp::verb::get, "/unauthorized",
                [](Request&) { return ErrorResponse(Unauthenticated("Missing Bearer token")); });
    router_.Add(bhttp::verb::get, "/slow", [this](Request&) {
      slow_started_.set_value();
      std::this_thread::sleep_for(500ms);
      return JsonResponse(bhttp::status::ok, {{"slow", true}});
    });
  }

  ~ServerTest() override {
    if (thread_.joinable()) {
      server_->Stop();
      thread_.join();
    }
  }

  static ServerOptions Options() {
    ServerOptions options;
    options.host = kHost;
    options.port = 0;
    options.threads = 2;
    options.body_limit = 4096;
    options.header_limit = 2048;
    options.read_timeout = 5s;
    options.idle_timeout = 5s;
    options.shutdown_grace = 5s;
    return options;
  }

  void Start(ServerOptions options = Options()) {
    server_ = std::make_unique<Server>(std::move(options), router_);
    Status status = server_->Listen();
    ASSERT_TRUE(status.ok()) << status.ToString();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { server_->Run(); });
  }

  // Stops the server and returns how long Run() took to return.
  double StopAndJoin() {
    auto start = SteadyClock::now();
    server_->Stop();
    thread_.join();
    return SecondsSince(start);
  }

  HttpResult Get(const std::string& target,
                 const std::map<std::string, std::string>& headers = {}) {
    return HttpRequest("GET", kHost, port_, target, "", headers);
  }

  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::promise<void> slow_started_;
};

bool LooksGenerated(const std::string& id) {
  return std::regex_match(id, std::regex("[A-Za-z0-9_-]{22}"));
}

TEST_F(ServerTest, JsonRoundTrip) {
  Start();
  HttpResult res = HttpRequest("POST", kHost, port_, "/echo", R"({"a":[1,2,{"b":"c"}]})");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.headers["content-type"], "application/json");
  EXPECT_EQ(res.headers["server"], "berth");
  EXPECT_EQ(res.headers["content-length"], std::to_string(res.body.size()));
  EXPECT_EQ(res.Json()["got"], nlohmann::json::parse(R"({"a":[1,2,{"b":"c"}]})"));
  EXPECT_EQ(res.Json()["request_id"], res.headers["x-request-id"]);
}

TEST_F(ServerTest, NotFoundAndErrorsCarryStandardHeaders) {
  Start();
  HttpResult res = Get("/missing?token=abc");
  ASSERT_EQ(res.status, 404);
  EXPECT_EQ(res.Json()["error"]["code"], "not_found");
  EXPECT_EQ(res.Json()["error"]["message"], "no route for /missing");
  EXPECT_EQ(res.headers["server"], "berth");
  EXPECT_TRUE(res.headers.count("content-length"));
  EXPECT_TRUE(LooksGenerated(res.headers["x-request-id"]));

  HttpResult unauthorized = Get("/unauthorized");
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_EQ(unauthorized.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(unauthorized.Json()["error"]["code"], "unauthenticated");

  HttpResult wrong_method = HttpRequest("DELETE", kHost, port_, "/hello");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "GET");
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  TestConnection conn(port_);
  ASSERT_TRUE(conn.connected());
  std::string first_peer;
  for (int i = 0; i < 5; ++i) {
    auto res = conn.Send(bhttp::verb::get, "/peer");
    ASSERT_EQ(res.result_int(), 200u) << "request " << i;
    EXPECT_TRUE(res.keep_alive());
    std::string peer = nlohmann::json::parse(res.body())["peer"];
    if (i == 0) first_peer = peer;
    EXPECT_EQ(peer, first_peer);  // same client port: same connection
  }
  EXPECT_TRUE(first_peer.starts_with("127.0.0.1:"));
  auto echo = conn.Send(bhttp::verb::post, "/echo", R"({"x":1})");
  EXPECT_EQ(echo.result_int(), 200u);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  std::string out = RawExchange(kHost, port_,
                                "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::size_t first = out.find("HTTP/1.1 200");
  std::size_t second = out.find("HTTP/1.1 404");
  std::size_t third = out.find("HTTP/1.1 200", first + 1);
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(second, std::string::npos) << out;
  ASSERT_NE(third, std::string::npos) << out;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(ServerTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
  Start();
  auto start = SteadyClock::now();
  std::string out = RawExchange(kHost, port_, "GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.0 200")) << out;
  EXPECT_NE(out.find(R"({"hello":"world"})"), std::string::npos);
  EXPECT_LT(SecondsSince(start), 3.0);  // closed by the server, not the client's deadline
}

TEST_F(ServerTest, BodyOverLimitGets413Json) {
  Start();
  // Megabytes more than the limit: the server answers without reading the body, then drains it
  // so that closing does not reset the connection before the client reads the answer.
  HttpResult res = HttpRequest("POST", kHost, port_, "/echo", std::string(8 << 20, 'x'));
  ASSERT_EQ(res.status, 413);
  EXPECT_EQ(res.Json()["error"]["code"], "payload_too_large");
  EXPECT_EQ(res.headers["connection"], "close");
  // At the limit is fine.
  std::string at_limit = "\"" + std::string(4094, 'y') + "\"";
  EXPECT_EQ(HttpRequest("POST", kHost, port_, "/echo", at_limit).status, 200);
}

TEST_F(ServerTest, ChunkedBodyOverLimitGets413Json) {
  Start();
  std::string chunk(3000, 'z');
  std::string out =
      RawExchange(kHost, port_,
                  "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "bb8\r\n" +
                      chunk + "\r\nbb8\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413")) << out;
  EXPECT_NE(out.find(R"("code":"payload_too_large")"), std::string::npos) << out;
}

TEST_F(ServerTest, ExpectContinueWithOversizedBodyGets413WithoutSendingIt) {
  Start();
  std::string out = RawExchange(kHost, port_,
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                                "Expect: 100-continue\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413")) << out;
}

TEST_F(ServerTest, ExpectContinueIsHonored) {
  Start();
  std::string out = RawExchange(kHost, port_,
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
                                "Expect: 100-continue\r\nConnection: close\r\n\r\n{\"x\":1}");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")) << out;
}

TEST_F(ServerTest, HeaderOverLimitGets431Json) {
  Start();
  HttpResult res = Get("/hello", {{"X-Big", std::string(4000, 'h')}});
  ASSERT_EQ(res.status, 431);
  EXPECT_EQ(res.Json()["error"]["code"], "headers_too_large");
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(ServerTest, MalformedRequestGets400JsonAndClose) {
  Start();
  for (const char* bytes : {"THIS IS NOT HTTP\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n",
                            "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
                            "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    SCOPED_TRACE(bytes);
    auto start = SteadyClock::now();
    std::string out = RawExchange(kHost, port_, bytes);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
    EXPECT_NE(out.find(R"({"error":{"code":"invalid_argument","message":"malformed request)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos);
    EXPECT_LT(SecondsSince(start), 4.0);
  }
}

TEST_F(ServerTest, HandlerExceptionGets500GenericAndServerKeepsServing) {
  Start();
  HttpResult res = Get("/throw");
  ASSERT_EQ(res.status, 500);
  nlohmann::json expected = {
      {"error", {{"code", "internal"}, {"message", "internal error"}, {"type", "server_error"}}}};
  EXPECT_EQ(res.Json(), expected);
  EXPECT_EQ(res.body.find("secret"), std::string::npos);
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(ServerTest, GeneratesRequestIdWhenAbsentOrInvalid) {
  Start();
  std::string a = Get("/hello").headers["x-request-id"];
  std::string b = Get("/hello").headers["x-request-id"];
  EXPECT_TRUE(LooksGenerated(a)) << a;
  EXPECT_TRUE(LooksGenerated(b)) << b;
  EXPECT_NE(a, b);
  for (const std::string& bad : {std::string("has space"), std::string("semi;colon"),
                                 std::string(65, 'a'), std::string("")}) {
    std::string id = Get("/hello", {{"X-Request-Id", bad}}).headers["x-request-id"];
    EXPECT_NE(id, bad);
    EXPECT_TRUE(LooksGenerated(id)) << id;
  }
}

TEST_F(ServerTest, EchoesValidClientRequestId) {
  Start();
  for (const std::string& good : {std::string("abc-123._XYZ"), std::string(64, 'z')}) {
    HttpResult res = HttpRequest("POST", kHost, port_, "/echo", "{}", {{"X-Request-Id", good}});
    EXPECT_EQ(res.headers["x-request-id"], good);
    EXPECT_EQ(res.Json()["request_id"], good);  // the handler saw it too
  }
}

TEST_F(ServerTest, BearerTokenReachesHandler) {
  Start();
  EXPECT_EQ(Get("/token", {{"Authorization", "Bearer tok-1"}}).Json()["token"], "tok-1");
  EXPECT_EQ(Get("/token", {{"Authorization", "bearer tok-2"}}).Json()["token"], "tok-2");
  EXPECT_TRUE(Get("/token", {{"Authorization", "Basic abc"}}).Json()["token"].is_null());
  EXPECT_TRUE(Get("/token", {{"Authorization", "Bearer a b"}}).Json()["token"].is_null());
  EXPECT_TRUE(Get("/token").Json()["token"].is_null());
}

TEST_F(ServerTest, IdleKeepAliveConnectionClosedAfterIdleTimeout) {
  ServerOptions options = Options();
  options.idle_timeout = 1s;
  Start(options);
  TestConnection conn(port_);
  ASSERT_EQ(conn.Send(bhttp::verb::get, "/hello").result_int(), 200u);
  auto start = SteadyClock::now();
  EXPECT_TRUE(conn.WaitForClose(5s));
  double elapsed = SecondsSince(start);
  EXPECT_GT(elapsed, 0.5);
  EXPECT_LT(elapsed, 3.0);
}

TEST_F(ServerTest, SilentClientClosedAfterIdleTimeout) {
  ServerOptions options = Options();
  options.idle_timeout = 1s;
  Start(options);
  auto start = SteadyClock::now();
  EXPECT_EQ(RawExchange(kHost, port_, ""), "");
  EXPECT_LT(SecondsSince(start), 3.0);
}

TEST_F(ServerTest, ClientStallingMidRequestIsClosedAfterReadTimeout) {
  ServerOptions options = Options();
  options.read_timeout = 1s;
  Start(options);
  auto start = SteadyClock::now();
  EXPECT_EQ(RawExchange(kHost, port_, "GET /hello HTTP/1.1\r\nHost: x\r\n"), "");
  double elapsed = SecondsSince(start);
  EXPECT_GT(elapsed, 0.5);
  EXPECT_LT(elapsed, 3.0);
}

TEST_F(ServerTest, StopLetsInFlightRequestFinish) {
  Start();
  std::future<HttpResult> slow = std::async(std::launch::async, [this] { return Get("/slow"); });
  slow_started_.get_future().wait();
  double stop_seconds = StopAndJoin();
  HttpResult res = slow.get();
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.Json()["slow"], true);
  EXPECT_EQ(res.headers["connection"], "close");
  EXPECT_LT(stop_seconds, 3.0);
  // The acceptor is closed.
  EXPECT_EQ(Get("/hello").status, 0);
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnectionsAtOnce) {
  Start();  // idle_timeout 5 s, shutdown_grace 5 s
  TestConnection conn(port_);
  ASSERT_EQ(conn.Send(bhttp::verb::get, "/hello").result_int(), 200u);
  double stop_seconds = StopAndJoin();
  EXPECT_LT(stop_seconds, 1.0);
  EXPECT_TRUE(conn.WaitForClose(2s));
}

TEST_F(ServerTest, StopForceClosesStalledRequestsAfterGrace) {
  ServerOptions options = Options();
  options.shutdown_grace = 1s;
  options.read_timeout = 30s;
  Start(options);
  // A request that started (its first bytes arrived) but never completes.
  std::future<std::string> stalled = std::async(std::launch::async, [this] {
    return RawExchange(kHost, port_, "GET /hello HTTP/1.1\r\nHost: x\r\n");
  });
  std::this_thread::sleep_for(200ms);  // let the server read the partial request
  double stop_seconds = StopAndJoin();
  EXPECT_GT(stop_seconds, 0.7);
  EXPECT_LT(stop_seconds, 3.0);
  EXPECT_EQ(stalled.get(), "");
}

TEST_F(ServerTest, StopBeforeRunMakesRunReturn) {
  server_ = std::make_unique<Server>(Options(), router_);
  ASSERT_TRUE(server_->Listen().ok());
  server_->Stop();
  auto start = SteadyClock::now();
  server_->Run();
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST_F(ServerTest, DestructorStopsARunningServer) {
  Start();
  ASSERT_EQ(Get("/hello").status, 200);
  server_.reset();  // waits for Run() to return
  thread_.join();
}

TEST_F(ServerTest, ConcurrentRequestsFromSeveralClientsAreAllAnswered) {
  Start();
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      TestConnection conn(port_);  // half keep-alive, half one connection per request
      for (int i = 0; i < kRequestsEach; ++i) {
        if (c % 2 == 0) {
          std::string body = nlohmann::json{{"c", c}, {"i", i}}.dump();
          auto res = conn.Send(bhttp::verb::post, "/echo", body);
          if (res.result_int() == 200 &&
              nlohmann::json::parse(res.body())["got"] == nlohmann::json::parse(body)) {
            ++ok;
          }
        } else if (HttpRequest("GET", kHost, port_, "/hello").status == 200) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
}

TEST_F(ServerTest, MaxConnectionsPausesAcceptingUntilOneCloses) {
  ServerOptions options = Options();
  options.max_connections = 1;
  Start(options);
  auto holder = std::make_unique<TestConnection>(port_);
  ASSERT_EQ(holder->Send(bhttp::verb::get, "/hello").result_int(), 200u);

  std::atomic<bool> answered{false};
  std::future<HttpResult> waiting = std::async(std::launch::async, [&] {
    HttpResult res = Get("/hello");
    answered = true;
    return res;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(answered.load());  // connected (backlog) but not accepted
  holder->Close();
  EXPECT_EQ(waiting.get().status, 200);
}

TEST_F(ServerTest, AccessLogHasPathStatusAndIdButNoQueryOrHeaders) {
  auto previous = spdlog::default_logger();
  auto out = std::make_shared<std::ostringstream>();
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*out));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  Start();
  HttpResult res = Get("/hello?api_key=secret-query",
                       {{"Authorization", "Bearer secret-header"}, {"X-Request-Id", "req-42"}});
  HttpResult thrown = Get("/throw");
  StopAndJoin();
  spdlog::set_default_logger(previous);

  ASSERT_EQ(res.status, 200);
  std::string log = out->str();
  EXPECT_NE(log.find("GET /hello 200"), std::string::npos) << log;
  EXPECT_NE(log.find("id=req-42"), std::string::npos) << log;
  EXPECT_NE(log.find("peer=127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("GET /throw 500"), std::string::npos) << log;
  EXPECT_NE(log.find("secret detail from the database layer"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-query"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-header"), std::string::npos) << log;
}

TEST(ServerListen, PortTakenIsUnavailable) {
  Router router;
  ServerOptions options;
  options.host = kHost;
  options.port = 0;
  Server first(options, router);
  ASSERT_TRUE(first.Listen().ok());
  options.port = first.port();
  Server second(options, router);
  Status status = second.Listen();
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable) << status.ToString();
}

TEST(ServerListen, BadAddressIsInvalidArgument) {
  Router router;
  for (const char* host : {"not a host", "", "192.0.2.1" /* TEST-NET-1: never local */}) {
    SCOPED_TRACE(host);
    ServerOptions options;
    options.host = host;
    options.port = 0;
    Server server(options, router);
    EXPECT_EQ(server.Listen().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ServerListen, ResolvesHostNames) {
  Router router;
  ServerOptions options;
  options.host = "localhost";
  options.port = 0;
  Server server(options, router);
  Status status = server.Listen();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_NE(server.port(), 0);
}

TEST(ServerListen, ServesOnIpv6Loopback) {
  Router router;
  router.Add(bhttp::verb::get, "/hello", [](Request&) {
    return JsonResponse(bhttp::status::ok, {{"v6", true}});
  });
  ServerOptions options;
  options.host = "::1";
  options.port = 0;
  options.threads = 1;
  Server server(options, router);
  if (!server.Listen().ok()) GTEST_SKIP() << "no IPv6 loopback here";
  std::thread runner([&] { server.Run(); });
  HttpResult res = HttpRequest("GET", "::1", server.port(), "/hello");
  server.Stop();
  runner.join();
  EXPECT_EQ(res.status, 200);
}

}  // namespace
}  // namespace berth::http
