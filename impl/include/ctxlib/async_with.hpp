// ctxlib/async_with.hpp: the asynchronous context-manager protocol and Python's `async with`.
//
// An async context manager has `aenter()` and `aexit(const std::exception_ptr&)` returning
// awaitables (a ctxlib::task, or anything a task can await); aexit's result converts to bool.
//
//   struct connection_cm {
//     ctxlib::task<connection&> aenter() { co_await c.open(); co_return c; }
//     ctxlib::task<bool> aexit(const std::exception_ptr& e) { co_await c.close(); co_return false;
//     } connection c;
//   };
//
//   co_await ctxlib::async_with(connection_cm{}, [](connection& c) -> ctxlib::task<> {
//     co_await c.send(request);
//   });
//
// `async_with(cm, body)` is a task following CPython's `async with` (catalogue W11 = W1-W10
// with awaits): a failing aenter() is not paired with aexit(); the body's exception is passed
// to aexit(), which may suppress it; otherwise the same object propagates. While aexit() runs,
// the body's exception is "the exception being handled" for ctxlib::raise and the exit stacks,
// as sys.exc_info() is in CPython. The body may return an awaitable (it is awaited) or a plain
// value; the task's result is as ctxlib::with's: nothing, or a std::optional of the body's.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/handled.hpp"
#include "ctxlib/task.hpp"

namespace ctxlib {

template <class T>
concept async_context_manager = requires(T& cm, const std::exception_ptr& exception) {
  requires detail::awaitable<decltype(cm.aenter())>;
  requires detail::awaitable<decltype(cm.aexit(exception))>;
};

// An awaitable that is ready at once with `value` (for aenter()/aexit() that need not suspend).
template <class T>
struct ready {
  T value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::forward<T>(value); }
};
template <class T>
ready(T) -> ready<T>;

namespace detail {

// Marks the running task as handling `exception` for as long as it lives (across awaits).
class handling_scope {
 public:
  explicit handling_scope(std::exception_ptr exception) noexcept
      : frame_(const_cast<task_frame*>(running_task)) {
    if (frame_ != nullptr) previous_ = std::exchange(frame_->handling, std::move(exception));
  }
  ~handling_scope() {
    if (frame_ != nullptr) frame_->handling = std::move(previous_);
  }
  handling_scope(const handling_scope&) = delete;
  handling_scope& operator=(const handling_scope&) = delete;

