// ctxlib/closing.hpp: Python's contextlib.closing.
//
//   ctxlib::with(ctxlib::closing(connection), [](auto& c) { c.send(request); });
//
// enter() returns the thing; exit() always calls its close(), with or without an exception in
// flight, and never suppresses. An exception thrown by close() replaces the one in flight.
// `closing(lvalue)` refers to the thing; `closing(rvalue)` owns it.
//
// `aclosing(thing)` is the asynchronous form: aexit() awaits `thing.aclose()`.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "ctxlib/async_with.hpp"
#include "ctxlib/task.hpp"

namespace ctxlib {

template <class T>
concept closable = requires(T& thing) {
  thing.close();
};

template <class T>
class closing {
 public:
  // Checked here, not at class scope, so closing<X&> may be named while X is incomplete.
  explicit closing(T thing) : thing_(std::forward<T>(thing)) {
    static_assert(closable<std::remove_reference_t<T>>,
                  "ctxlib::closing needs an object with a close() member function.");
  }

  std::remove_reference_t<T>& enter() noexcept { return thing_; }
  bool exit(const std::exception_ptr&) {
    thing_.close();
    return false;
  }

 private:
  T thing_;
};

template <class T>
closing(T&&) -> closing<T>;

template <class T>
concept async_closable = requires(T& thing) {
  requires detail::awaitable<decltype(thing.aclose())>;
};

template <class T>
class aclosing {
 public:
  explicit aclosing(T thing) : thing_(std::forward<T>(thing)) {
    static_assert(async_closable<std::remove_reference_t<T>>,
                  "ctxlib::aclosing needs an object with an aclose() member function returning "
                  "an awaitable.");
  }

  ready<std::remove_reference_t<T>&> aenter() noexcept { return {thing_}; }
  task<bool> aexit(std::exception_ptr) {
    auto closed = co_await detail::outcome_of(thing_.aclose());
    if (closed.exception()) co_await detail::fail_with{&closed.exception()};  // no rethrow
    co_return false;
  }

 private:
  T thing_;
};

template <class T>
aclosing(T&&) -> aclosing<T>;

}  // namespace ctxlib
