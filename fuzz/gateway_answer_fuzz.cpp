// An agent gateway's answer, as bytes from the network, through the real GatewayExchange: its
// status line and headers (Send), then the body in pieces (Read, ReadAvailable), chunked or not,
// streamed events or not. The gateway is a coroutine on loopback that reads berth's request and
// writes the input in slices whose sizes the input's first bytes choose, so chunk headers, CRLFs
// and events are cut at every place, then stops sending. Nothing may crash, read out of bounds,
// or hand over more body bytes than the gateway sent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/gateway_exchange.hpp"
#include "proxy/gateway_pool.hpp"

namespace bp = berth::proxy;
namespace beast = berth::beast;
namespace net = berth::net;
using tcp = net::ip::tcp;

namespace {

struct Loop {
  net::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  int port = acceptor.local_endpoint().port();
};

Loop& TheLoop() {
  static Loop* loop = new Loop();  // lives for the process, as libFuzzer's runs do
  return *loop;
}

// Accepts one connection, reads a request head off it, and writes `answer` in slices of the
// sizes in `cuts` (cycled); then stops sending and waits for berth to close.
net::awaitable<void> Gateway(tcp::acceptor& acceptor, std::string answer,
                             std::vector<std::size_t> cuts) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  tcp::socket socket(acceptor.get_executor());
  co_await acceptor.async_accept(socket, token);
  if (ec) co_return;
  socket.set_option(tcp::no_delay(true), ec);  // each slice leaves as it is written
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const std::size_t n = co_await socket.async_read_some(net::buffer(buf), token);
    if (ec) co_return;
    request.append(buf, n);
  }
  std::size_t cut = 0;
  for (std::size_t at = 0; at < answer.size();) {
    const std::size_t n = std::min(answer.size() - at, cuts[cut++ % cuts.size()]);
    co_await net::async_write(socket, net::buffer(answer.data() + at, n), token);
    if (ec) co_return;
    at += n;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  while (!ec) co_await socket.async_read_some(net::buffer(buf), token);
}

// One exchange: the body bytes it handed over, or -1 when Send failed.
net::awaitable<long> Exchange(Loop& loop, std::shared_ptr<bp::GatewayPool> pool,
                              bool available_first) {
  bp::GatewayExchange::Options options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.idle_gap = std::chrono::seconds(2);
  options.buffer_size = 512;
  bp::GatewayExchange exchange(co_await net::this_coro::executor, std::move(pool), options);
  bp::GatewayRequest request;
  request.host = "127.0.0.1";
  request.port = loop.port;
  request.token = "fuzz";
  request.target = "/v1/chat/completions";
  request.body = "{}";
  berth::Status sent = co_await exchange.Send(request);
  if (!sent.ok()) co_return -1;
  (void)exchange.head().result_int();
  long total = 0;
  if (available_first) {
    auto piece = exchange.ReadAvailable();
    if (!piece.ok()) co_return total;
    total += static_cast<long>(piece->size());
  }
  for (;;) {
    auto piece = co_await exchange.Read();
    if (!piece.ok() || piece->empty()) break;
    total += static_cast<long>(piece->size());
  }
  co_return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: the slice sizes (four of 1..226 bytes, or the whole answer at once); byte 1: whether
  // ReadAvailable is called before Read.
  std::vector<std::size_t> cuts;
  for (int i = 0; i < 4; ++i) {
    const std::size_t nibble = (data[0] >> i) & 0x0f;
    cuts.push_back(1 + nibble * nibble);
  }
  if (data[0] == 0) cuts = {size};
  const bool available_first = data[1] & 1;
  const std::string answer(reinterpret_cast<const char*>(data + 2), size - 2);

  Loop& loop = TheLoop();
  long body = 0;
  net::co_spawn(loop.io, Gateway(loop.acceptor, answer, cuts), net::detached);
  net::co_spawn(
      loop.io,
      [&]() -> net::awaitable<void> {
        auto pool = std::make_shared<bp::GatewayPool>();
        body = co_await Exchange(loop, pool, available_first);
        // A connection the pool kept (a whole keep-alive answer) is closed, ending the gateway.
        tcp::socket kept(loop.io);
        while (pool->Take("127.0.0.1:" + std::to_string(loop.port), kept)) kept.close();
      },
      net::detached);
  loop.io.run();
  loop.io.restart();
  if (body > static_cast<long>(answer.size())) __builtin_trap();  // more body than was sent
  return 0;
}
