// GatewayExchange and GatewayPool against a real HTTP server: berth's own (http::Server with a
// streaming route), which keeps connections alive the way the gateway does.

#include "proxy/gateway_exchange.hpp"

#include <gmock/gmock.h>

#include <future>
#include <set>
#include <thread>

#include "http/server.hpp"
#include "mocks/fake_clock.hpp"
#include "proxy/agent_events.hpp"
#include "support/loopback_server.hpp"

namespace berth::proxy {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A gateway stand-in: POST /stream answers "data: 1", then after `gap` "data: 2"; the peers it
// served are recorded so that a test can tell a reused connection from a new one.
class FakeGateway {
 public:
  explicit FakeGateway(std::chrono::milliseconds gap) : gap_(gap) {
    router_.AddStream(bhttp::verb::post, "/stream",
                      [this](http::Request& request, http::ResponseWriter& writer) {
                        return Serve(request, writer);
                      });
    EXPECT_TRUE(server_.Start(router_).ok());
  }
  unsigned short port() const { return server_.port(); }
  std::set<std::string> peers() {
    std::lock_guard lock(mu_);
    return peers_;
  }

 private:
  net::awaitable<void> Serve(http::Request& request, http::ResponseWriter& writer) {
    {
      std::lock_guard lock(mu_);
      peers_.insert(request.peer);
    }
    http::ResponseHead head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, "text/event-stream");
    if (!co_await writer.Begin(head)) co_return;
    if (!co_await writer.Write("data: 1\n\n")) co_return;
    net::steady_timer timer(writer.executor());
    timer.expires_after(gap_);
    co_await timer.async_wait(net::use_awaitable);
    if (!co_await writer.Write("data: 2\n\n")) co_return;
    co_await writer.End();
  }

  const std::chrono::milliseconds gap_;
  http::Router router_;
  std::mutex mu_;
  std::set<std::string> peers_;
  berth::testing::LoopbackServer server_;  // last: stopped first, while what Serve uses lives
};

struct Outcome {
  Status sent;
  int status = 0;
  std::vector<std::string> pieces;
  Status ended;  // the Read() that ended the body: ok, or why it broke off
  bool cancelled = false;
  std::chrono::milliseconds took{0};
};

