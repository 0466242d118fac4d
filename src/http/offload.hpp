#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/asio.hpp"
#include "http/work_pool.hpp"

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

// Runs blocking `fn` on `pool` under `key` (http/work_pool.hpp: callers take turns) and resumes
// the awaiting coroutine on its own executor with the result; nullptr when the pool refused the
// job (its queues are full). A job the pool drops at shutdown never resumes its coroutine, which
// is destroyed with the server's event loops.
template <typename T, typename Fn>
net::awaitable<std::shared_ptr<T>> RunOnPool(WorkPool& pool, std::string key, Fn fn) {
  return net::async_initiate<decltype(net::use_awaitable), void(std::shared_ptr<T>)>(
      [&pool, key = std::move(key), fn = std::move(fn)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        const bool queued = pool.Submit(key, [fn = std::move(fn), shared]() mutable {
          auto result = std::make_shared<T>(fn());
          auto executor = net::get_associated_executor(*shared);
          net::post(executor, [shared, result]() mutable { std::move (*shared)(result); });
        });
        if (!queued) {
          auto executor = net::get_associated_executor(*shared);
          net::post(executor, [shared]() mutable { std::move (*shared)(std::shared_ptr<T>()); });
        }
      },
      net::use_awaitable);
}

// An awaitable that is done at once with `value` (resumed through the executor, as any other).
template <typename T>
net::awaitable<std::shared_ptr<T>> Ready(std::shared_ptr<T> value) {
  return net::async_initiate<decltype(net::use_awaitable), void(std::shared_ptr<T>)>(
      [value = std::move(value)](auto handler) mutable {
        auto executor = net::get_associated_executor(handler);
        net::post(executor, [handler = std::move(handler), value = std::move(value)]() mutable {
          std::move(handler)(std::move(value));
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
