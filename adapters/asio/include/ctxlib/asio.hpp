// ctxlib/asio.hpp: run ctxlib's async context managers inside asio coroutines.
//
// asio's coroutines (`asio::awaitable<T>`) only await asio operations, so a ctxlib task is
// awaited through `ctxlib::asio_await`, which runs it on the coroutine's executor: the task's
// `ctxlib::yield_now()` suspensions are posted to that executor, interleaving with the
// program's other asio work, and its result or exception (the same object) comes back to the
// asio coroutine.
//
//   asio::awaitable<void> session(tcp::socket socket) {
//     co_await ctxlib::asio_await(ctxlib::async_with(
//         connected(pool), [&](connection& c) -> ctxlib::task<> { co_await c.greet(); }));
//   }
//
// Needs asio (Debian: libasio-dev), C++20 coroutines, and nothing else of ctxlib's.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "ctxlib/task.hpp"

namespace ctxlib {

namespace asio_detail {

// Resumes what yield_now() suspends by posting it to an asio executor.
template <class Executor>
class executor_scheduler final : public scheduler {
 public:
  explicit executor_scheduler(Executor executor) : executor_(std::move(executor)) {}

  void schedule(std::coroutine_handle<> ready) override {
    ::asio::post(executor_, [this, ready] { resume_here(ready); });
  }
  // Resumes `h` with this scheduler installed, as the thread's driver of ctxlib tasks.
  void resume_here(std::coroutine_handle<> h) {
    detail::scheduler_scope scope(this);
    h.resume();
  }

 private:
  Executor executor_;
};

// A coroutine that starts at once and frees itself when done: it awaits the task and hands
// its outcome to asio's completion handler.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // drive() catches all
  };
};

// Completion goes through the handler's executor (never from inside the initiating call).
template <class T, class Handler>
detached drive(task<T> work, Handler handler) {
  auto executor = ::asio::get_associated_executor(handler);
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(work);
    } catch (...) {
      failure = std::current_exception();
    }
    ::asio::post(executor, [handler = std::move(handler), failure]() mutable {
      std::move(handler)(failure);
    });
  } else {
    std::optional<T> result;
    try {
      result.emplace(co_await std::move(work));
    } catch (...) {
      failure = std::current_exception();
    }
    ::asio::post(executor, [handler = std::move(handler), failure,
                            value = result ? std::move(*result) : T{}]() mutable {
      std::move(handler)(failure, std::move(value));
    });
  }
}

// The completion signature: the exception (or none), then the result if there is one.
template <class T>
struct signature {
  using type = void(std::exception_ptr, T);
};
template <>
struct signature<void> {
  using type = void(std::exception_ptr);
};
template <class T>
using signature_t = typename signature<T>::type;

}  // namespace asio_detail

// Awaits a ctxlib task from an asio coroutine, running it on that coroutine's executor.
template <class T>
::asio::awaitable<T> asio_await(task<T> work) {
  static_assert(!std::is_reference_v<T>,
                "ctxlib::asio_await passes results through asio's completion handlers, so the "
                "task must return a value, not a reference.");
  static_assert(std::is_void_v<T> || std::is_default_constructible_v<T>,
                "ctxlib::asio_await needs a default-constructible result type (asio's handlers "
                "take a value even when an exception is delivered).");
  auto executor = co_await ::asio::this_coro::executor;
  asio_detail::executor_scheduler<decltype(executor)> scheduler(executor);
  co_return co_await ::asio::async_initiate<const ::asio::use_awaitable_t<>&,
                                            asio_detail::signature_t<T>>(
      [&](auto handler) {
        detail::scheduler_scope scope(&scheduler);
        asio_detail::drive(std::move(work), std::move(handler));
      },
      ::asio::use_awaitable);
}

}  // namespace ctxlib
