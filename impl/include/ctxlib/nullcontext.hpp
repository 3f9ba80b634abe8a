// ctxlib/nullcontext.hpp: Python's contextlib.nullcontext.
//
//   auto cm = ctxlib::nullcontext(42);
//   ctxlib::with(cm, [](int& v) { use(v); });    // v == 42; nothing else happens
//
// A context manager that does nothing: enter() returns the stored value (nothing for
// `nullcontext()`), exit() never suppresses. Stateless apart from the value, so reusable and
// reentrant. Like Python's, it is an async context manager too (aenter / aexit).
#pragma once

#include <exception>
#include <utility>

#include "ctxlib/async_with.hpp"

namespace ctxlib {

template <class T = void>
class nullcontext {
 public:
  explicit nullcontext(T enter_result) : enter_result_(std::move(enter_result)) {}

  T& enter() noexcept { return enter_result_; }
  bool exit(const std::exception_ptr&) const noexcept { return false; }
  ready<T&> aenter() noexcept { return {enter_result_}; }
  ready<bool> aexit(const std::exception_ptr&) const noexcept { return {false}; }

 private:
  T enter_result_;
};

template <>
class nullcontext<void> {
 public:
  void enter() const noexcept {}
  bool exit(const std::exception_ptr&) const noexcept { return false; }
  std::suspend_never aenter() const noexcept { return {}; }
  ready<bool> aexit(const std::exception_ptr&) const noexcept { return {false}; }
};

nullcontext()->nullcontext<void>;
template <class T>
nullcontext(T) -> nullcontext<T>;

}  // namespace ctxlib