// Runs one exchange on `ioc` until it is done; `cancel_after` > 0 cancels it that long after the
// first piece arrived.
Outcome RunExchangeOn(net::io_context& ioc, unsigned short port, std::shared_ptr<GatewayPool> pool,
                      GatewayExchange::Options options,
                      std::chrono::milliseconds cancel_after = 0ms) {
  auto strand = net::make_strand(ioc);
  Outcome out;
  net::co_spawn(
      strand,
      [&]() -> net::awaitable<void> {
        const auto begin = std::chrono::steady_clock::now();
        GatewayExchange exchange(strand, pool, options);
        GatewayRequest request;
        request.host = "127.0.0.1";
        request.port = port;
        request.token = "gateway-token";
        request.target = "/stream";
        request.body = "{}";
        out.sent = co_await exchange.Send(request);
        if (!out.sent.ok()) co_return;
        out.status = exchange.head().result_int();
        net::steady_timer canceller(strand);
        for (;;) {
          auto piece = co_await exchange.Read();
          if (!piece.ok()) {
            out.ended = piece.status();
            break;
          }
          if (piece->empty()) break;
          out.pieces.emplace_back(*piece);
          if (cancel_after.count() > 0 && out.pieces.size() == 1) {
            canceller.expires_after(cancel_after);
            canceller.async_wait([&exchange](const beast::error_code& ec) {
              if (!ec) exchange.Cancel();
            });
          }
        }
        out.cancelled = exchange.cancelled();
        out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - begin);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.restart();
  ioc.run();
  return out;
}

// The same on an io_context of its own.
Outcome RunExchange(unsigned short port, std::shared_ptr<GatewayPool> pool,
                    GatewayExchange::Options options,
                    std::chrono::milliseconds cancel_after = 0ms) {
  net::io_context ioc;
  return RunExchangeOn(ioc, port, std::move(pool), options, cancel_after);
}

TEST(GatewayExchange, HandsOverThePiecesAsTheyArriveAndReusesTheConnection) {
  FakeGateway gateway(300ms);
  auto pool = std::make_shared<GatewayPool>();
  net::io_context ioc;  // pooled connections are handed out on the context that used them
  Outcome first = RunExchangeOn(ioc, gateway.port(), pool, {});
  ASSERT_TRUE(first.sent.ok()) << first.sent.ToString();
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(first.ended.ok()) << first.ended.ToString();
  // Two reads, not one buffer: the second piece came 300 ms after the first.
  EXPECT_EQ(first.pieces, (std::vector<std::string>{"data: 1\n\n", "data: 2\n\n"}));
  EXPECT_GE(first.took, 300ms);
  EXPECT_EQ(pool->idle(), 1u);  // read whole, kept alive: back in the pool

  Outcome second = RunExchangeOn(ioc, gateway.port(), pool, {});
  ASSERT_TRUE(second.sent.ok());
  EXPECT_EQ(second.pieces.size(), 2u);
  EXPECT_EQ(gateway.peers().size(), 1u);  // the same connection served both
  EXPECT_EQ(pool->idle(), 1u);

  // Another context does not get it: it opens a connection of its own.
  Outcome elsewhere = RunExchange(gateway.port(), pool, {});
  ASSERT_TRUE(elsewhere.sent.ok());
  EXPECT_EQ(gateway.peers().size(), 2u);
  EXPECT_EQ(pool->idle(), 1u);  // the other context's connection closed with it
}

TEST(GatewayExchange, AGatewayThatIsNotListeningIsUnavailable) {
  unsigned short port;
  {
    FakeGateway closed(0ms);
    port = closed.port();
  }
  Outcome out = RunExchange(port, std::make_shared<GatewayPool>(), {});
  ASSERT_FALSE(out.sent.ok());
  EXPECT_EQ(out.sent.code(), ErrorCode::kUnavailable);
  EXPECT_THAT(out.sent.message(), HasSubstr("cannot connect to the agent gateway at 127.0.0.1:"));
  EXPECT_THAT(out.sent.message(), ::testing::Not(HasSubstr("gateway-token")));
}

TEST(GatewayExchange, SilenceLongerThanTheIdleGapEndsTheStream) {
  FakeGateway gateway(5000ms);
  GatewayExchange::Options options;
  options.idle_gap = 1s;
  Outcome out = RunExchange(gateway.port(), std::make_shared<GatewayPool>(), options);
  ASSERT_TRUE(out.sent.ok());
  EXPECT_EQ(out.pieces.size(), 1u);
  EXPECT_EQ(out.ended.code(), ErrorCode::kUnavailable);
  EXPECT_THAT(out.ended.message(), HasSubstr("sent nothing for 1 s"));
  EXPECT_LT(out.took, 4000ms);
}

TEST(GatewayExchange, CancelEndsAPendingReadAtOnceAndNothingGoesBackToThePool) {
  FakeGateway gateway(10000ms);
  auto pool = std::make_shared<GatewayPool>();
  Outcome out = RunExchange(gateway.port(), pool, {}, 100ms);
  ASSERT_TRUE(out.sent.ok());
  EXPECT_EQ(out.pieces.size(), 1u);
  EXPECT_TRUE(out.cancelled);
  EXPECT_FALSE(out.ended.ok());
  EXPECT_LT(out.took, 3000ms);
  EXPECT_EQ(pool->idle(), 0u);
}

TEST(GatewayExchange, AHeaderValueWithALineBreakIsRefusedBeforeAnythingIsSent) {
  FakeGateway gateway(0ms);
  net::io_context ioc;
  Status sent;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        GatewayExchange exchange(ioc.get_executor(), std::make_shared<GatewayPool>(), {});
        GatewayRequest request;
        request.host = "127.0.0.1";
        request.port = gateway.port();
        request.token = "gateway-token";
        request.target = "/stream";
        request.body = "{}";
        request.headers.emplace_back("x-openclaw-model", "a/b\r\nX-Injected: 1");
        sent = co_await exchange.Send(request);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  EXPECT_EQ(sent.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(sent.message(), HasSubstr("line break"));
  EXPECT_TRUE(gateway.peers().empty());  // nothing reached the gateway
}

TEST(GatewayPool, DropsConnectionsThePeerClosedAndThoseTooOld) {
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  auto connect = [&] {
    GatewayPool::Socket client(ioc);
    client.connect(acceptor.local_endpoint());
    return std::make_pair(std::move(client), acceptor.accept());
  };
  auto clock = std::make_shared<berth::testing::FakeClock>();
  GatewayPool pool({4, std::chrono::milliseconds(200), clock});
  auto [open_client, open_server] = connect();
  auto [closed_client, closed_server] = connect();
  pool.Give("gw", open_client);
  pool.Give("gw", closed_client);
  EXPECT_FALSE(open_client.is_open());  // the pool holds the connection now
  EXPECT_EQ(pool.idle(), 2u);
  closed_server.close();  // the gateway closed this one while it sat idle
  std::this_thread::sleep_for(20ms);
  GatewayPool::Socket taken(ioc);
  ASSERT_TRUE(pool.Take("gw", taken));  // the newest, closed one is skipped
  EXPECT_EQ(taken.remote_endpoint(), open_server.local_endpoint());
  GatewayPool::Socket none(ioc);
  EXPECT_FALSE(pool.Take("gw", none));
  EXPECT_EQ(pool.idle(), 0u);

  auto [old_client, old_server] = connect();
  pool.Give("gw", old_client);
  clock->Advance(std::chrono::milliseconds(250));
  EXPECT_FALSE(pool.Take("gw", none));  // older than the idle TTL
  EXPECT_FALSE(pool.Take("other", none));
}

TEST(AgentEventHub, DeliversOnlyTheOwnersEventsWakesTheWaiterAndMarksOverflow) {
  AgentEventHub hub(2);
  net::io_context ioc;
  auto strand = net::make_strand(ioc);
  auto mine = hub.Subscribe("u1", strand);
  auto other = hub.Subscribe("u2", strand);
  EXPECT_EQ(hub.subscribers(), 2u);
  std::vector<lifecycle::AgentEvent> got;
  bool missed = true;
  std::chrono::milliseconds waited{0};
  net::co_spawn(
      strand,
      [&]() -> net::awaitable<void> {
        const auto begin = std::chrono::steady_clock::now();
        got = co_await mine->Next(10s, &missed);
        waited = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - begin);
      },
      net::detached);
  std::thread publisher([&] {
    std::this_thread::sleep_for(100ms);
    hub.Publish(
        {store::ContainerKind::kUser, "u1", lifecycle::AgentStatus::kStarting, "creating", ""});
  });
  ioc.run();
  publisher.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].phase, "creating");
  EXPECT_FALSE(missed);
  EXPECT_LT(waited, 5s);  // woken by the event, not by the timeout

  // Three events into a queue of two: the oldest goes and the subscriber learns it missed some.
  for (const char* phase : {"a", "b", "c"}) {
    hub.Publish({store::ContainerKind::kUser, "u2", lifecycle::AgentStatus::kStarting, phase, ""});
  }
  ioc.restart();
  net::co_spawn(
      strand, [&]() -> net::awaitable<void> { got = co_await other->Next(1s, &missed); },
      net::detached);
  ioc.run();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].phase, "b");
  EXPECT_TRUE(missed);
  other.reset();
  EXPECT_EQ(hub.subscribers(), 1u);
}

}  // namespace
}  // namespace berth::proxy
