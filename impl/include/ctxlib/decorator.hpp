// ctxlib/decorator.hpp: Python's ContextDecorator — a callable that runs inside a context
// manager on every call.
//
//   auto timed = ctxlib::decorate(timer{}, [](int n) { return work(n); });    // same timer
//   auto tagged = ctxlib::decorate([] { return tag("h1"); }, [] { emit(); }); // new cm per call
//
//   std::optional<int> r = timed(3);      // empty if the manager suppressed an exception
//   tagged();
//
// The first argument is either a context manager, entered anew on every call (Python's
// default `_recreate_cm` returns self: the manager must be reusable, and reentrant if the
// function recurses), or a factory called on every call for a fresh one — what Python does for
// @contextmanager, whose decorated calls each get a new generator (`ctxlib::contextmanager`
// objects are one-shot, so they are decorated through a factory). An lvalue manager or factory
// is referenced; an rvalue one is stored in the decorated callable.
//
// Python returns None from a call whose exception the manager suppressed; C++ has no None for
// an arbitrary return type, so a decorated function returning R returns std::optional<R>, empty
// in that case, and one returning void returns void (as `ctxlib::with` does).
//
// `async_decorate(source, fn)` is AsyncContextDecorator: each call returns a task that, when
// awaited, makes or takes the async context manager and runs `fn(args...)` (awaited if it
// returns an awaitable) inside `async_with` — so, as in CPython, nothing is created or entered
// until the task is awaited (D4). The arguments are copied into the task; the decorated object
// must outlive the tasks its calls return.
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include "ctxlib/async_with.hpp"
#include "ctxlib/task.hpp"
#include "ctxlib/with.hpp"

namespace ctxlib {

template <class Source, class Function>
class decorated {
 public:
  decorated(Source source, Function function)
      : source_(std::forward<Source>(source)), function_(std::forward<Function>(function)) {}

  // Runs the function inside the context manager, as `with cm: return function(args...)`.
  template <class... Args>
  auto operator()(Args&&... args) {
    auto call = [&]() -> decltype(auto) {
      return std::invoke(function_, std::forward<Args>(args)...);
    };
    if constexpr (context_manager<std::remove_reference_t<Source>>) {
      return with(source_, call);
    } else {
      return with(std::invoke(source_), call);
    }
  }

 private:
  Source source_;
  Function function_;
};

// Wraps `function` so each call runs inside the context manager `source` (or inside a fresh
// one made by calling the factory `source`).
template <class Source, class Function>
auto decorate(Source&& source, Function&& function) {
  using source_type = std::remove_cvref_t<Source>;
  if constexpr (!context_manager<source_type>) {
    static_assert(std::is_invocable_v<source_type&>,
                  "ctxlib::decorate needs a context manager, or a factory callable with no "
                  "arguments that returns one.");
    static_assert(context_manager<std::remove_cvref_t<std::invoke_result_t<source_type&>>>,
                  "ctxlib::decorate's factory must return a context manager.");
  }
  // Lvalues are referenced (the caller keeps them alive), rvalues are owned.
  using stored_source =
      std::conditional_t<std::is_lvalue_reference_v<Source>, Source, std::remove_cvref_t<Source>>;
  using stored_function = std::conditional_t<std::is_lvalue_reference_v<Function>, Function,
                                             std::remove_cvref_t<Function>>;
  return decorated<stored_source, stored_function>(std::forward<Source>(source),
                                                   std::forward<Function>(function));
}

template <class Source, class Function>
class async_decorated {
 public:
  async_decorated(Source source, Function function)
      : source_(std::forward<Source>(source)), function_(std::forward<Function>(function)) {}

  template <class... Args>
  auto operator()(Args... args) {
    auto call = [this, ... args = std::move(args)]() mutable -> decltype(auto) {
      return std::invoke(function_, args...);
    };
    if constexpr (async_context_manager<std::remove_reference_t<Source>>) {
      return [](async_decorated* self,
                decltype(call) body) -> decltype(async_with(self->source_, std::move(body))) {
        using result = detail::await_result_t<decltype(async_with(self->source_, std::move(body)))>;
        auto ran = co_await detail::outcome_of(async_with(self->source_, std::move(body)));
        if (ran.exception()) {
          co_await detail::fail_with{&ran.exception()};  // handed on, not rethrown
          co_return detail::no_result<result>();
        }
        co_return ran.take();
      }(this, std::move(call));
    } else {
      return [](async_decorated* self,
                decltype(call) body) -> decltype(async_with(std::invoke(self->source_),
                                                            std::move(body))) {
        // Named: GCC 12 destroys temporaries in co_await operands twice.
        auto fresh = std::invoke(self->source_);
        using result =
            detail::await_result_t<decltype(async_with(std::move(fresh), std::move(body)))>;
        auto ran = co_await detail::outcome_of(async_with(std::move(fresh), std::move(body)));
        if (ran.exception()) {
          co_await detail::fail_with{&ran.exception()};  // handed on, not rethrown
          co_return detail::no_result<result>();
        }
        co_return ran.take();
      }(this, std::move(call));
    }
  }

 private:
  Source source_;
  Function function_;
};

// Wraps `function` so each awaited call runs inside the async context manager `source` (or
// inside a fresh one made by calling the factory `source` when the call is awaited).
template <class Source, class Function>
auto async_decorate(Source&& source, Function&& function) {
  using source_type = std::remove_cvref_t<Source>;
  if constexpr (!async_context_manager<source_type>) {
    static_assert(std::is_invocable_v<source_type&>,
                  "ctxlib::async_decorate needs an async context manager, or a factory callable "
                  "with no arguments that returns one.");
    static_assert(async_context_manager<std::remove_cvref_t<std::invoke_result_t<source_type&>>>,
                  "ctxlib::async_decorate's factory must return an async context manager.");
  }
  using stored_source =
      std::conditional_t<std::is_lvalue_reference_v<Source>, Source, std::remove_cvref_t<Source>>;
  using stored_function = std::conditional_t<std::is_lvalue_reference_v<Function>, Function,
                                             std::remove_cvref_t<Function>>;
  return async_decorated<stored_source, stored_function>(std::forward<Source>(source),
                                                         std::forward<Function>(function));
}

}  // namespace ctxlib