 private:
  task_frame* frame_;
  std::exception_ptr previous_;
};

template <class Body, class... Value>
decltype(auto) call_async_body(Body& body, Value&... value) {
  if constexpr (std::is_invocable_v<Body&, Value&...>) {
    return std::invoke(body, value...);
  } else {
    static_assert(std::is_invocable_v<Body&>,
                  "The body of ctxlib::async_with must be callable with the value aenter() "
                  "returns, or with no arguments.");
    return std::invoke(body);
  }
}

template <class Body, class... Value>
using async_body_result_t =
    decltype(call_async_body(std::declval<Body&>(), std::declval<Value&>()...));

template <class R>
struct awaited {
  using type = R;
};
template <class R>
requires awaitable<R>
struct awaited<R> {
  using type = await_result_t<R>;
};

// The body's result, awaited if it is awaitable.
template <class Body, class... Value>
using async_body_value_t = typename awaited<async_body_result_t<Body, Value...>>::type;

// The result type of async_with for this body.
template <class Body, class... Value>
using async_with_result_t =
    std::conditional_t<std::is_void_v<async_body_value_t<Body, Value...>>, void,
                       std::optional<async_body_value_t<Body, Value...>>>;

// After a successful aenter(): the body, then aexit() with what the body raised. Exceptions
// from the body's task and from aexit() are awaited as values (outcome_of) and end this task
// with fail_with(): only the awaiter of async_with rethrows them, where user code sees them.
template <class CM, class Body, class... Value>
auto async_with_entered(CM& cm, Body& body, Value&... value)
    -> task<async_with_result_t<Body, Value...>> {
  using result = async_body_value_t<Body, Value...>;
  using with_result = async_with_result_t<Body, Value...>;
  std::exception_ptr failure;
  std::conditional_t<std::is_void_v<result>, bool, std::optional<result>> out{};
  try {  // the call itself may throw before giving an awaitable
    if constexpr (awaitable<async_body_result_t<Body, Value...>>) {
      auto ran = co_await outcome_of(call_async_body(body, value...));
      if (ran.exception()) {
        failure = std::move(ran.exception());
      } else if constexpr (!std::is_void_v<result>) {
        out.emplace(ran.take());
      }
    } else if constexpr (std::is_void_v<result>) {
      call_async_body(body, value...);
    } else {
      out.emplace(call_async_body(body, value...));
    }
  } catch (...) {
    failure = std::current_exception();  // a handler cannot await: aexit() runs after it
  }
  if (failure) {
    std::exception_ptr replaced;
    bool suppress = false;
    {
      handling_scope handling(failure);
      auto exited = co_await outcome_of(cm.aexit(failure));
      if (exited.exception()) {
        replaced = std::move(exited.exception());
      } else {
        suppress = static_cast<bool>(exited.take());
      }
    }
    if (replaced) {
      co_await fail_with{&replaced};
    } else if (!suppress) {
      co_await fail_with{&failure};
    }
    co_return no_result<with_result>();
  } else {
    std::exception_ptr none;  // named: GCC 12 destroys temporaries in co_await operands twice
    auto exited = co_await outcome_of(cm.aexit(none));
    if (exited.exception()) co_await fail_with{&exited.exception()};
    if constexpr (!std::is_void_v<result>) co_return std::move(out);
  }
}

}  // namespace detail

// Runs `body` inside the async context manager `cm`, as Python's `async with cm as value`.
// An lvalue `cm` is referenced; an rvalue is moved into the task.
template <class CM, class Body>
auto async_with(CM&& cm, Body body) {
  using manager = std::remove_cvref_t<CM>;
  static_assert(async_context_manager<manager>,
                "ctxlib::async_with needs an async context manager: a type with aenter() and "
                "aexit(const std::exception_ptr&) returning awaitables.");
  using stored = std::conditional_t<std::is_lvalue_reference_v<CM>, CM, manager>;
  using entered = detail::await_result_t<decltype(std::declval<manager&>().aenter())>;
  if constexpr (std::is_void_v<entered>) {
    using result = detail::async_with_result_t<Body>;
    return [](stored cm, Body body) -> task<result> {
      auto entering = co_await detail::outcome_of(cm.aenter());
      if (entering.exception()) {
        co_await detail::fail_with{&entering.exception()};
        co_return detail::no_result<result>();
      }
      auto ran = co_await detail::outcome_of(detail::async_with_entered(cm, body));
      if (ran.exception()) {
        co_await detail::fail_with{&ran.exception()};
        co_return detail::no_result<result>();
      }
      co_return ran.take();
    }(std::forward<CM>(cm), std::move(body));
  } else {
    using value_ref = std::remove_reference_t<entered>&;
    using result = detail::async_with_result_t<Body, value_ref>;
    return [](stored cm, Body body) -> task<result> {
      auto entering = co_await detail::outcome_of(cm.aenter());
      if (entering.exception()) {
        co_await detail::fail_with{&entering.exception()};
        co_return detail::no_result<result>();
      }
      decltype(auto) value = entering.take();
      auto ran = co_await detail::outcome_of(detail::async_with_entered(cm, body, value));
      if (ran.exception()) {
        co_await detail::fail_with{&ran.exception()};
        co_return detail::no_result<result>();
      }
      co_return ran.take();
    }(std::forward<CM>(cm), std::move(body));
  }
}

}  // namespace ctxlib
