// ctxlib/suppress.hpp: Python's contextlib.suppress.
//
//   ctxlib::with(ctxlib::suppress<std::out_of_range, key_error>(), [&] { m.at(k) = v; });
//
// Suppresses an exception of one of the listed types (or a type derived from one), as
// `issubclass` does; anything else, and no exception at all, passes through. Stateless, so
// reusable and reentrant. enter() returns nothing (Python's None).
//
// Python's classes are run-time objects whose `__subclasscheck__` may decide membership; the
// C++ analog is an *exception matcher*: any object with `bool matches(const std::exception_ptr&)
// const`. `suppress_matching(m...)` suppresses what any matcher accepts; `suppress<E...>` is
// `suppress_matching` over `exception_type<E>...`.
#pragma once

#include <concepts>
#include <exception>
#include <tuple>
#include <utility>

#include "ctxlib/exception.hpp"

namespace ctxlib {

template <class M>
concept exception_matcher = requires(const M& matcher, const std::exception_ptr& exception) {
  { matcher.matches(exception) } -> std::convertible_to<bool>;
};

// Matches exceptions that `catch (E&)` would catch, without rethrowing.
template <class E>
struct exception_type {
  static_assert(std::is_class_v<E>, "exception_type<E> needs E to be an exception class type.");
  bool matches(const std::exception_ptr& exception) const noexcept {
    return exception_cast<E>(exception) != nullptr;
  }
};

template <exception_matcher... Matchers>
class suppress_matching {
 public:
  suppress_matching() = default;
  explicit suppress_matching(Matchers... matchers) requires(sizeof...(Matchers) > 0)
      : matchers_(std::move(matchers)...) {}

  void enter() const noexcept {}
  bool exit(const std::exception_ptr& exception) const {
    if (!exception) return false;
    return std::apply(
        [&](const Matchers&... m) { return (static_cast<bool>(m.matches(exception)) || ...); },
        matchers_);
  }

 private:
  std::tuple<Matchers...> matchers_;
};

template <class... Exceptions>
class suppress : public suppress_matching<exception_type<Exceptions>...> {};

}  // namespace ctxlib
