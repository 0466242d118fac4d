#include "testagent/config_fetcher.hpp"

#include <spdlog/spdlog.h>

#include "common/json_parse.hpp"
#include "testagent/http_url.hpp"

namespace berth::testagent {
namespace {

using tcp = net::ip::tcp;
using Ms = std::chrono::milliseconds;

struct Answer {
  beast::error_code ec;  // transport error (connect, timeout, malformed answer)
  unsigned status = 0;
  std::string body;
};

net::awaitable<Answer> GetOnce(HttpUrl url, std::string token, Ms timeout, std::size_t limit) {
  Answer answer;
  auto token_ec = net::redirect_error(net::use_awaitable, answer.ec);
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, token_ec);
  if (answer.ec) co_return answer;

  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);  // one deadline for the whole exchange
  co_await stream.async_connect(endpoints, token_ec);
  if (answer.ec) co_return answer;

  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, url.path, 11};
  req.set(bhttp::field::host, url.HostHeader());
  req.set(bhttp::field::authorization, "Bearer " + token);
  req.set(bhttp::field::accept, "application/json");
  req.set(bhttp::field::user_agent, "berth-test-agent");
  req.keep_alive(false);
  co_await bhttp::async_write(stream, req, token_ec);
  if (answer.ec) co_return answer;

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(limit);
  co_await bhttp::async_read(stream, buffer, parser, token_ec);
  if (answer.ec) co_return answer;
  answer.status = parser.get().result_int();
  answer.body = std::move(parser.get().body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return answer;
}

// berth's error text from {"error":{"message":...}} or {"error":"..."}, cut short; else "".
std::string ErrorText(const std::string& body) {
  auto json = ParseJson(body, "error body").value_or(nlohmann::json());
  std::string text;
  if (json.is_object() && json.contains("error")) {
    const auto& e = json["error"];
    if (e.is_string()) text = e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      text = e["message"].get<std::string>();
    }
  }
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

}  // namespace

net::awaitable<Result<nlohmann::json>> FetchConfig(FetchOptions options) {
  auto url = ParseHttpUrl(options.url);
  if (!url.ok()) co_return url.status();
  auto executor = co_await net::this_coro::executor;
  net::steady_timer timer(executor);
  const auto start = std::chrono::steady_clock::now();
  // The path names the agent id, which is not a secret; the token is.
  spdlog::info("fetching config from {}{}", url->HostHeader(), url->path);

  for (int attempt = 1;; ++attempt) {
    Answer answer =
        co_await GetOnce(*url, options.token, options.attempt_timeout, options.body_limit);
    std::string problem;
    if (answer.ec) {
      problem = answer.ec.message();
    } else {
      switch (ClassifyStatus(answer.status)) {
        case FetchVerdict::kAccept: {
          auto config = ParseJson(answer.body, "config").value_or(nlohmann::json());
          if (!config.is_object()) {
            co_return InvalidArgument("config fetch answered HTTP " +
                                      std::to_string(answer.status) +
                                      " with a body that is not a JSON object");
          }
          spdlog::info("config fetched (attempt {}, {} bytes)", attempt, answer.body.size());
          co_return config;
        }
        case FetchVerdict::kGiveUp: {
          std::string text = ErrorText(answer.body);
          co_return PermissionDenied("config fetch refused: HTTP " + std::to_string(answer.status) +
                                     (text.empty() ? "" : " (" + text + ")"));
        }
        case FetchVerdict::kRetry:
          problem = "HTTP " + std::to_string(answer.status);
          break;
      }
    }
    const auto elapsed = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start);
    auto wait = options.backoff.Next(elapsed);
    if (!wait) {
      co_return Unavailable("config fetch failed after " + std::to_string(attempt) +
                            " attempts in " + std::to_string(elapsed.count() / 1000) +
                            " s; last error: " + problem);
    }
    spdlog::warn("config fetch attempt {} failed: {}; retrying in {} ms", attempt, problem,
                 wait->count());
    timer.expires_after(*wait);
    beast::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

}  // namespace berth::testagent
