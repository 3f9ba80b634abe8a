// ctxlib/exception.hpp: exceptions that carry Python's chain, and Python's `raise`.
//
// A C++ exception can opt in to Python's exception chain by deriving from
// `ctxlib::base_exception` (Python's BaseException) or one of its subclasses. It then carries
// `__context__` (the exception being handled when it was raised), `__cause__` (`raise ... from`)
// and `__suppress_context__`, and ctxlib maintains them exactly where CPython's contextlib does.
//
//   struct config_error : ctxlib::exception { using exception::exception; };
//
//   try {
//     parse();
//   } catch (...) {
//     ctxlib::raise(config_error("bad config"));     // context = the exception being handled
//   }
//
//   if (auto* e = ctxlib::exception_cast<config_error>(ptr)) use(e->context());
//
// C++ has no hook at `throw`, so a plain `throw` chains nothing; `ctxlib::raise` is Python's
// `raise` statement: it sets `__context__` to the exception being handled
// (`std::current_exception()`, or in a ctxlib task the one an async exit is handling) unless
// that is the raised object itself, cutting any cycle as CPython does.
//
// `exception_cast<T>(ptr)` answers "is the exception in `ptr` a T?" without rethrowing it (a
// rethrow costs about a microsecond; the type test about 15 ns on libstdc++).
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "ctxlib/detail/always_inline.hpp"
#include "ctxlib/detail/handled.hpp"

namespace ctxlib {

// Python's BaseException: an exception with a context, a cause and a suppress-context flag.
// Objects are shared through std::exception_ptr, so the chain is read and written through it.
class base_exception : public std::exception {
 public:
  base_exception() = default;
  explicit base_exception(std::string message) : message_(std::move(message)) {}

  // The message, as str() of the Python exception would give it.
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const noexcept { return message_; }

  // Python's class name for this exception, e.g. "RuntimeError".
  virtual std::string_view python_type_name() const noexcept { return "BaseException"; }

  // `__context__`: the exception that was being handled when this one was raised.
  const std::exception_ptr& context() const noexcept { return context_; }
  // `__cause__`: set by `raise ... from cause`.
  const std::exception_ptr& cause() const noexcept { return cause_; }
  // `__suppress_context__`: set by `raise ... from`; hides the context when printing.
  bool suppress_context() const noexcept { return suppress_context_; }

  // Attribute assignment, as in Python: `exc.__context__ = x` changes only the context;
  // `exc.__cause__ = x` also sets `__suppress_context__` (CPython's PyException_SetCause).
  void set_context(std::exception_ptr context) noexcept { context_ = std::move(context); }
  void set_cause(std::exception_ptr cause) noexcept {
    cause_ = std::move(cause);
    suppress_context_ = true;
  }
  void set_suppress_context(bool suppress) noexcept { suppress_context_ = suppress; }

