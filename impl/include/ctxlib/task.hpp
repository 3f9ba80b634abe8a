// ctxlib/task.hpp: the async core — a lazily started coroutine task, and a way to run one to
// completion with nothing but the standard library.
//
//   ctxlib::task<int> answer() {
//     co_await ctxlib::yield_now();             // suspends; sync_wait's loop resumes it
//     co_return 42;
//   }
//   int v = ctxlib::sync_wait(answer());
//
// A task starts when it is awaited (or handed to sync_wait) and resumes its awaiter when it
// finishes (symmetric transfer: awaiting chains of any depth use no stack). Its exception is
// rethrown, as the same object, to the awaiter. `sync_wait` runs a task on the calling thread,
// with a simple FIFO of tasks that `yield_now()` suspended; code driven by another event loop
// (asio) awaits ctxlib tasks through that loop's adapter instead (ctxlib/asio.hpp).
//
// Unlike a Python coroutine (PEP 479), a task lets a `ctxlib::stop_iteration` escape as it is:
// it returns by `co_return`, never through StopIteration (docs/differences.md).
//
// Tasks also carry "the exception being handled" along the await chain
// (detail/handled.hpp), which an async `with` sets while its exit runs, so `ctxlib::raise`
// and the exit stacks chain exceptions inside async exits as CPython does.
#pragma once

#include <coroutine>
#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/handled.hpp"

namespace ctxlib {

template <class T = void>
class [[nodiscard]] task;

namespace detail {

struct task_access;

// The awaiter an awaitable yields: its own operator co_await's result, or itself.
template <class A>
decltype(auto) awaiter_of(A&& awaitable) {
  if constexpr (requires { std::forward<A>(awaitable).operator co_await(); }) {
    return std::forward<A>(awaitable).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<A>(awaitable)); }) {
    return operator co_await(std::forward<A>(awaitable));
  } else {
    return std::forward<A>(awaitable);
  }
}

template <class A>
using await_result_t =
    decltype(std::declval<std::remove_cvref_t<decltype(awaiter_of(std::declval<A>()))>&>()
                 .await_resume());

template <class A>
concept awaitable = requires(A&& a) {
  { awaiter_of(std::forward<A>(a)).await_ready() } -> std::convertible_to<bool>;
  awaiter_of(std::forward<A>(a)).await_resume();
};

// Where a value or an exception waits for the awaiter. Also what outcome_of() gives: the
// result of an await, its exception held as a value.
template <class T>
class task_result {
 public:
  template <class U>
  void return_value(U&& value) {
    if constexpr (std::is_reference_v<T>) {
      value_ = std::addressof(value);
    } else {
      value_.emplace(std::forward<U>(value));
    }
  }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  // Taken once: the exception is moved into the rethrow (no reference count round trip).
  T take() {
    if (exception_) std::rethrow_exception(std::move(exception_));
    if constexpr (std::is_reference_v<T>) {
      return static_cast<T>(*value_);
    } else {
      return std::move(*value_);
    }
  }
  std::exception_ptr& exception() noexcept { return exception_; }
  void set_exception(std::exception_ptr e) noexcept { exception_ = std::move(e); }

 private:
  std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, std::optional<T>>
      value_{};
  std::exception_ptr exception_;
};

template <>
class task_result<void> {
 public:
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  void take() {
    if (exception_) std::rethrow_exception(std::move(exception_));
  }
  std::exception_ptr& exception() noexcept { return exception_; }
  void set_exception(std::exception_ptr e) noexcept { exception_ = std::move(e); }

 private:
  std::exception_ptr exception_;
};

// `co_await fail_with(e); co_return <anything>;` ends a task with `e` as its exception without
// throwing it: its awaiter sees it as if the task had thrown it (a rethrow is a whole unwind).
struct fail_with {
  std::exception_ptr* exception;  // moved from; a pointer, so the operand has no destructor
};

// Around an awaiter: clears the running task while suspended, marks it again on resume.
template <class Inner>
struct marking_awaiter {
  Inner inner;
  task_frame* frame;

