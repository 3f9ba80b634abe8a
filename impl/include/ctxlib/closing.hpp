// ctxlib/closing.hpp: Python's contextlib.closing.
//
//   ctxlib::with(ctxlib::closing(connection), [](auto& c) { c.send(request); });
//
// enter() returns the thing; exit() always calls its close(), with or without an exception in
// flight, and never suppresses. An exception thrown by close() replaces the one in flight.
// `closing(lvalue)` refers to the thing; `closing(rvalue)` owns it.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

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

}  // namespace ctxlib
