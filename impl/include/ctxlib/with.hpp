// ctxlib/with.hpp: the context-manager protocol and Python's `with` statement.
//
// A context manager is any type with `enter()` and `exit(const std::exception_ptr&)` returning
// something convertible to bool. Unlike a scope guard, `exit` sees the exception in flight and
// may suppress it (return true), let it propagate (return false) or replace it (throw).
//
//   struct transaction {
//     db* d;
//     db& enter() { d->begin(); return *d; }
//     bool exit(const std::exception_ptr& e) {
//       if (e) d->rollback(); else d->commit();
//       return false;                             // never suppress
//     }
//   };
//
//   ctxlib::with(transaction{&db}, [](db& d) { d.insert(row); });
//
// `with(cm, body)` follows CPython's with statement (catalogue W1-W10): if enter() throws,
// exit is not called; body's exception is passed to exit, which runs inside the handler (so
// `std::current_exception()` and `ctxlib::raise` see it, as `sys.exc_info()` would); a true
// result suppresses it; otherwise the same object propagates. After a normal body, exit gets
// an empty pointer and its result is ignored. The body is called with enter()'s result if it
// accepts it, else with no arguments. `with` returns nothing for a void body; otherwise a
// std::optional holding the body's result, empty when an exception was suppressed.
#pragma once

#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/always_inline.hpp"

namespace ctxlib {

template <class T>
concept context_manager = requires(T& cm, const std::exception_ptr& exception) {
  cm.enter();
  { cm.exit(exception) } -> std::convertible_to<bool>;
};

namespace detail {

template <class CM>
using enter_result_t = decltype(std::declval<CM&>().enter());

// Calls the body with the entered value (as an lvalue, like Python's `as` target) if there is
// one and it takes it, else with nothing.
template <class Body, class... Value>
CTXLIB_DETAIL_ALWAYS_INLINE decltype(auto) invoke_body(Body&& body, Value&... value) {
  if constexpr (sizeof...(Value) != 0 && std::is_invocable_v<Body, Value&...>) {
    return std::invoke(std::forward<Body>(body), value...);
  } else {
    static_assert(std::is_invocable_v<Body>,
                  "The body of ctxlib::with must be callable with the value enter() returns, or "
                  "with no arguments (and with no arguments when enter() returns void).");
    return std::invoke(std::forward<Body>(body));
  }
}

// Rethrows the exception being handled (inside a catch clause), as `throw;` does but cheaper:
// libstdc++'s `throw;` goes through _Unwind_Resume_or_Rethrow, one more libgcc frame for the
// unwinder to walk in both of its phases, while std::rethrow_exception raises directly (an
// exception escaping a 16-exit stack: ~30.6k -> ~27.5k unwinder and library instructions). It
// is the same object either way. A foreign exception (thread cancellation's forced unwind) has
// no exception_ptr to hold it, so it takes `throw;`.
[[noreturn]] CTXLIB_DETAIL_ALWAYS_INLINE void rethrow_handled() {
  if (std::exception_ptr handled = std::current_exception()) {
    std::rethrow_exception(std::move(handled));
  }
  throw;
}

// The body part of the with statement, once enter() has succeeded: exit() always follows.
// Forced inline (as `with` and invoke_body are): an exception leaving the body is caught, and
// rethrown after exit(), in the caller's own frame (see detail/always_inline.hpp).
template <class CM, class Body, class... Value>
CTXLIB_DETAIL_ALWAYS_INLINE auto run_entered(CM& cm, Body&& body, Value&... value) {
  using result = decltype(invoke_body(std::forward<Body>(body), value...));
  if constexpr (std::is_void_v<result>) {
    try {
      invoke_body(std::forward<Body>(body), value...);
    } catch (...) {
      if (!static_cast<bool>(cm.exit(std::current_exception()))) rethrow_handled();
      return;
    }
    static_cast<void>(cm.exit(std::exception_ptr()));
  } else {
    static_assert(!std::is_reference_v<result>,
                  "ctxlib::with returns the body's result in a std::optional, so the body must "
                  "return a value, not a reference.");
    std::optional<result> out;
    try {
      out.emplace(invoke_body(std::forward<Body>(body), value...));
    } catch (...) {
      if (!static_cast<bool>(cm.exit(std::current_exception()))) rethrow_handled();
      return std::optional<result>();
    }
    static_cast<void>(cm.exit(std::exception_ptr()));
    return out;
  }
}

}  // namespace detail

// Runs `body` inside `cm` with the semantics of Python's `with cm as value: body(value)`.
template <class CM, class Body>
CTXLIB_DETAIL_ALWAYS_INLINE auto with(CM&& cm, Body&& body) {
  static_assert(context_manager<std::remove_reference_t<CM>>,
                "ctxlib::with needs a context manager: a type with enter() and "
                "exit(const std::exception_ptr&) returning bool.");
  // enter() runs outside the protected region: if it throws, exit() is not called (W2).
  if constexpr (std::is_void_v<detail::enter_result_t<std::remove_reference_t<CM>>>) {
    cm.enter();
    return detail::run_entered(cm, std::forward<Body>(body));
  } else {
    decltype(auto) value = cm.enter();
    return detail::run_entered(cm, std::forward<Body>(body), value);
  }
}

}  // namespace ctxlib