  bool await_ready() { return inner.await_ready(); }
  template <class Promise>
  auto await_suspend(std::coroutine_handle<Promise> self) {
    if constexpr (requires { inner.set_awaiting_frame(frame); }) inner.set_awaiting_frame(frame);
    running_task = nullptr;
    return inner.await_suspend(self);
  }
  decltype(auto) await_resume() {
    running_task = frame;
    return inner.await_resume();
  }
};

template <class T>
class task_promise : public task_result<T> {
 public:
  task<T> get_return_object() noexcept;

  // Every point where this task gets the thread back marks it as the running task.
  struct resume_marker {
    task_frame* frame;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept { running_task = frame; }
  };
  resume_marker initial_suspend() noexcept { return {&frame}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<task_promise> done) noexcept {
      running_task = nullptr;
      std::coroutine_handle<> next = done.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  // Wraps every awaitable so this task is marked running again when it resumes, and tells an
  // awaited ctxlib task who awaits it (the chain `handled_exception` walks).
  template <class A>
  auto await_transform(A&& awaitable) {
    using inner_t = std::remove_cvref_t<decltype(awaiter_of(std::forward<A>(awaitable)))>;
    return marking_awaiter<inner_t>{awaiter_of(std::forward<A>(awaitable)), &frame};
  }
  std::suspend_never await_transform(fail_with failure) noexcept {
    this->set_exception(std::move(*failure.exception));
    return {};
  }

  task_frame frame;
  std::coroutine_handle<> continuation;
};

}  // namespace detail

// Where yield_now() sends a suspended coroutine to be resumed later: sync_wait's FIFO, or an
// event loop's adapter (ctxlib/asio.hpp posts it to the executor).
class scheduler {
 public:
  virtual void schedule(std::coroutine_handle<> ready) = 0;

 protected:
  ~scheduler() = default;
};

namespace detail {

// The scheduler driving the code running on this thread, if any.
inline thread_local scheduler* current_scheduler = nullptr;

// Installs a scheduler for a scope (and the running task it interrupts), restoring both after.
class scheduler_scope {
 public:
  explicit scheduler_scope(scheduler* s) noexcept
      : previous_scheduler_(std::exchange(current_scheduler, s)),
        previous_task_(std::exchange(running_task, nullptr)) {}
  ~scheduler_scope() {
    current_scheduler = previous_scheduler_;
    running_task = previous_task_;
  }
  scheduler_scope(const scheduler_scope&) = delete;
  scheduler_scope& operator=(const scheduler_scope&) = delete;

 private:
  scheduler* previous_scheduler_;
  const task_frame* previous_task_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;

  task(task&& other) noexcept : coroutine_(std::exchange(other.coroutine_, nullptr)) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (coroutine_) coroutine_.destroy();
      coroutine_ = std::exchange(other.coroutine_, nullptr);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  // Destroying a task that has not finished destroys its frame (and the frames it owns).
  ~task() {
    if (coroutine_) coroutine_.destroy();
  }

  // Awaiting starts the task and resumes the awaiter when it finishes.
  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> coroutine;
      detail::task_frame* awaiting_frame = nullptr;
      void set_awaiting_frame(detail::task_frame* f) noexcept { awaiting_frame = f; }
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter_handle) noexcept {
        coroutine.promise().continuation = awaiter_handle;
        coroutine.promise().frame.awaiter = awaiting_frame;
        return coroutine;
      }
      T await_resume() { return coroutine.promise().take(); }
    };
    return awaiter{coroutine_};
  }

 private:
  friend promise_type;
  template <class U>
  friend U sync_wait(task<U> t);
  friend struct detail::task_access;

  explicit task(std::coroutine_handle<promise_type> coroutine) noexcept : coroutine_(coroutine) {}

  std::coroutine_handle<promise_type> coroutine_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}

