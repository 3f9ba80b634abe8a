// resumable.hpp (private): what the runner needs to interpret a @contextmanager function's body
// inside a `ctxlib::contextmanager` coroutine when its `yield` sits in nested blocks.
//
// C++ coroutines are stackless: only the coroutine itself can suspend, not functions it calls.
// So the statements on the path to a `yield` are interpreted by coroutines too (`task`), each
// awaiting the next with symmetric transfer; a `yield` suspends the whole chain at once
// (`yield_point`) and the driver — the one `ctxlib::contextmanager<value>` coroutine — does the
// real `co_yield`. Whatever ctxlib rethrows at that co_yield (the with-body's exception, or
// GeneratorExit on close) is caught by the driver and rethrown at the suspended `yield`, so the
// interpreted try/except/finally blocks around it see it in real C++ catch blocks.
//
// "The exception being handled" (std::current_exception(), which ctxlib::raise chains to) must
// stay Python's. A coroutine cannot suspend inside a catch block, so an interpreted handler whose
// body yields runs after its C++ catch block has ended; its exception is kept in
// `generator_state::handled` and re-established around every piece of code the handler runs
// (`under_handled`: rethrow it and run the code in the catch block). Outside interpreted
// handlers the coroutine runs on its resumer's stack, so std::current_exception() is the
// resumer's, as CPython's generator frames fall back to their caller's exc_info.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

#include "ctxlib/exception.hpp"

namespace ctxrunner::detail {

// A lazily started coroutine returning T, awaited by its parent (symmetric transfer both ways).
template <class T>
class [[nodiscard]] task {
 public:
  struct promise_type {
    T result{};
    std::exception_ptr error;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
        return h.promise().continuation;
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_value(T value) noexcept { result = std::move(value); }
    // Kept and rethrown in the parent: the same object, chained to nothing new.
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  task& operator=(task&&) = delete;
  ~task() {
    if (handle_) handle_.destroy();  // destroys the frames it awaits with it
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    handle_.promise().continuation = parent;
    return handle_;
  }
  T await_resume() { return take(); }

  // For the driver, which resumes the outermost task itself.
  std::coroutine_handle<> handle() const noexcept { return handle_; }
  bool done() const noexcept { return handle_.done(); }
  T take() {
    if (handle_.promise().error) std::rethrow_exception(handle_.promise().error);
    return std::move(handle_.promise().result);
  }

 private:
  explicit task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

// One run of a generator body: where it is suspended, what it yielded, what is delivered to it.
template <class Value>
struct generator_state {
  Value yielded{};
  std::coroutine_handle<> suspended;  // the innermost task, at a `yield`
  std::exception_ptr delivered;       // rethrown at that `yield` when resumed
  std::exception_ptr handled;         // the innermost interpreted handler's exception, if any
};

// Runs `code` with `handled` as the exception being handled (if there is one).
template <class Code>
decltype(auto) under_handled(const std::exception_ptr& handled, Code&& code) {
  if (!handled) return code();
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    return code();
  }
}

// `handled` for the duration of an interpreted handler (or finally) block.
template <class Value>
class handling {
 public:
  handling(generator_state<Value>& state, std::exception_ptr exception)
      : state_(state), saved_(std::exchange(state.handled, std::move(exception))) {}
  handling(const handling&) = delete;
  handling& operator=(const handling&) = delete;
  ~handling() { state_.handled = std::move(saved_); }

 private:
  generator_state<Value>& state_;
  std::exception_ptr saved_;
};

// `co_await yield_point{state}` at a `yield`: suspends the task chain back to the driver.
template <class Value>
struct yield_point {
  generator_state<Value>& state;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> here) const noexcept { state.suspended = here; }
  // An exception thrown in at a yield inside a handler chains to that handler's exception, as
  // CPython's gen.throw()/close() chain to the generator's own exc_info.
  void await_resume() const {
    std::exception_ptr e = std::exchange(state.delivered, nullptr);
    if (!e) return;
    if (!state.handled) std::rethrow_exception(std::move(e));
    under_handled(state.handled, [&] { ctxlib::raise(std::move(e)); });
  }
};

}  // namespace ctxrunner::detail
