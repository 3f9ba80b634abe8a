// ctxlib/detail/generator_rules.hpp: what CPython's _GeneratorContextManager and
// _AsyncGeneratorContextManager decide after throwing the body's exception into the generator
// (catalogue G12-G16, AG5-AG7), written once for contextmanager and asynccontextmanager.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "ctxlib/exception.hpp"

namespace ctxlib::detail {

// What a generator manager without a value yields: `co_yield {};`.
struct yields_nothing {};

// What the manager's exit does once the generator finished after the body's exception was
// thrown in.
enum class after_throw {
  suppress,  // it returned (G12)
  reraise,   // the with statement re-raises the body's exception itself (G13, G14, G16)
  replace,   // what escaped the generator replaces it (G15, G16)
};

// `raised` is what escaped the generator (empty if it returned), `thrown` what was thrown in.
// `is_stop` tells whether `thrown` is a StopIteration (or, for an async generator, a
// StopAsyncIteration), which PEP 479 wraps in RuntimeError. Decides without rethrowing: the
// caller raises `raised` for `replace`, synchronously or as an async task's exception.
inline after_throw decide_after_throw(const std::exception_ptr& raised,
                                      const std::exception_ptr& thrown, bool is_stop) noexcept {
  if (!raised) return after_throw::suppress;
  if (raised == thrown) return after_throw::reraise;  // the same object comes back
  if (is_stop && exception_cast<runtime_error>(raised) != nullptr && cause_of(raised) == thrown) {
    return after_throw::reraise;  // PEP 479 wrapped the body's own StopIteration (G14)
  }
  return after_throw::replace;
}

// `error` as Python's raise would raise it where this is called (its context the exception
// being handled), returned instead of thrown: the same object and chain as ctxlib::raise.
template <class E>
std::exception_ptr raised(E&& error) noexcept {
  std::exception_ptr value = std::make_exception_ptr(std::forward<E>(error));
  if (auto* r = exception_cast<base_exception>(value)) chain_to_handled(value, *r);
  return value;
}

// `raise error from None` while `handled` is the exception being handled, returned instead of
// thrown.
template <class E>
std::exception_ptr raised_from_none(E error, std::exception_ptr handled) noexcept {
  error.set_cause(nullptr);  // sets __suppress_context__ too
  std::exception_ptr value = std::make_exception_ptr(std::move(error));
  chain_to(value, *exception_cast<base_exception>(value), std::move(handled));
  return value;
}

// Which generator a body is, for PEP 479's message and for which exceptions it wraps.
enum class generator_kind { generator, async_generator, coroutine };

// PEP 479: StopIteration escaping a generator or coroutine (and StopAsyncIteration escaping an
// async generator) becomes RuntimeError("<kind> raised <Name>") caused by it, its context
// `escaped` too (as raised in the handler of `escaped`); anything else escapes as it is.
// Nothing is thrown.
inline std::exception_ptr pep479(std::exception_ptr escaped, generator_kind kind) noexcept {
  const char* name = exception_cast<stop_iteration>(escaped) != nullptr ? "StopIteration"
                     : kind == generator_kind::async_generator &&
                             exception_cast<stop_async_iteration>(escaped) != nullptr
                         ? "StopAsyncIteration"
                         : nullptr;
  if (name == nullptr) return escaped;
  const char* what = kind == generator_kind::generator         ? "generator"
                     : kind == generator_kind::async_generator ? "async generator"
                                                               : "coroutine";
  runtime_error error(std::string(what) + " raised " + name);
  error.set_cause(escaped);
  std::exception_ptr value = std::make_exception_ptr(std::move(error));
  chain_to(value, *exception_cast<base_exception>(value), std::move(escaped));
  return value;
}

}  // namespace ctxlib::detail
