#include "testagent/stream_reader.hpp"

#include <sys/socket.h>

#include <cctype>
#include <limits>

#include "common/asio.hpp"

namespace berth::testing {

using tcp = net::ip::tcp;

struct StreamReader::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  beast::error_code ec;
};

StreamReader::StreamReader(unsigned short port, const std::string& method,
                           const std::string& target, const std::string& body,
                           const std::map<std::string, std::string>& headers,
                           std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // not none: 1.74 bug
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), impl_->ec);
  if (impl_->ec) return;
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
  ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  bhttp::write(impl_->socket, req, impl_->ec);
}

StreamReader::~StreamReader() { Close(); }

bool StreamReader::ReadHeader() {
  if (impl_->ec) return false;
  bhttp::read_header(impl_->socket, impl_->buffer, impl_->parser, impl_->ec);
  return !impl_->ec;
}

int StreamReader::status() const { return impl_->parser.get().result_int(); }

std::string StreamReader::Header(const std::string& name) const {
  auto it = impl_->parser.get().find(name);
  return it == impl_->parser.get().end() ? std::string() : std::string(it->value());
}

std::optional<std::string> StreamReader::ReadSome() {
  if (impl_->ec || impl_->parser.is_done()) return std::nullopt;
  char piece[8192];
  for (;;) {
    impl_->parser.get().body().data = piece;
    impl_->parser.get().body().size = sizeof piece;
    bhttp::read_some(impl_->socket, impl_->buffer, impl_->parser, impl_->ec);
    if (impl_->ec == bhttp::error::need_buffer) impl_->ec = {};
    std::size_t n = sizeof piece - impl_->parser.get().body().size;
    if (n > 0) {
      std::string out(piece, n);
      body_ += out;
      return out;
    }
    if (impl_->ec || impl_->parser.is_done()) return std::nullopt;
  }
}

bool StreamReader::ReadUntil(const std::string& text) {
  while (body_.find(text) == std::string::npos) {
    if (!ReadSome()) return false;
  }
  return true;
}

bool StreamReader::done() const { return impl_->parser.is_done(); }

std::string StreamReader::error() const { return impl_->ec ? impl_->ec.message() : ""; }

void StreamReader::Close() {
  beast::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
}

HttpResult Exchange(unsigned short port, const std::string& method, const std::string& target,
                    const std::string& body, const std::map<std::string, std::string>& headers) {
  HttpResult result;
  StreamReader reader(port, method, target, body, headers);
  if (!reader.ReadHeader()) return result;
  while (reader.ReadSome()) {
  }
  if (!reader.done()) return result;
  result.status = reader.status();
  result.body = reader.body();
  for (const auto& field : reader.impl_->parser.get()) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  return result;
}

}  // namespace berth::testing