 private:
  std::string message_;
  std::exception_ptr context_;
  std::exception_ptr cause_;
  bool suppress_context_ = false;
};

// The exception kinds ctxlib itself raises, with CPython's names and hierarchy.
#define CTXLIB_DEFINE_EXCEPTION(cpp_name, base, python_name)                            \
  class cpp_name : public base {                                                        \
   public:                                                                              \
    using base::base;                                                                   \
    std::string_view python_type_name() const noexcept override { return python_name; } \
  }

CTXLIB_DEFINE_EXCEPTION(exception, base_exception, "Exception");
CTXLIB_DEFINE_EXCEPTION(generator_exit, base_exception, "GeneratorExit");
CTXLIB_DEFINE_EXCEPTION(runtime_error, exception, "RuntimeError");
CTXLIB_DEFINE_EXCEPTION(type_error, exception, "TypeError");
CTXLIB_DEFINE_EXCEPTION(attribute_error, exception, "AttributeError");
CTXLIB_DEFINE_EXCEPTION(value_error, exception, "ValueError");
CTXLIB_DEFINE_EXCEPTION(stop_iteration, exception, "StopIteration");
CTXLIB_DEFINE_EXCEPTION(stop_async_iteration, exception, "StopAsyncIteration");
// asyncio.CancelledError: a BaseException, so `catch (const ctxlib::exception&)` lets it pass,
// and every unwind treats it like any other exception.
CTXLIB_DEFINE_EXCEPTION(cancelled_error, base_exception, "CancelledError");

#undef CTXLIB_DEFINE_EXCEPTION

namespace detail {

#if defined(__GLIBCXX__) && (defined(__GXX_RTTI) || defined(__cpp_rtti))
// libstdc++: an exception_ptr is one pointer to the thrown object, and type_info::__do_catch
// performs exactly the matching (and base-class adjustment) a `catch (T&)` clause does.
inline constexpr bool abi_type_test = sizeof(std::exception_ptr) == sizeof(void*);

template <class T>
T* exception_cast_abi(const std::exception_ptr& ptr) noexcept {
  const std::type_info* thrown = ptr.__cxa_exception_type();
  if (thrown == nullptr) return nullptr;
  void* object = *reinterpret_cast<void* const*>(&ptr);
  if (*thrown == typeid(T)) return static_cast<T*>(object);
  if (typeid(T).__do_catch(thrown, &object, 1)) return static_cast<T*>(object);
  return nullptr;
}
#else
inline constexpr bool abi_type_test = false;
#endif

}  // namespace detail

// The exception object held by `ptr` as a T (as `catch (T&)` would bind it), or nullptr if it
// is not a T or `ptr` is empty. Never throws and, on libstdc++, never rethrows.
template <class T>
T* exception_cast(const std::exception_ptr& ptr) noexcept {
  static_assert(std::is_class_v<T>, "exception_cast<T> needs T to be a class type.");
  if (!ptr) return nullptr;
#if defined(__GLIBCXX__) && (defined(__GXX_RTTI) || defined(__cpp_rtti))
  if constexpr (detail::abi_type_test) return detail::exception_cast_abi<T>(ptr);
#endif
  try {
    std::rethrow_exception(ptr);
  } catch (T& e) {
    return &e;  // the object lives as long as `ptr` holds it
  } catch (...) {
    return nullptr;
  }
}

// `__context__` / `__cause__` of the exception in `ptr`; empty for exceptions without a chain.
inline std::exception_ptr context_of(const std::exception_ptr& ptr) noexcept {
  auto* e = exception_cast<base_exception>(ptr);
  return e != nullptr ? e->context() : std::exception_ptr();
}
inline std::exception_ptr cause_of(const std::exception_ptr& ptr) noexcept {
  auto* e = exception_cast<base_exception>(ptr);
  return e != nullptr ? e->cause() : std::exception_ptr();
}

namespace detail {

// What CPython does when raising `value` while `handled` is being handled: cut the link that
// points back at `value` from `handled`'s context chain (Floyd's cycle check stops on a
// pre-existing cycle), then make `handled` the context of `value`. The walk holds plain
// pointers: the chain keeps its links alive, so no reference counts change on the way.
inline void chain_to(const std::exception_ptr& value, base_exception& raised,
                     std::exception_ptr handled) noexcept {
  if (!handled || handled == value) return;
  base_exception* link = exception_cast<base_exception>(handled);
  base_exception* slow = link;
  bool advance_slow = false;
  while (link != nullptr) {
    const std::exception_ptr& next = link->context();
    if (!next) break;
    if (next == value) {
      link->set_context(nullptr);
      break;
    }
    link = exception_cast<base_exception>(next);
    if (link == slow) break;
    if (advance_slow) slow = exception_cast<base_exception>(slow->context());
    advance_slow = !advance_slow;
  }
  raised.set_context(std::move(handled));
}

inline void chain_to_handled(const std::exception_ptr& value, base_exception& raised) noexcept {
  chain_to(value, raised, handled_exception());
}

}  // namespace detail

// Python's `raise value`: raises the very object in `value`; if it carries a chain, its
// `__context__` becomes the exception being handled (if any, and if not itself). The raise
// functions are forced inline: the exception then leaves the caller's frame directly, not
// through one more frame with its own clean-up (see detail/always_inline.hpp).
[[noreturn]] CTXLIB_DETAIL_ALWAYS_INLINE void raise(std::exception_ptr value) {
  if (auto* raised = exception_cast<base_exception>(value))
    detail::chain_to_handled(value, *raised);
  std::rethrow_exception(std::move(value));
}

// Python's `raise E(...)` for a new exception object.
template <class E>
requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>)
    [[noreturn]] CTXLIB_DETAIL_ALWAYS_INLINE void raise(E&& error) {
  static_assert(std::is_class_v<std::decay_t<E>>, "ctxlib::raise takes an exception object.");
  raise(std::make_exception_ptr(std::forward<E>(error)));
}

// Python's `raise value from cause` (`cause` empty: `raise value from None`). Sets `__cause__`
// and `__suppress_context__`, then raises as `raise(value)` does.
[[noreturn]] CTXLIB_DETAIL_ALWAYS_INLINE void raise_from(std::exception_ptr value,
                                                         std::exception_ptr cause) {
  if (auto* raised = exception_cast<base_exception>(value)) {
    raised->set_cause(std::move(cause));  // sets __suppress_context__ too
  }
  raise(std::move(value));
}

template <class E>
requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>)
    [[noreturn]] CTXLIB_DETAIL_ALWAYS_INLINE void raise_from(E&& error, std::exception_ptr cause) {
  static_assert(std::is_class_v<std::decay_t<E>>, "ctxlib::raise_from takes an exception object.");
  raise_from(std::make_exception_ptr(std::forward<E>(error)), std::move(cause));
}

}  // namespace ctxlib
