// ctxlib/asynccontextmanager.hpp: Python's @asynccontextmanager as a C++20 coroutine.
//
// Like ctxlib::contextmanager, but the coroutine may `co_await` before and after its single
// `co_yield`, and the manager is entered with ctxlib::async_with (or an async exit stack).
//
//   ctxlib::asynccontextmanager<connection&> connected(pool& p) {
//     connection& c = co_await p.acquire();
//     try {
//       co_yield c;                              // the async with body runs here
//     } catch (const timeout&) {
//       co_await c.reset();                      // a handler cannot co_await: see below
//     }
//     co_await p.release(c);
//   }
//
//   co_await ctxlib::async_with(connected(pool), [](connection& c) -> ctxlib::task<> { ... });
//
// CPython's rules (catalogue AG1-AG8): "generator didn't yield" (from None, its context a
// StopAsyncIteration); "generator didn't stop" / "generator didn't stop after athrow()"
// followed by aclose() (3.11.7); aclose() delivers GeneratorExit at the co_yield and a
// coroutine that yields again gets "async generator ignored GeneratorExit"; StopIteration and
// StopAsyncIteration escaping become RuntimeError("async generator raised ...") (PEP 479),
// unwrapped when they carry the body's own; a second aenter() raises AttributeError; an aexit()
// with an exception after the coroutine finished (a manager also pushed onto a stack) is "didn't
// stop after athrow()", because athrow() into a finished async generator returns None (a
// contextmanager re-raises the exception there, as throw() does). C++ allows no co_await
// inside a catch handler: record what the handler saw and await after it.
//
// Destroying the manager while it is suspended at the co_yield destroys the frame without
// running more of the coroutine (a destructor cannot await; CPython defers that case to the
// event loop's async-generator finalizer). Each use costs one allocation for the frame, plus
// the tasks aenter() and aexit() return.
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ctxlib/async_with.hpp"
#include "ctxlib/detail/generator_rules.hpp"
#include "ctxlib/detail/handled.hpp"
#include "ctxlib/exception.hpp"
#include "ctxlib/task.hpp"

namespace ctxlib {

template <class T = void>
class [[nodiscard]] asynccontextmanager;

namespace detail {

template <class Promise>
struct resume_generator;

template <class T>
class asynccontextmanager_promise {
 public:
  asynccontextmanager<T> get_return_object() noexcept;

  struct resume_marker {
    task_frame* frame;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept { running_task = frame; }
  };
  resume_marker initial_suspend() noexcept { return {&frame_}; }

  // Suspending (at the co_yield or at the end) hands the thread back to the consumer.
  struct to_consumer {
    asynccontextmanager_promise* promise;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
      running_task = nullptr;
      return promise->consumer_;
    }
    void await_resume() const {
      running_task = &promise->frame_;
      promise->deliver();
    }
  };
  struct final_to_consumer {
    asynccontextmanager_promise* promise;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
      running_task = nullptr;
      return promise->consumer_;
    }
    void await_resume() const noexcept {}
  };
  final_to_consumer final_suspend() noexcept { return {this}; }
  void return_void() const noexcept {}
  void unhandled_exception() noexcept {
    raised_ = pep479(std::current_exception(), generator_kind::async_generator);
  }

  template <class U = T>
  requires(!std::is_void_v<U>) to_consumer yield_value(std::remove_reference_t<U>& value)
  noexcept {
    value_ = std::addressof(value);
    return {this};
  }
  template <class U = T>
  requires(!std::is_void_v<U> && !std::is_reference_v<U>) to_consumer
      yield_value(std::remove_reference_t<U>&& value)
  noexcept {
    value_ = std::addressof(value);  // a temporary lives until the co_yield completes
    return {this};
  }
  template <class U = T>
  requires std::is_void_v<U> to_consumer yield_value(yields_nothing)
  noexcept { return {this}; }

  template <class A>
  auto await_transform(A&& awaitable) {
    using inner_t = std::remove_cvref_t<decltype(awaiter_of(std::forward<A>(awaitable)))>;
    return marking_awaiter<inner_t>{awaiter_of(std::forward<A>(awaitable)), &frame_};
  }

 private:
  friend class asynccontextmanager<T>;
  template <class Promise>
  friend struct resume_generator;

