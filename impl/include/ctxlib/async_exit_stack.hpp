// ctxlib/async_exit_stack.hpp: Python's contextlib.AsyncExitStack.
//
// One LIFO stack of synchronous and asynchronous exits, unwound by awaiting the asynchronous
// ones, with exactly the rules of exit_stack (the same unwinding core, detail/unwind.hpp).
//
//   ctxlib::task<> serve() {
//     ctxlib::async_exit_stack stack;
//     co_await ctxlib::async_with(stack, [&]() -> ctxlib::task<> {
//       connection& c = co_await stack.enter_async_context(open_connection());
//       stack.callback([] { std::puts("sync cleanup"); });
//       stack.push_async_callback([&]() -> ctxlib::task<> { co_await c.flush(); });
//       co_await c.send(request);
//     });
//   }
//
// As in CPython (A1-A7): enter_async_context awaits aenter() and pushes aexit() only if that
// succeeded; push_async_exit takes an async context manager (its aexit, not entered) or an
// async exit function; push_async_callback binds its arguments now and never suppresses;
// enter_context / push / callback register synchronous entries on the same stack; aclose()
// unwinds with no exception. There is no synchronous close(): the stack is not a synchronous
// context manager. A stop_iteration an entry raises leaves aexit() (and aclose()) as
// runtime_error("coroutine raised StopIteration") caused by it: CPython's __aexit__ is a
// coroutine, and PEP 479 applies where it ends.
//
// A destructor cannot await, so an async_exit_stack destroyed with entries left drops them
// without running them (as CPython does with an unclosed stack). Close it with aclose() or use
// it with async_with.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "ctxlib/async_with.hpp"
#include "ctxlib/detail/exit_callback.hpp"
#include "ctxlib/detail/generator_rules.hpp"
#include "ctxlib/detail/unwind.hpp"
#include "ctxlib/exit_stack.hpp"
#include "ctxlib/task.hpp"

namespace ctxlib {

namespace detail {

using async_exit_callback = basic_exit_callback<task<bool>>;
using async_stack_entry = std::variant<exit_callback, async_exit_callback>;

// Awaits `awaitable` and gives its result as a bool (an async exit's decision). An exception
// ends this task as a value (fail_with), for the unwind to take without a rethrow.
template <class A>
task<bool> await_as_bool(A awaitable) {
  auto decided = co_await outcome_of(std::move(awaitable));
  if (decided.exception()) {
    co_await fail_with{&decided.exception()};
    co_return false;
  }
  co_return static_cast<bool>(decided.take());
}

// An async exit's task: a task<bool> itself, anything else through await_as_bool.
template <class A>
task<bool> as_exit_task(A&& awaitable) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, task<bool>> &&
                !std::is_lvalue_reference_v<A>) {
    return std::move(awaitable);
  } else {
    return await_as_bool(std::forward<A>(awaitable));
  }
}

}  // namespace detail

class async_exit_stack : public detail::basic_exit_stack<detail::async_stack_entry> {
 public:
  async_exit_stack() noexcept = default;
  async_exit_stack(async_exit_stack&&) noexcept = default;
  async_exit_stack& operator=(async_exit_stack&&) noexcept = default;
  async_exit_stack(const async_exit_stack&) = delete;
  async_exit_stack& operator=(const async_exit_stack&) = delete;
  ~async_exit_stack() = default;

  // Async context-manager protocol: entering gives the stack itself.
  ready<async_exit_stack&> aenter() noexcept { return ready<async_exit_stack&>{*this}; }
  // Unwinds every entry with `exception` in flight; true if it was suppressed.
  task<bool> aexit(std::exception_ptr exception) {
    detail::unwind_state state(std::move(exception));
    while (!empty()) {
      detail::async_stack_entry entry = pop_entry();
      std::exception_ptr raised;
      bool suppress = false;
      try {
        if (auto* sync = std::get_if<detail::exit_callback>(&entry)) {
          suppress = (*sync)(state.current());
        } else {
          // What an async entry raises comes back as a value: no rethrow to catch it here.
          auto exited = co_await detail::outcome_of(
              std::get<detail::async_exit_callback>(entry)(state.current()));
          if (exited.exception()) {
            raised = std::move(exited.exception());
          } else {
            suppress = exited.take();
          }
        }
      } catch (...) {
        raised = std::current_exception();
      }
      if (raised) {
        state.raised(std::move(raised));
      } else {
        state.returned(suppress);
      }
    }
    std::exception_ptr pending = state.take_pending();
    if (!pending) co_return state.result();
    // CPython's __aexit__ is a coroutine, so PEP 479 meets a StopIteration an entry raised
    // there (an exception the body raised and nothing replaced never leaves __aexit__).
    pending = detail::pep479(std::move(pending), detail::generator_kind::coroutine);
    co_await detail::fail_with{&pending};
    co_return false;
  }

