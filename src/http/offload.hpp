#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "common/asio.hpp"

namespace berth::http {

// These are plain functions returning an awaitable, not coroutines: g++ 12 destroys a coroutine's
// by-value parameter twice when the argument is a converted temporary (seen here with a lambda
// passed as std::function), so nothing with a non-trivial destructor crosses a coroutine boundary
// by value here. Await the result: `T value = std::move(*co_await Offload<T>(pool, fn));`

// Runs blocking `fn` (an engine call, a graceful stop) on `pool` and resumes the awaiting
// coroutine on its own executor with the result, so server threads never block on it.
template <typename T, typename Fn>
net::awaitable<std::shared_ptr<T>> Offload(net::thread_pool& pool, Fn fn) {
  return net::async_initiate<decltype(net::use_awaitable), void(std::shared_ptr<T>)>(
      [&pool, fn = std::move(fn)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        net::post(pool, [fn = std::move(fn), shared]() mutable {
          auto result = std::make_shared<T>(fn());
          auto executor = net::get_associated_executor(*shared);
          net::post(executor, [shared, result]() mutable { std::move (*shared)(result); });
        });
      },
      net::use_awaitable);
}

// Adapts a callback API (`start(callback)`, where the callback may run inline or on any thread,
// exactly once) to an awaitable.
template <typename T, typename Start>
net::awaitable<std::shared_ptr<T>> AwaitCallback(Start start) {
  return net::async_initiate<decltype(net::use_awaitable), void(std::shared_ptr<T>)>(
      [start = std::move(start)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(std::function<void(T)>([shared](T result) {
          auto boxed = std::make_shared<T>(std::move(result));
          auto executor = net::get_associated_executor(*shared);
          net::post(executor, [shared, boxed]() mutable { std::move (*shared)(boxed); });
        }));
      },
      net::use_awaitable);
}

}  // namespace berth::http