  // athrow() and aclose() raise the object as is (no chaining), unlike a generator's close().
  void deliver() {
    if (delivered_) std::rethrow_exception(std::exchange(delivered_, nullptr));
  }

  task_frame frame_;
  std::coroutine_handle<> consumer_;
  std::conditional_t<std::is_void_v<T>, void*, std::remove_reference_t<T>*> value_ = nullptr;
  std::exception_ptr delivered_;
  std::exception_ptr raised_;
};

// What aenter() gives: a reference to the yielded object, or nothing.
template <class T>
struct entered {
  using type = std::remove_reference_t<T>&;
};
template <>
struct entered<void> {
  using type = void;
};

// Resumes the generator from a consumer (aenter/aexit/aclose) until it yields or finishes.
template <class Promise>
struct resume_generator {
  std::coroutine_handle<Promise> generator;
  bool* running;  // the manager's flag: set until the generator hands control back
  task_frame* awaiting_frame = nullptr;
  void set_awaiting_frame(task_frame* f) noexcept { awaiting_frame = f; }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> consumer) noexcept {
    generator.promise().consumer_ = consumer;
    generator.promise().frame_.awaiter = awaiting_frame;
    return generator;
  }
  // What escaped this step (null if the generator yielded or returned), taken from the promise
  // so that no later step can mistake it for its own.
  std::exception_ptr await_resume() const noexcept {
    *running = false;
    return std::exchange(generator.promise().raised_, nullptr);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] asynccontextmanager {
 public:
  using promise_type = detail::asynccontextmanager_promise<T>;
  using entered_type = typename detail::entered<T>::type;

  asynccontextmanager(asynccontextmanager&& other) noexcept
      : coroutine_(std::exchange(other.coroutine_, nullptr)),
        entered_(other.entered_),
        started_(other.started_),
        closed_before_start_(other.closed_before_start_),
        running_(other.running_) {}
  asynccontextmanager& operator=(asynccontextmanager&&) = delete;
  asynccontextmanager(const asynccontextmanager&) = delete;
  ~asynccontextmanager() {
    if (coroutine_) coroutine_.destroy();
  }

  // Runs the coroutine to its co_yield and gives what it yielded.
  task<entered_type> aenter() {
    if (entered_ || !coroutine_) {
      raise(attribute_error("'_AsyncGeneratorContextManager' object has no attribute 'args'"));
    }
    entered_ = true;
    // Reachable when a pushed aexit started the generator and its code enters its manager.
    if (running_) std::rethrow_exception(already_running("anext()"));
    if (!finished()) {
      // Thrown here, not handed on as a value: a task giving a reference has no value to
      // return alongside it.
      if (std::exception_ptr escaped = co_await resume()) std::rethrow_exception(escaped);
    }
    // Finished now or before (anext() on a finished generator raises StopAsyncIteration).
    if (finished()) {
      // `raise RuntimeError(...) from None` in the handler of a StopAsyncIteration, itself
      // chained like every raise as CPython does; built without throwing the latter.
      std::rethrow_exception(detail::raised_from_none(runtime_error("generator didn't yield"),
                                                      detail::raised(stop_async_iteration())));
    }
    if constexpr (!std::is_void_v<T>) co_return *promise().value_;
  }

  // Resumes the coroutine, throwing `exception` (if any) at the co_yield; decides as
  // CPython's _AsyncGeneratorContextManager.__aexit__ does (finished and never-started
  // coroutines behave as async generators do, which is not always as generators do).
  // Exceptions end the task as values (fail_with): its awaiter rethrows them, or an async
  // with or exit stack hands them on as values.
  task<bool> aexit(std::exception_ptr exception) {
    if (running_) {
      std::exception_ptr error = already_running(exception ? "athrow()" : "anext()");
      co_await detail::fail_with{&error};
      co_return false;
    }
    if (!exception) {
      if (finished()) co_return false;
      std::exception_ptr escaped = co_await resume();
      if (finished()) {
        if (escaped) co_await detail::fail_with{&escaped};
        co_return false;
      }
      auto failed = co_await detail::outcome_of(fail_and_close("generator didn't stop"));
      co_await detail::fail_with{&failed.exception()};  // always an exception
      co_return false;
    }
    if (!started_) {
      // athrow() into a generator that never ran raises the exception as it is and closes it.
      closed_before_start_ = started_ = true;
      co_return false;
    }
    // athrow() into a generator that already finished returns None (CPython 3.11 to 3.14), as if
    // it had yielded: unlike a generator's throw(), which raises the exception again.
    const bool finished_before = finished();
    std::exception_ptr escaped;
    if (!finished_before) escaped = co_await resume(exception);
    if (finished_before || !finished()) {
      auto failed =
          co_await detail::outcome_of(fail_and_close("generator didn't stop after athrow()"));
      co_await detail::fail_with{&failed.exception()};  // always an exception
      co_return false;
    }
    switch (detail::decide_after_throw(
        escaped, exception,
        exception_cast<stop_iteration>(exception) != nullptr ||
            exception_cast<stop_async_iteration>(exception) != nullptr)) {
      case detail::after_throw::suppress:
        co_return true;
      case detail::after_throw::reraise:
        co_return false;
      case detail::after_throw::replace:
        break;
    }
    co_await detail::fail_with{&escaped};
    co_return false;
  }

 private:
  friend promise_type;
  explicit asynccontextmanager(std::coroutine_handle<promise_type> coroutine) noexcept
      : coroutine_(coroutine) {}

  promise_type& promise() const noexcept { return coroutine_.promise(); }

  bool finished() const noexcept { return closed_before_start_ || coroutine_.done(); }

  // Runs the coroutine to its next suspension point handed back to us, throwing `delivered`
  // (if any) at its co_yield; awaited, it gives what escaped this step (null if the coroutine
  // yielded or returned).
  detail::resume_generator<promise_type> resume(std::exception_ptr delivered = nullptr) noexcept {
    started_ = true;
    promise().delivered_ = std::move(delivered);
    running_ = true;
    return {coroutine_, &running_};
  }

  // The generator's code can reach its own manager again while it runs (through an exit stack
  // it holds): CPython's anext(), athrow() and aclose() then raise RuntimeError before anything
  // reaches the generator. Resuming a coroutine that is not at its co_yield is undefined.
  std::exception_ptr already_running(const char* call) const {
    return detail::raised(
        runtime_error(std::string(call) + ": asynchronous generator is already running"));
  }

  // `raise RuntimeError(message)` in a try whose finally awaits aclose() (CPython 3.11.7). A
  // handler cannot await, so the error is held while aclose() runs, as the exception handled.
  task<> fail_and_close(const char* message) {
    std::exception_ptr error = detail::raised(runtime_error(message));
    std::exception_ptr replaced;
    {
      detail::handling_scope handling(error);
      auto closed = co_await detail::outcome_of(aclose());
      replaced = std::move(closed.exception());
    }
    co_await detail::fail_with{replaced ? &replaced : &error};
  }

  // Python's agen.aclose(): GeneratorExit at the co_yield of a suspended coroutine.
  task<> aclose() {
    if (!started_) closed_before_start_ = started_ = true;
    if (finished()) co_return;
    if (running_) {
      std::exception_ptr error = already_running("aclose()");
      co_await detail::fail_with{&error};
      co_return;
    }
    // Unlike a generator's close(), an async generator's aclose() throws GeneratorExit in the
    // way athrow() does: not chained to the exception being handled (CPython 3.11).
    std::exception_ptr escaped = co_await resume(std::make_exception_ptr(generator_exit()));
    if (!finished()) {
      std::exception_ptr error =
          detail::raised(runtime_error("async generator ignored GeneratorExit"));
      co_await detail::fail_with{&error};
      co_return;
    }
    if (escaped && exception_cast<generator_exit>(escaped) == nullptr) {
      co_await detail::fail_with{&escaped};
    }
  }

  std::coroutine_handle<promise_type> coroutine_;
  bool entered_ = false;
  bool started_ = false;
  bool closed_before_start_ = false;
  bool running_ = false;  // the coroutine runs: resumed, and not yet back at a co_yield or done
};

template <class T>
asynccontextmanager<T> detail::asynccontextmanager_promise<T>::get_return_object() noexcept {
  return asynccontextmanager<T>(
      std::coroutine_handle<asynccontextmanager_promise>::from_promise(*this));
}

}  // namespace ctxlib
