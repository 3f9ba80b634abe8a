// ctxlib/neutral_exit_stack.hpp: asyncstdlib's async-neutral ExitStack — one stack whose
// enter_context, push and callback accept synchronous and asynchronous managers and callables
// alike, closed with aclose().
//
//   ctxlib::neutral_exit_stack stack;
//   co_await stack.enter_context(std::move(lock));          // a synchronous manager
//   co_await stack.enter_context(connected(pool));          // an async one
//   stack.callback([] { std::puts("sync"); });
//   stack.callback([]() -> ctxlib::task<> { co_await flush(); });
//   co_await stack.aclose();
//
// Its reference is CPython's AsyncExitStack with the matching method chosen per entry
// (enter_context or enter_async_context, push or push_async_exit, callback or
// push_async_callback), so it unwinds exactly as async_exit_stack does. Where asyncstdlib itself
// differs from CPython, ctxlib follows CPython (docs/differences.md): entries are removed before
// they run, so a second aclose() runs nothing; callback exceptions are not chained when no
// exception is being handled (gh-102201); what cannot be pushed is a compile error, not a
// TypeError at push time.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "ctxlib/async_exit_stack.hpp"
#include "ctxlib/task.hpp"

namespace ctxlib {

class neutral_exit_stack {
 public:
  neutral_exit_stack() noexcept = default;

  // Async context-manager protocol.
  ready<neutral_exit_stack&> aenter() noexcept { return {*this}; }
  task<bool> aexit(std::exception_ptr exception) { return stack_.aexit(std::move(exception)); }

  // Enters a synchronous or asynchronous context manager; the result is always awaited.
  template <class CM>
  auto enter_context(CM&& cm) {
    using manager = std::remove_cvref_t<CM>;
    if constexpr (async_context_manager<manager>) {
      return stack_.enter_async_context(std::forward<CM>(cm));
    } else {
      static_assert(context_manager<manager>,
                    "neutral_exit_stack::enter_context needs a context manager, synchronous or "
                    "asynchronous.");
      using entered = decltype(std::declval<manager&>().enter());
      return enter_sync<entered, CM>(stack_, std::forward<CM>(cm));  // an lvalue is referenced
    }
  }

  // Pushes a manager's exit (without entering it) or an exit callable; an async manager or a
  // callable returning an awaitable is awaited at unwind.
  template <class Exit>
  void push(Exit&& exit) {
    using pushed = std::remove_cvref_t<Exit>;
    if constexpr (async_context_manager<pushed>) {
      stack_.push_async_exit(std::forward<Exit>(exit));
    } else if constexpr (context_manager<pushed>) {
      stack_.push(std::forward<Exit>(exit));
    } else if constexpr (std::is_invocable_v<pushed&, const std::exception_ptr&> &&
                         detail::awaitable<
                             std::invoke_result_t<pushed&, const std::exception_ptr&>>) {
      stack_.push_async_exit(std::forward<Exit>(exit));
    } else {
      stack_.push(std::forward<Exit>(exit));
    }
  }

  // Pushes `fn(args...)`; if it returns an awaitable, that is awaited at unwind.
  template <class F, class... Args>
  void callback(F&& fn, Args&&... args) {
    if constexpr (detail::awaitable<
                      std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>>) {
      stack_.push_async_callback(std::forward<F>(fn), std::forward<Args>(args)...);
    } else {
      stack_.callback(std::forward<F>(fn), std::forward<Args>(args)...);
    }
  }

  neutral_exit_stack pop_all() noexcept {
    neutral_exit_stack moved;
    moved.stack_ = stack_.pop_all();
    return moved;
  }

  task<> aclose() { return stack_.aclose(); }

  std::size_t size() const noexcept { return stack_.size(); }
  bool empty() const noexcept { return stack_.empty(); }

 private:
  template <class Entered, class CM>
  static task<Entered> enter_sync(async_exit_stack& stack, CM cm) {
    if constexpr (std::is_void_v<Entered>) {
      stack.enter_context(std::forward<CM>(cm));
      co_return;
    } else {
      co_return stack.enter_context(std::forward<CM>(cm));
    }
  }

  async_exit_stack stack_;
};

}  // namespace ctxlib
