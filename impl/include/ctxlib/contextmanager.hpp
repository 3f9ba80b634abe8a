// ctxlib/contextmanager.hpp: Python's @contextmanager as a C++20 coroutine.
//
// A function returning `ctxlib::contextmanager<T>` is a context manager written as straight-line
// code: setup, `co_yield value`, teardown. The with-body runs at the `co_yield`; if it throws,
// the very same exception object is rethrown there, so the coroutine can catch it, suppress it
// (by finishing normally), let it propagate, or replace it.
//
//   ctxlib::contextmanager<file&> opened(const char* path) {
//     file f(path);
//     try {
//       co_yield f;                         // the body runs here
//     } catch (const parse_error&) {
//       log("bad file");                    // returning normally suppresses the exception
//       co_return;
//     }
//     f.flush();                            // after a normal body
//   }
//
//   ctxlib::with(opened("a.txt"), [](file& f) { parse(f); });
//
// For a manager that yields nothing, use `contextmanager<>` and `co_yield {};`.
//
// CPython's rules (catalogue G4-G20), with its exception kinds and messages: a coroutine that
// finishes without yielding makes enter() raise RuntimeError("generator didn't yield") (from
// None, its context a StopIteration); one that yields twice makes exit() raise
// RuntimeError("generator didn't stop") or "...didn't stop after throw()", after closing the
// coroutine (CPython 3.11.7); closing delivers a GeneratorExit at the co_yield, and a coroutine
// that swallows it and yields again gets RuntimeError("generator ignored GeneratorExit"); a
// StopIteration escaping the coroutine becomes RuntimeError("generator raised StopIteration")
// (PEP 479), which exit() unwraps when it carries the body's own StopIteration; a second enter()
// raises AttributeError as CPython's does. The object is one-shot. Destroying it while suspended
// at the co_yield closes it first (as CPython's garbage collector would), discarding errors.
//
// Each use costs one allocation: the coroutine frame. To take it from an allocator, make the
// coroutine's first two parameters `std::allocator_arg_t, const Alloc&` (the convention of
// std::generator):
//
//   ctxlib::contextmanager<> scoped(std::allocator_arg_t, const arena_allocator<char>&, int n);
//   ctxlib::with(scoped(std::allocator_arg, arena, 3), [] { ... });
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/generator_rules.hpp"
#include "ctxlib/exception.hpp"

namespace ctxlib {

template <class T = void>
class [[nodiscard]] contextmanager;

namespace detail {

template <class T>
struct yielded_slot {
  using value_type = std::remove_reference_t<T>;
  value_type* value = nullptr;  // the yielded object lives across the suspension
  value_type& get() const noexcept { return *value; }
};
template <>
struct yielded_slot<void> {
  void get() const noexcept {}
};

// Coroutine frames carry, past their end, how to free them: operator delete only gets the
// frame's address and size, and the frame may come from a user's allocator.
class frame_allocation {
 public:
  static void* allocate(std::size_t size) {
    void* frame = ::operator new(padded(size) + sizeof(deallocator));
    ::new (tail(frame, size)) deallocator(&free_default);
    return frame;
  }

  template <class Alloc>
  static void* allocate(std::size_t size, const Alloc& alloc) {
    using bytes = typename std::allocator_traits<Alloc>::template rebind_alloc<std::byte>;
    static_assert(alignof(bytes) <= alignof(std::max_align_t),
                  "contextmanager's allocator must not need over-aligned storage.");
    bytes a(alloc);
    const std::size_t total = padded(padded(size) + sizeof(deallocator)) + sizeof(bytes);
    void* frame = std::allocator_traits<bytes>::allocate(a, total);
    ::new (tail(frame, size)) deallocator(&free_with<bytes>);
    ::new (allocator_slot(frame, size)) bytes(std::move(a));
    return frame;
  }

  static void deallocate(void* frame, std::size_t size) noexcept {
    (*std::launder(static_cast<deallocator*>(tail(frame, size))))(frame, size);
  }

 private:
  using deallocator = void (*)(void* frame, std::size_t size);

  static constexpr std::size_t padded(std::size_t n) noexcept {
    constexpr std::size_t a = alignof(std::max_align_t);
    return (n + a - 1) / a * a;
  }
  static void* tail(void* frame, std::size_t size) noexcept {
    return static_cast<std::byte*>(frame) + padded(size);
  }
  static void* allocator_slot(void* frame, std::size_t size) noexcept {
    return static_cast<std::byte*>(frame) + padded(padded(size) + sizeof(deallocator));
  }

