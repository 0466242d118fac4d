#include "proxy/gateway_exchange.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace berth::proxy {
namespace {

using tcp = net::ip::tcp;

constexpr std::uint32_t kHeaderLimit = 16 << 10;

std::string Seconds(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

// Shared with the deadline timer's handler, which may run after the exchange is gone.
//
// The deadline is lazy: Arm() moves it (a clock read), and the timer is only started when none
// is pending or the new deadline comes before the pending expiry. A timer that fires before the
// current deadline starts again for the rest. So the many arms of a stream cost no timer
// operation each: one start and one cancel per exchange, plus one restart per idle gap.
struct GatewayExchange::State : std::enable_shared_from_this<State> {
  explicit State(const net::any_io_executor& executor) : socket(executor), timer(executor) {}
  tcp::socket socket;
  net::steady_timer timer;
  std::uint64_t generation = 0;  // of the pending wait; a superseded one changes nothing
  bool waiting = false;          // a wait is pending
  bool active = false;           // a deadline applies now
  bool timed_out = false;
  std::chrono::steady_clock::time_point deadline;

  void StartWait() {
    const std::uint64_t mine = ++generation;
    waiting = true;
    timer.expires_at(deadline);
    timer.async_wait([self = shared_from_this(), mine](const beast::error_code& ec) {
      if (ec || self->generation != mine) return;
      self->waiting = false;
      if (!self->active) return;
      if (std::chrono::steady_clock::now() < self->deadline) {
        self->StartWait();
        return;
      }
      self->timed_out = true;
      beast::error_code ignored;
      self->socket.close(ignored);
    });
  }
};

GatewayExchange::GatewayExchange(net::any_io_executor executor, std::shared_ptr<GatewayPool> pool,
                                 Options options)
    : executor_(executor),
      pool_(std::move(pool)),
      options_(options),
      state_(std::make_shared<State>(executor)),
      // The raw bytes of headers and chunk framing; the body goes to body_.
      buffer_(std::max<std::size_t>(options.buffer_size, kHeaderLimit + 1024)),
      body_(new char[options.buffer_size]) {}

GatewayExchange::~GatewayExchange() {
  ++state_->generation;
  state_->active = false;
  if (state_->waiting) {
    beast::error_code ec;
    state_->timer.cancel(ec);
  }
}

void GatewayExchange::Arm(std::chrono::steady_clock::duration timeout) {
  State& state = *state_;
  state.deadline = std::chrono::steady_clock::now() + timeout;
  state.active = true;
  state.timed_out = false;
  if (state.waiting && state.timer.expiry() <= state.deadline) return;  // it fires first
  state.StartWait();
}

void GatewayExchange::Disarm() { state_->active = false; }

void GatewayExchange::Cancel() {
  cancelled_ = true;
  beast::error_code ec;
  state_->socket.close(ec);
}

net::awaitable<beast::error_code> GatewayExchange::Connect(const GatewayRequest& request) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  std::vector<tcp::endpoint> endpoints;
  const auto port = static_cast<unsigned short>(request.port);
  net::ip::address address = net::ip::make_address(request.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, port);
  } else {
    ec = {};
    tcp::resolver resolver(executor_);
    auto results = co_await resolver.async_resolve(request.host, std::to_string(port), token);
    if (ec) co_return ec;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  for (const tcp::endpoint& endpoint : endpoints) {
    state_->socket = tcp::socket(executor_);
    Arm(options_.connect_timeout);
    co_await state_->socket.async_connect(endpoint, token);
    Disarm();
    if (!ec) break;
    if (cancelled_) break;
  }
  if (!ec) state_->socket.set_option(tcp::no_delay(true), ec);
  // Drain() reads what the kernel holds without waiting: a read that would block fails at once
  // (asynchronous operations work as before). A pooled socket keeps the mode.
  if (!ec) state_->socket.non_blocking(true, ec);
  co_return ec;
}

net::awaitable<Status> GatewayExchange::Send(const GatewayRequest& request) {
  endpoint_ = request.host + ":" + std::to_string(request.port);
  // The head as one string and the body as it is: one gathered write, no copy of the body.
  std::string head;
  head.reserve(256 + request.token.size() + request.target.size());
  // Every value is berth's own or was checked against a list, but a line break in one would
  // let it add headers of its own: refuse rather than send that.
  bool broken = false;
  auto add = [&head, &broken](std::string_view name, std::string_view value) {
    broken = broken || value.find_first_of("\r\n") != std::string_view::npos;
    head.append(name).append(": ").append(value).append("\r\n");
  };
  const beast::string_view method = bhttp::to_string(request.method);
  head.append(method.data(), method.size()).append(" ").append(request.target);
  head.append(" HTTP/1.1\r\n");
  add("Host", endpoint_);
  add("Authorization", "Bearer " + request.token);
  add("User-Agent", "berth");
  if (!request.body.empty()) add("Content-Type", request.content_type);
  for (const auto& [name, value] : request.headers) add(name, value);
  add("Content-Length", std::to_string(request.body.size()));
  head.append("\r\n");
  if (broken || request.target.find_first_of("\r\n ") != std::string::npos) {
    co_return InvalidArgument("a header for the agent gateway contains a line break");
  }
  const std::array<net::const_buffer, 2> message = {net::buffer(head), net::buffer(request.body)};

  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  for (int attempt = 0; attempt < 2; ++attempt) {
    state_->socket = tcp::socket(executor_);
    const bool reused = attempt == 0 && pool_ && pool_->Take(endpoint_, state_->socket);
    if (!reused) {
      ec = co_await Connect(request);
      if (cancelled_) co_return Unavailable("the client went away");
      if (ec) {
        co_return Unavailable("cannot connect to the agent gateway at " + endpoint_ + ": " +
                              (state_->timed_out
                                   ? "timed out after " + Seconds(options_.connect_timeout)
                                   : ec.message()));
      }
    }
    Arm(options_.idle_gap);
    co_await net::async_write(state_->socket, message, token);
    if (!ec) {
      parser_.emplace();
      parser_->header_limit(kHeaderLimit);
      // Boost 1.74 mishandles body_limit(boost::none); the largest value means no limit.
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      buffer_.clear();
      co_await bhttp::async_read_header(state_->socket, buffer_, *parser_, token);
    }
    Disarm();
    if (!ec) co_return Status::Ok();
    if (cancelled_) co_return Unavailable("the client went away");
    // A pooled connection the gateway closed before reading the request: nothing was
    // processed, so a fresh connection may carry it.
    const bool nothing_answered =
        buffer_.size() == 0 && !state_->timed_out &&
        (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe);
    if (reused && nothing_answered) continue;
    if (state_->timed_out) {
      co_return Unavailable("the agent gateway at " + endpoint_ + " did not answer within " +
                            Seconds(options_.idle_gap));
    }
    co_return Unavailable("the agent gateway at " + endpoint_ +
                          " broke off before answering: " + ec.message());
  }
  co_return Unavailable("the agent gateway at " + endpoint_ + " closed the connection");
}

// Parses what is already buffered into the body buffer, and takes what the kernel already holds
// for the socket, without waiting: every event that arrived together leaves in one piece (one
// write to the client) instead of one write per chunk of the gateway's chunked encoding.
Status GatewayExchange::Drain(std::size_t* filled) {
  auto& body = parser_->get().body();
  for (;;) {
    while (buffer_.size() > 0 && *filled < options_.buffer_size && !parser_->is_done()) {
      body.data = body_.get() + *filled;
      body.size = options_.buffer_size - *filled;
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      if (ec == bhttp::error::need_buffer || ec == bhttp::error::need_more) ec = {};
      if (ec) return Unavailable("the agent gateway's answer is malformed: " + ec.message());
      buffer_.consume(used);
      const std::size_t got = options_.buffer_size - *filled - body.size;
      *filled += got;
      if (used == 0 && got == 0) break;  // a partial chunk header: more bytes are needed
    }
    if (*filled >= options_.buffer_size || parser_->is_done()) return Status::Ok();
    // More already in the kernel? Take it now: the socket does not block, so one system call
    // either takes it or finds nothing.
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return Status::Ok();
    beast::error_code ec;
    const std::size_t n = state_->socket.read_some(buffer_.prepare(room), ec);
    if (ec) return Status::Ok();  // nothing there (would block), or the next read reports it
    buffer_.commit(n);
  }
}

std::string_view GatewayExchange::Finish(std::size_t filled) {
  if (parser_->is_done() && !done_) {
    done_ = true;
    if (pool_ && parser_->get().keep_alive() && !cancelled_ && state_->socket.is_open()) {
      pool_->Give(endpoint_, state_->socket);
    }
  }
  return std::string_view(body_.get(), filled);
}

Result<std::string_view> GatewayExchange::ReadAvailable() {
  if (done_) return std::string_view();
  std::size_t filled = 0;
  if (Status drained = Drain(&filled); !drained.ok()) return drained;
  return Finish(filled);
}

net::awaitable<Result<std::string_view>> GatewayExchange::Read() {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  std::size_t filled = 0;
  for (;;) {
    if (done_) co_return std::string_view();
    if (Status drained = Drain(&filled); !drained.ok()) co_return drained;
    if (filled > 0 || parser_->is_done()) co_return Finish(filled);
    auto& body = parser_->get().body();
    body.data = body_.get();
    body.size = options_.buffer_size;
    Arm(options_.idle_gap);
    co_await bhttp::async_read_some(state_->socket, buffer_, *parser_, token);
    Disarm();
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      if (cancelled_) co_return Unavailable("the client went away");
      if (state_->timed_out) {
        co_return Unavailable("the agent gateway sent nothing for " + Seconds(options_.idle_gap));
      }
      co_return Unavailable("the agent gateway broke off its answer: " + ec.message());
    }
    filled = options_.buffer_size - body.size;
  }
}

}  // namespace berth::proxy
