// ctxlib/exit_stack.hpp: Python's contextlib.ExitStack.
//
// A stack of exits, unwound last-in first-out, each seeing the exception in flight and able to
// suppress or replace it, with the exception chain kept exactly as CPython keeps it.
//
//   ctxlib::exit_stack stack;
//   auto& f = stack.enter_context(open_file("a"));          // owned by the stack
//   stack.callback([] { std::puts("cleanup"); });
//   stack.push([](const std::exception_ptr& e) { return ctxlib::exception_cast<timeout>(e) !=
//   nullptr; }); ctxlib::with(stack, [&] { work(f); });                   // or stack.close()
//
//   ctxlib::exit_stack keep = stack.pop_all();               // transfer ownership on success
//
// Rules (catalogue X1-X19): entries are removed before they run, so the stack is reusable and
// an entry pushed during the unwind runs in the same unwind; every exception an entry throws is
// caught (whatever its type) and becomes what later entries receive, its context rewired as
// nested `with` statements would; a true result suppresses the current exception and cancels a
// pending one; `exit` returns `received && suppressed`. The unwind is a loop, never recursion.
//
// Unlike Python's ExitStack, a stack destroyed with entries left runs them as close() would
// (it is a C++ owner); exceptions escaping that destructor are discarded, since a destructor
// cannot throw. Call close() or use ctxlib::with to see them.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctxlib/detail/exit_callback.hpp"
#include "ctxlib/detail/inline_stack.hpp"
#include "ctxlib/detail/unwind.hpp"
#include "ctxlib/with.hpp"

namespace ctxlib {

// A callable usable with exit_stack::push: receives the exception (or an empty pointer) and
// returns whether to suppress it.
template <class F>
concept exit_function = std::invocable<F&, const std::exception_ptr&> &&
                        std::convertible_to < std::invoke_result_t<F&, const std::exception_ptr&>,
bool > ;

class exit_stack {
 public:
  exit_stack() noexcept = default;
  exit_stack(exit_stack&& other) noexcept = default;
  // Closes this stack's own entries first, then takes `other`'s.
  exit_stack& operator=(exit_stack&& other) noexcept {
    if (this != &other) {
      close_discarding_errors();
      entries_ = std::move(other.entries_);
    }
    return *this;
  }
  exit_stack(const exit_stack&) = delete;
  exit_stack& operator=(const exit_stack&) = delete;
  ~exit_stack() { close_discarding_errors(); }

  // Context-manager protocol: entering returns the stack itself.
  exit_stack& enter() noexcept { return *this; }
  // Unwinds every entry with `exception` in flight; true if it was suppressed.
  bool exit(const std::exception_ptr& exception) { return unwind(exception); }

  // Enters `cm` and pushes its exit; returns what enter() returned. An lvalue is referenced (it
  // must outlive the stack's use of it); an rvalue is moved into the stack, at a stable address.
  template <class CM>
  decltype(auto) enter_context(CM&& cm) {
    using manager = std::remove_cvref_t<CM>;
    static_assert(context_manager<manager>,
                  "exit_stack::enter_context needs a context manager: a type with enter() and "
                  "exit(const std::exception_ptr&) returning bool.");
    entries_.reserve(entries_.size() + 1);  // the push after a successful enter cannot fail
    if constexpr (std::is_lvalue_reference_v<CM>) {
      return enter_then_push(cm, [&cm](const std::exception_ptr& e) { return cm.exit(e); });
    } else {
      auto owned = std::make_unique<manager>(std::forward<CM>(cm));
      manager& entered = *owned;
      return enter_then_push(entered, [owned = std::move(owned)](const std::exception_ptr& e) {
        return owned->exit(e);
      });
    }
  }

  // Pushes an exit without entering anything: a context manager's exit (without calling its
  // enter), or an exit function `bool(const std::exception_ptr&)`.
  template <class Exit>
  void push(Exit&& exit) {
    using pushed = std::remove_cvref_t<Exit>;
    if constexpr (context_manager<pushed>) {
      if constexpr (std::is_lvalue_reference_v<Exit>) {
        entries_.emplace_back([&exit](const std::exception_ptr& e) { return exit.exit(e); });
      } else {
        entries_.emplace_back([owned = std::make_unique<pushed>(std::forward<Exit>(exit))](
                                  const std::exception_ptr& e) { return owned->exit(e); });
      }
    } else {
      static_assert(exit_function<pushed>,
                    "exit_stack::push needs a context manager or a callable taking "
                    "const std::exception_ptr& and returning bool.");
      entries_.emplace_back(std::forward<Exit>(exit));
    }
  }

  // Pushes `fn(args...)` to run at unwind; the arguments are bound now. It never suppresses.
  template <class F, class... Args>
  void callback(F&& fn, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&...>,
                  "exit_stack::callback needs a callable that accepts the given arguments.");
    if constexpr (sizeof...(Args) == 0) {
      entries_.emplace_back([fn = std::forward<F>(fn)](const std::exception_ptr&) mutable {
        std::invoke(fn);
        return false;
      });
    } else {
      entries_.emplace_back(
          [fn = std::forward<F>(fn), bound = std::make_tuple(std::forward<Args>(args)...)](
              const std::exception_ptr&) mutable {
            std::apply(fn, bound);
            return false;
          });
    }
  }

  // Moves every entry to a new stack and leaves this one empty and usable.
  exit_stack pop_all() noexcept {
    exit_stack moved;
    moved.entries_ = std::move(entries_);
    return moved;
  }

  // Unwinds every entry with no exception in flight, as Python's close(). Exceptions raised by
  // entries propagate after all entries ran.
  void close() { static_cast<void>(unwind(std::exception_ptr())); }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  template <class CM, class Exit>
  decltype(auto) enter_then_push(CM& cm, Exit&& exit) {
    if constexpr (std::is_void_v<decltype(cm.enter())>) {
      cm.enter();
      entries_.emplace_back(std::forward<Exit>(exit));
    } else {
      decltype(auto) value = cm.enter();
      entries_.emplace_back(std::forward<Exit>(exit));
      return value;
    }
  }

  bool unwind(const std::exception_ptr& received) {
    detail::unwind_state state(received);
    while (!entries_.empty()) {
      // Popped before it runs: LIFO, no double run, and pushes made by the entry run next.
      detail::exit_callback entry = std::move(entries_.back());
      entries_.pop_back();
      try {
        state.returned(entry(state.current()));
      } catch (...) {
        state.raised(std::current_exception());
      }
    }
    return state.finish();
  }

  void close_discarding_errors() noexcept {
    if (entries_.empty()) return;
    try {
      close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot propagate it
    }
  }

  // Up to eight entries live inside the stack object: no allocation for typical stacks.
  detail::inline_stack<detail::exit_callback, 8> entries_;
};

}  // namespace ctxlib