  static void free_default(void* frame, std::size_t) noexcept { ::operator delete(frame); }

  template <class Bytes>
  static void free_with(void* frame, std::size_t size) noexcept {
    Bytes* stored = std::launder(static_cast<Bytes*>(allocator_slot(frame, size)));
    Bytes a(std::move(*stored));
    stored->~Bytes();
    std::allocator_traits<Bytes>::deallocate(
        a, static_cast<std::byte*>(frame),
        padded(padded(size) + sizeof(deallocator)) + sizeof(Bytes));
  }
};

template <class T>
class contextmanager_promise {
 public:
  static void* operator new(std::size_t size) { return frame_allocation::allocate(size); }
  template <class Alloc, class... Args>
  static void* operator new(std::size_t size, std::allocator_arg_t, const Alloc& alloc,
                            const Args&...) {
    return frame_allocation::allocate(size, alloc);
  }
  // A member coroutine receives the object first.
  template <class Self, class Alloc, class... Args>
  static void* operator new(std::size_t size, const Self&, std::allocator_arg_t, const Alloc& alloc,
                            const Args&...) {
    return frame_allocation::allocate(size, alloc);
  }
  static void operator delete(void* frame, std::size_t size) noexcept {
    frame_allocation::deallocate(frame, size);
  }

  contextmanager<T> get_return_object() noexcept;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  std::suspend_always final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}

  // PEP 479: a StopIteration escaping the generator becomes RuntimeError, caused by it. (A
  // StopAsyncIteration is an ordinary exception for a synchronous generator.)
  void unhandled_exception() noexcept {
    raised_ = pep479(std::current_exception(), generator_kind::generator);
  }

  // Resumes at the co_yield: throws what exit() or close() delivers there.
  struct yield_awaiter {
    contextmanager_promise* promise;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const { promise->deliver(); }
  };

  template <class U = T>
  requires(!std::is_void_v<U>) yield_awaiter yield_value(std::remove_reference_t<U>& value)
  noexcept {
    slot_.value = std::addressof(value);
    return yield_awaiter{this};
  }
  template <class U = T>
  requires(!std::is_void_v<U> && !std::is_reference_v<U>) yield_awaiter
      yield_value(std::remove_reference_t<U>&& value)
  noexcept {
    slot_.value = std::addressof(value);  // a temporary lives until the co_yield completes
    return yield_awaiter{this};
  }
  template <class U = T>
  requires std::is_void_v<U> yield_awaiter yield_value(yields_nothing)
  noexcept { return yield_awaiter{this}; }

 private:
  friend class contextmanager<T>;

  void deliver() {
    if (!delivered_) return;
    std::exception_ptr e = std::exchange(delivered_, nullptr);
    // gen.throw() raises the object as is; close() raises a new GeneratorExit, which chains
    // to the exception being handled where close() was called.
    if (chain_delivered_) raise(std::move(e));
    std::rethrow_exception(std::move(e));
  }