  // Awaits `cm.aenter()`, then pushes its aexit; gives what aenter() gave. An lvalue is
  // referenced; an rvalue is moved into the stack, at a stable address.
  template <class CM>
  auto enter_async_context(CM&& cm) {
    using manager = std::remove_cvref_t<CM>;
    static_assert(async_context_manager<manager>,
                  "async_exit_stack::enter_async_context needs an async context manager: a type "
                  "with aenter() and aexit(const std::exception_ptr&) returning awaitables.");
    using entered = detail::await_result_t<decltype(std::declval<manager&>().aenter())>;
    if constexpr (std::is_lvalue_reference_v<CM>) {
      return enter_then_push<entered>(
          cm, [&cm](const std::exception_ptr& e) { return detail::as_exit_task(cm.aexit(e)); });
    } else {
      auto owned = std::make_unique<manager>(std::forward<CM>(cm));
      manager& target = *owned;
      return enter_then_push<entered>(target,
                                      [owned = std::move(owned)](const std::exception_ptr& e) {
                                        return detail::as_exit_task(owned->aexit(e));
                                      });
    }
  }

  // Pushes an asynchronous exit without entering anything: an async context manager's aexit,
  // or a callable taking the exception and returning an awaitable whose result is the decision.
  template <class Exit>
  void push_async_exit(Exit&& exit) {
    using pushed = std::remove_cvref_t<Exit>;
    if constexpr (async_context_manager<pushed>) {
      if constexpr (std::is_lvalue_reference_v<Exit>) {
        push_async(
            [&exit](const std::exception_ptr& e) { return detail::as_exit_task(exit.aexit(e)); });
      } else {
        push_async(
            [owned = std::make_unique<pushed>(std::forward<Exit>(exit))](
                const std::exception_ptr& e) { return detail::as_exit_task(owned->aexit(e)); });
      }
    } else {
      static_assert(std::is_invocable_v<pushed&, const std::exception_ptr&>,
                    "async_exit_stack::push_async_exit needs an async context manager or a "
                    "callable taking const std::exception_ptr& and returning an awaitable.");
      static_assert(detail::awaitable<std::invoke_result_t<pushed&, const std::exception_ptr&>>,
                    "async_exit_stack::push_async_exit's callable must return an awaitable.");
      push_async([fn = std::forward<Exit>(exit)](const std::exception_ptr& e) mutable {
        return detail::as_exit_task(std::invoke(fn, e));
      });
    }
  }

  // Pushes `fn(args...)`, whose result is awaited at unwind; the arguments are bound now. It
  // never suppresses.
  template <class F, class... Args>
  void push_async_callback(F&& fn, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&...>,
                  "async_exit_stack::push_async_callback needs a callable that accepts the given "
                  "arguments.");
    push_async([call = bind_now(std::forward<F>(fn), std::forward<Args>(args)...)](
                   const std::exception_ptr&) mutable { return await_and_continue(call()); });
  }

  // Moves every entry to a new stack and leaves this one empty and usable.
  async_exit_stack pop_all() noexcept {
    async_exit_stack moved;
    moved.entries_ = std::move(entries_);
    return moved;
  }

  // Unwinds every entry with no exception in flight.
  task<> aclose() {
    std::exception_ptr none;  // named: GCC 12 destroys temporaries in co_await operands twice
    auto closed = co_await detail::outcome_of(aexit(none));
    if (closed.exception()) co_await detail::fail_with{&closed.exception()};  // not rethrown
  }

 private:
  template <class A>
  static task<bool> await_and_continue(A awaitable) {
    auto done = co_await detail::outcome_of(std::move(awaitable));
    if (done.exception()) co_await detail::fail_with{&done.exception()};
    co_return false;
  }

  template <class F>
  void push_async(F&& exit) {
    entries_.emplace_back(std::in_place_type<detail::async_exit_callback>, std::forward<F>(exit));
  }

  template <class Entered, class CM, class Exit>
  task<Entered> enter_then_push(CM& cm, Exit exit) {
    entries_.reserve_one_more();  // the push after a successful aenter cannot fail
    if constexpr (std::is_void_v<Entered>) {
      co_await cm.aenter();
      push_async(std::move(exit));
    } else {
      decltype(auto) value = co_await cm.aenter();
      push_async(std::move(exit));
      co_return std::forward<Entered>(value);
    }
  }
};

}  // namespace ctxlib
