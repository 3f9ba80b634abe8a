// ctxlib/detail/handled.hpp: "the exception being handled" — Python's sys.exc_info() — for
// synchronous and asynchronous code alike.
//
// In synchronous code it is std::current_exception(). A coroutine cannot be suspended inside a
// catch handler, so an async `with` awaits its exit after the handler has ended; it records the
// exception it is handling in its task's frame instead, and code running in that task or in
// the tasks it awaits finds it by walking the await chain, as CPython walks the exc_info chain
// of frames and coroutines.
#pragma once

#include <exception>

namespace ctxlib::detail {

// One per running ctxlib task: what it is handling, and the task awaiting it.
struct task_frame {
  const task_frame* awaiter = nullptr;
  std::exception_ptr handling;
};

// The ctxlib task running on this thread, if any. Set by a task whenever it resumes, cleared
// whenever it suspends or finishes, so it never outlives the task.
inline thread_local const task_frame* running_task = nullptr;

inline std::exception_ptr handled_exception() noexcept {
  if (std::exception_ptr e = std::current_exception()) return e;
  for (const task_frame* t = running_task; t != nullptr; t = t->awaiter) {
    if (t->handling) return t->handling;
  }
  return nullptr;
}

}  // namespace ctxlib::detail
