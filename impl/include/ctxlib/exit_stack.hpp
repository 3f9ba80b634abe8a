// ctxlib/exit_stack.hpp: Python's contextlib.ExitStack.
//
// A stack of exits, unwound last-in first-out, each seeing the exception in flight and able to
// suppress or replace it, with the exception chain kept exactly as CPython keeps it.
//
//   ctxlib::exit_stack stack;
//   auto& f = stack.enter_context(open_file("a"));  // owned by the stack
//   stack.callback([] { std::puts("cleanup"); });
//   stack.push([](const std::exception_ptr& e) {    // an exit that suppresses timeouts
//     return ctxlib::exception_cast<timeout>(e) != nullptr;
//   });
//   ctxlib::with(stack, [&] { work(f); });          // or stack.close()
//
//   ctxlib::exit_stack keep = stack.pop_all();      // transfer ownership on success
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
concept exit_function = requires(F& f, const std::exception_ptr& exception) {
  { std::invoke(f, exception) } -> std::convertible_to<bool>;
};

namespace detail {

// What Python's _BaseExitStack shares between ExitStack and AsyncExitStack: the entries and
// the synchronous ways to register them. `Entry` is exit_callback for the synchronous stack,
// and a sync-or-async entry for the asynchronous one.
template <class Entry>
class basic_exit_stack {
 public:
  // Enters `cm` and pushes its exit; returns what enter() returned. An lvalue is referenced (it
  // must outlive the stack's use of it); an rvalue is moved into the stack, at a stable address.
  template <class CM>
  decltype(auto) enter_context(CM&& cm) {
    using manager = std::remove_cvref_t<CM>;
    static_assert(context_manager<manager>,
                  "exit_stack::enter_context needs a context manager: a type with enter() and "
                  "exit(const std::exception_ptr&) returning bool.");
    entries_.reserve_one_more();  // the push after a successful enter cannot fail
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
        push_sync([&exit](const std::exception_ptr& e) { return exit.exit(e); });
      } else {
        push_sync([owned = std::make_unique<pushed>(std::forward<Exit>(exit))](
                      const std::exception_ptr& e) { return owned->exit(e); });
      }
    } else {
      static_assert(exit_function<pushed>,
                    "exit_stack::push needs a context manager or a callable taking "
                    "const std::exception_ptr& and returning bool.");
      push_sync(std::forward<Exit>(exit));
    }
  }

  // Pushes `fn(args...)` to run at unwind; the arguments are bound now. It never suppresses.
  template <class F, class... Args>
  void callback(F&& fn, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&...>,
                  "exit_stack::callback needs a callable that accepts the given arguments.");
    push_sync([call = bind_now(std::forward<F>(fn), std::forward<Args>(args)...)](
                  const std::exception_ptr&) mutable {
      call();
      return false;
    });
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  // Makes room for `n` entries in all, as std::vector::reserve: pushes up to that count then
  // cannot allocate. (The first eight need no room: they live inside the stack object.)
  void reserve(std::size_t n) { entries_.reserve(n); }

 protected:
  basic_exit_stack() noexcept = default;
  basic_exit_stack(basic_exit_stack&&) noexcept = default;
  basic_exit_stack& operator=(basic_exit_stack&&) noexcept = default;
  ~basic_exit_stack() = default;

  // `fn` with `args` bound now, called later with no arguments.
  template <class F, class... Args>
  static auto bind_now(F&& fn, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return [fn = std::forward<F>(fn)]() mutable { return std::invoke(fn); };
    } else {
      return [fn = std::forward<F>(fn),
              bound = std::make_tuple(std::forward<Args>(args)...)]() mutable {
        return std::apply(fn, bound);
      };
    }
  }

  template <class F>
  void push_sync(F&& exit) {
    if constexpr (std::is_same_v<Entry, exit_callback>) {
      entries_.emplace_back(std::forward<F>(exit));
    } else {
      entries_.emplace_back(std::in_place_type<exit_callback>, std::forward<F>(exit));
    }
  }

  // Removes the last entry and returns it: popped before it runs, so the order is LIFO, no
  // entry runs twice, and entries pushed while it runs run next.
  Entry pop_entry() noexcept { return entries_.take_back(); }

  // Up to eight entries live inside the stack object: no allocation for typical stacks.
  inline_stack<Entry, 8> entries_;

 private:
  template <class CM, class Exit>
  decltype(auto) enter_then_push(CM& cm, Exit&& exit) {
    if constexpr (std::is_void_v<decltype(cm.enter())>) {
      cm.enter();
      push_sync(std::forward<Exit>(exit));
    } else {
      decltype(auto) value = cm.enter();
      push_sync(std::forward<Exit>(exit));
      return value;
    }
  }
};

}  // namespace detail

class exit_stack : public detail::basic_exit_stack<detail::exit_callback> {
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
  // The same for a temporary (as `with` passes it): moved in, not copied (no reference count
  // round trip).
  bool exit(std::exception_ptr&& exception) { return unwind(std::move(exception)); }

  // Moves every entry to a new stack and leaves this one empty and usable.
  exit_stack pop_all() noexcept {
    exit_stack moved;
    moved.entries_ = std::move(entries_);
    return moved;
  }

  // Unwinds every entry with no exception in flight, as Python's close(). Exceptions raised by
  // entries propagate after all entries ran.
  void close() { static_cast<void>(unwind(std::exception_ptr())); }

 private:
  bool unwind(std::exception_ptr received) {
    std::exception_ptr raised;  // outside the loops: nothing to set up or destroy per entry
    if (!received) {
      // Nothing in flight (close(), or `with` after a normal body): until an entry raises,
      // what entries return cannot matter, so no unwind state is kept until then.
      while (!empty()) {
        try {
          static_cast<void>(call_back(received));
          continue;
        } catch (...) {
          raised = std::current_exception();
        }
        break;
      }
      if (!raised) return false;
    }
    detail::unwind_state state(std::move(received));
    if (raised) state.raised(std::move(raised));  // outside the handler: see unwind_state::raised
    while (!empty()) {
      try {
        state.returned(call_back(state.current()));
        continue;
      } catch (...) {
        raised = std::current_exception();
      }
      state.raised(std::move(raised));
    }
    return state.finish();
  }

  // Removes the last entry and calls it: removed before it runs, so an entry pushed while it
  // runs is next.
  bool call_back(const std::exception_ptr& exception) {
    return detail::exit_callback::call_released(entries_.release_back(), exception);
  }

  void close_discarding_errors() noexcept {
    if (empty()) return;
    try {
      close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot propagate it
    }
  }
};

}  // namespace ctxlib
