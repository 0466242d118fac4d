#pragma once

// One include for Asio/Beast. Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility> (STYLE.md, "Known traps"), so <utility> must come first: clang-format would sort it
// after them.
// clang-format off
#include <utility>
// clang-format on

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace berth {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;  // "http" is the berth::http module
}  // namespace berth
