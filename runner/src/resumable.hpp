// resumable.hpp (private): what the runner needs to interpret a @contextmanager (or
// @asynccontextmanager) function's body inside a `ctxlib::contextmanager` (or
// `ctxlib::asynccontextmanager`) coroutine when its `yield` sits in nested blocks.
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

// What the driver delivers at a `yield`, raised there: the exception the `yield` raises, if
// any, given as a value (the executors carry exceptions as values; see runner.cpp's
// `outcome`). An exception thrown in at a yield inside a handler chains to that handler's
// exception, as CPython's gen.throw()/close() and agen.athrow()/aclose() chain to the
// generator's own exc_info (and to nothing else); elsewhere it is raised as it is.
inline std::exception_ptr raise_delivered(std::exception_ptr delivered,
                                          const std::exception_ptr& handled) {
  if (!delivered || !handled) return delivered;
  try {
    under_handled(handled, [&] { ctxlib::raise(std::move(delivered)); });
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;  // unreachable: ctxlib::raise throws
}

// `co_await yield_point{state}` at a `yield`: suspends the task chain back to the driver, and
// gives what the `yield` raises when it is resumed (raise_delivered).
template <class Value>
struct yield_point {
  generator_state<Value>& state;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> here) const noexcept { state.suspended = here; }
  std::exception_ptr await_resume() const {
    return raise_delivered(std::exchange(state.delivered, nullptr), state.handled);
  }
};

// ---------------------------------------------------------------------------------------------
// @asynccontextmanager bodies. They await as well as yield, so they are interpreted by the
// runner's async executors — ctxlib tasks, which carry "the exception being handled" along
// their await chain — and a `yield` suspends that whole chain back to the driver, the one
// `ctxlib::asynccontextmanager<value>` coroutine, which does the real `co_yield`.
//
// The driver's first step awaits the body's root task through the task's own awaiter, so the
// body's frames chain to the driver's exactly as an awaited task's do (ctxlib::raise inside the
// body then sees the exceptions its consumers handle, as CPython's exc_info chain does); later
// steps resume the innermost task at its `yield`. When the root task finishes it resumes its
// continuation — the driver, wherever it is suspended: always in `run_async_body`.

template <class Value>
struct async_generator_state {
  Value yielded{};
  std::coroutine_handle<> driver;     // the asynccontextmanager coroutine
  std::coroutine_handle<> suspended;  // the innermost task, at a `yield`
  std::exception_ptr delivered;       // raised at that `yield` when resumed
  bool finished = false;
  std::exception_ptr raised;  // what escaped the body
};

// `co_await async_yield_point{state, handling}` at a `yield` (`handling`: the innermost
// interpreted handler's exception around it, if any); gives what the `yield` raises.
template <class Value>
struct async_yield_point {
  async_generator_state<Value>& state;
  std::exception_ptr handling;

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> here) const noexcept {
    state.suspended = here;
    return state.driver;
  }
  std::exception_ptr await_resume() const {
    return raise_delivered(std::exchange(state.delivered, nullptr), handling);
  }
};

// `co_await run_async_body{state, &first}` in the driver: runs the body until it yields or
// ends. `first` is the root task's awaiter on the first step (nullptr later).
template <class Value, class RootAwaiter>
struct run_async_body {
  async_generator_state<Value>& state;
  RootAwaiter* first;

  // Forwarded from the driver's await_transform: the body's frames chain to the driver's.
  template <class Frame>
  void set_awaiting_frame(Frame* frame) noexcept {
    if (first != nullptr) first->set_awaiting_frame(frame);
  }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> driver) {
    state.driver = driver;
    if (first != nullptr) return first->await_suspend(driver);  // the continuation: the driver
    return state.suspended;
  }
  void await_resume() const noexcept {}
};

}  // namespace ctxrunner::detail