  yielded_slot<T> slot_;
  std::exception_ptr delivered_;
  bool chain_delivered_ = false;
  std::exception_ptr raised_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] contextmanager {
 public:
  using promise_type = detail::contextmanager_promise<T>;

  contextmanager(contextmanager&& other) noexcept
      : coroutine_(std::exchange(other.coroutine_, nullptr)),
        entered_(other.entered_),
        started_(other.started_),
        closed_before_start_(other.closed_before_start_),
        running_(other.running_) {}
  contextmanager& operator=(contextmanager&&) = delete;
  contextmanager(const contextmanager&) = delete;
  ~contextmanager() { destroy(); }

  // Runs the coroutine to its co_yield and returns what it yielded.
  decltype(auto) enter() {
    if (entered_ || coroutine_ == nullptr) {
      raise(attribute_error("'_GeneratorContextManager' object has no attribute 'args'"));
    }
    entered_ = true;
    if (!finished()) {
      if (std::exception_ptr escaped = resume()) std::rethrow_exception(std::move(escaped));
    }
    // Finished now or before (next() on a finished generator raises StopIteration).
    if (finished()) {
      // `raise RuntimeError(...) from None` in the handler of a StopIteration, itself chained
      // like every raise as CPython does; built without throwing the StopIteration.
      std::rethrow_exception(detail::raised_from_none(runtime_error("generator didn't yield"),
                                                      detail::raised(stop_iteration())));
    }
    return promise().slot_.get();
  }

  // Resumes the coroutine, throwing `exception` (if any) at the co_yield; decides as
  // CPython's _GeneratorContextManager.__exit__ does. Like a generator, a coroutine that has
  // finished gives StopIteration to next() and raises what is thrown into it, and one that has
  // not started raises it without running (G20).
  bool exit(const std::exception_ptr& exception) {
    if (!exception) {
      if (finished()) return false;
      if (std::exception_ptr escaped = resume()) std::rethrow_exception(std::move(escaped));
      if (finished()) return false;
      fail_and_close("generator didn't stop");
    }
    if (!started_) closed_before_start_ = started_ = true;
    if (finished()) return false;  // the exception is raised as it is: the same object
    std::exception_ptr escaped = resume(exception, /*chain_delivered=*/false);
    if (!finished()) fail_and_close("generator didn't stop after throw()");
    switch (detail::decide_after_throw(escaped, exception,
                                       exception_cast<stop_iteration>(exception) != nullptr)) {
      case detail::after_throw::suppress:
        return true;
      case detail::after_throw::reraise:
        return false;
      case detail::after_throw::replace:
        break;
    }
    std::rethrow_exception(std::move(escaped));
  }

 private:
  friend promise_type;
  explicit contextmanager(std::coroutine_handle<promise_type> coroutine) noexcept
      : coroutine_(coroutine) {}

  promise_type& promise() const noexcept { return coroutine_.promise(); }

  bool finished() const noexcept { return closed_before_start_ || coroutine_.done(); }

  // Runs the coroutine to its next suspension, throwing `delivered` (if any) at its co_yield,
  // and returns what escaped this step (null if it yielded or returned): only the step that
  // raised can see it, so a later call never takes an earlier step's outcome for its own.
  // (A raise ends the coroutine: an outcome is non-null only when finished().) A generator's code
  // can reach its own manager again (through an exit stack it holds): as CPython's next(), throw()
  // and close() on a running generator, that raises ValueError before anything reaches the
  // coroutine (resuming a running coroutine is undefined).
  [[nodiscard]] std::exception_ptr resume(std::exception_ptr delivered = nullptr,
                                          bool chain_delivered = false) {
    if (running_) raise_already_executing();
    started_ = true;
    promise().delivered_ = std::move(delivered);
    promise().chain_delivered_ = chain_delivered;
    running_ = true;
    coroutine_.resume();  // never throws: what escapes the body is kept in raised_
    running_ = false;
    return std::exchange(promise().raised_, nullptr);
  }

  // Out of line: every with-block resumes twice, and the error path would weigh on both.
  [[noreturn, gnu::cold, gnu::noinline]] static void raise_already_executing() {
    raise(value_error("generator already executing"));
  }

  [[noreturn]] void fail_and_close(const char* message) {
    try {
      raise(runtime_error(message));
    } catch (...) {
      close();  // CPython 3.11.7 closes the generator before the error propagates
      throw;
    }
  }

  // Python's generator.close(): GeneratorExit at the co_yield of a suspended coroutine; a
  // coroutine that never started is just marked finished.
  void close() {
    if (!started_) closed_before_start_ = started_ = true;
    if (finished()) return;
    std::exception_ptr raised =
        resume(std::make_exception_ptr(generator_exit()), /*chain_delivered=*/true);
    if (!finished()) raise(runtime_error("generator ignored GeneratorExit"));
    if (raised && exception_cast<generator_exit>(raised) == nullptr) std::rethrow_exception(raised);
  }

  void destroy() noexcept {
    if (coroutine_ == nullptr) return;
    if (started_) {
      try {
        close();
      } catch (...) {  // NOLINT(bugprone-empty-catch): CPython reports it as unraisable
      }
    }
    coroutine_.destroy();
    coroutine_ = nullptr;
  }

  std::coroutine_handle<promise_type> coroutine_;
  bool entered_ = false;
  bool started_ = false;
  bool closed_before_start_ = false;
  bool running_ = false;  // the coroutine is between resume() and its next suspension
};

template <class T>
contextmanager<T> detail::contextmanager_promise<T>::get_return_object() noexcept {
  return contextmanager<T>(std::coroutine_handle<contextmanager_promise>::from_promise(*this));
}

}  // namespace ctxlib
