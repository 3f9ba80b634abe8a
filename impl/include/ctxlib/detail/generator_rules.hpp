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

// The generator finished after `thrown` was thrown in; `raised` is what escaped it (empty if
// it returned). True: suppress. False: the with statement re-raises `thrown` itself. Anything
// else escaping is rethrown. `is_stop` tells whether `thrown` is a StopIteration (or, for an
// async generator, a StopAsyncIteration), which PEP 479 wraps in RuntimeError.
inline bool decide_after_throw(const std::exception_ptr& raised, const std::exception_ptr& thrown,
                               bool is_stop) {
  if (!raised) return true;            // returned: suppressed (G12)
  if (raised == thrown) return false;  // the same object comes back (G13, G16)
  if (is_stop && exception_cast<runtime_error>(raised) != nullptr && cause_of(raised) == thrown) {
    return false;  // PEP 479 wrapped the body's own StopIteration (G14)
  }
  std::rethrow_exception(raised);  // a different exception replaces it (G15, G16)
}

// Raises `error` as Python's raise would where this is called, and returns it.
template <class E>
std::exception_ptr raised(E&& error) noexcept {
  try {
    raise(std::forward<E>(error));
  } catch (...) {
    return std::current_exception();
  }
}

// Which generator a body is, for PEP 479's message and for which exceptions it wraps.
enum class generator_kind { generator, async_generator, coroutine };

// PEP 479: StopIteration escaping a generator or coroutine (and StopAsyncIteration escaping an
// async generator) becomes RuntimeError("<kind> raised <Name>") caused by it; anything else
// escapes as it is. Called in the handler of `escaped`, which becomes the context too.
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
  try {
    raise_from(runtime_error(std::string(what) + " raised " + name), escaped);
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace ctxlib::detail