namespace detail {

struct task_access {
  template <class T>
  static std::coroutine_handle<task_promise<T>> handle(const task<T>& t) noexcept {
    return t.coroutine_;
  }
};

template <class T>
inline constexpr bool is_task = false;
template <class T>
inline constexpr bool is_task<task<T>> = true;

// Awaits a ctxlib task and gives its result with the exception as a value: nothing is rethrown.
template <class T>
struct task_outcome_awaiter {
  std::coroutine_handle<task_promise<T>> coroutine;
  task_frame* awaiting_frame = nullptr;
  void set_awaiting_frame(task_frame* f) noexcept { awaiting_frame = f; }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter_handle) noexcept {
    coroutine.promise().continuation = awaiter_handle;
    coroutine.promise().frame.awaiter = awaiting_frame;
    return coroutine;
  }
  task_result<T> await_resume() noexcept {
    return std::move(static_cast<task_result<T>&>(coroutine.promise()));
  }
};

// Awaits any other awaitable, catching what its await_resume() throws (the first throw of that
// exception, or a foreign task's rethrow: unavoidable here).
template <class Inner>
struct catching_awaiter {
  using value_type = decltype(std::declval<Inner&>().await_resume());
  Inner inner;

  void set_awaiting_frame(task_frame* f) noexcept {
    if constexpr (requires { inner.set_awaiting_frame(f); }) inner.set_awaiting_frame(f);
  }
  bool await_ready() { return inner.await_ready(); }
  template <class Promise>
  decltype(auto) await_suspend(std::coroutine_handle<Promise> self) {
    return inner.await_suspend(self);
  }
  task_result<value_type> await_resume() noexcept {
    task_result<value_type> result;
    try {
      if constexpr (std::is_void_v<value_type>) {
        inner.await_resume();
      } else {
        result.return_value(inner.await_resume());
      }
    } catch (...) {
      result.unhandled_exception();
    }
    return result;
  }
};

// `co_await outcome_of(x)` awaits `x` inside a ctxlib task and gives a task_result: the value,
// or the exception as a std::exception_ptr, which the caller hands on without a rethrow.
template <class A>
auto outcome_of(A&& awaitable) {
  using plain = std::remove_cvref_t<A>;
  if constexpr (is_task<plain> && !std::is_lvalue_reference_v<A>) {
    return task_outcome_awaiter<await_result_t<plain>>{task_access::handle(awaitable)};
  } else {
    using inner_t = std::remove_cvref_t<decltype(awaiter_of(std::forward<A>(awaitable)))>;
    return catching_awaiter<inner_t>{awaiter_of(std::forward<A>(awaitable))};
  }
}

// What a task that ended with fail_with() returns alongside its exception (never seen).
template <class T>
T no_result() noexcept {
  if constexpr (!std::is_void_v<T>) return T();
}

}  // namespace detail

// Suspends the awaiting task and has the current scheduler resume it after the others ready
// to run (Python's `await asyncio.sleep(0)`).
inline auto yield_now() noexcept {
  struct awaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
      if (detail::current_scheduler == nullptr) {
        throw std::logic_error(
            "ctxlib::yield_now() needs a scheduler: run the task with ctxlib::sync_wait or an "
            "event-loop adapter");
      }
      detail::current_scheduler->schedule(h);
    }
    void await_resume() const noexcept {}
  };
  return awaiter{};
}

// Runs `t` to completion on this thread and returns its result (or rethrows its exception).
template <class T>
T sync_wait(task<T> t) {
  struct fifo final : scheduler {
    std::deque<std::coroutine_handle<>> ready;
    void schedule(std::coroutine_handle<> h) override { ready.push_back(h); }
  } queue;
  detail::scheduler_scope scope(&queue);

  t.coroutine_.resume();
  while (!t.coroutine_.done()) {
    if (queue.ready.empty()) {
      throw std::logic_error(
          "ctxlib::sync_wait: the task is suspended on something this loop does not drive");
    }
    std::coroutine_handle<> next = queue.ready.front();
    queue.ready.pop_front();
    next.resume();
  }
  return t.coroutine_.promise().take();
}

}  // namespace ctxlib
