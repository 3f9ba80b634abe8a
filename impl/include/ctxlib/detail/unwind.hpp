// ctxlib/detail/unwind.hpp: the unwinding rules of CPython's ExitStack.__exit__ (catalogue
// X8-X19), written once. A stack's driver pops each entry, calls it (synchronously, or by
// awaiting it in an async stack) with `current()`, and reports what happened, always from
// outside any handler of its own (see raised()); this object decides what the next entry
// sees, fixes contexts, and what finally escapes.
#pragma once

#include <exception>
#include <utility>

#include "ctxlib/exception.hpp"

namespace ctxlib::detail {

class unwind_state {
 public:
  explicit unwind_state(std::exception_ptr received) noexcept
      : current_(std::move(received)), received_(current_ != nullptr) {}

  // The exception the next entry receives: the incoming one, the last one raised by an entry,
  // or none after a suppression (X10).
  const std::exception_ptr& current() const noexcept { return current_; }

  // An entry returned; a true result suppresses the current exception and cancels a pending
  // raise (X11).
  void returned(bool suppress) noexcept {
    if (!suppress) return;
    suppressed_ = true;
    pending_raise_ = false;
    current_ = nullptr;
  }

  // An entry raised `raised`: chain it as nested `with` statements would (X13), and make it
  // the pending exception. Must be called where the unwind runs, not inside the driver's catch
  // clause: the exception being handled there (`sys.exc_info()` in CPython) is then the frame
  // exception the context fix-up rewires, the same one as when the unwind started. It is
  // looked up only now, so an unwind whose entries raise nothing never pays for the lookup.
  void raised(std::exception_ptr raised) noexcept {
    if (!frame_known_) {
      frame_exception_ = handled_exception();
      frame_known_ = true;
    }
    fix_exception_context(raised, current_);
    pending_raise_ = true;
    current_ = std::move(raised);
  }

  // After the last entry: rethrows the pending exception as the same object, its context
  // untouched (X18), or returns `received && suppressed` (X19).
  bool finish() {
    if (pending_raise_) std::rethrow_exception(std::move(current_));
    return result();
  }

  // finish() for a driver that hands the exception on as a value (an async stack's task): the
  // pending exception, empty if none; then result() is the return value.
  std::exception_ptr take_pending() noexcept {
    return pending_raise_ ? std::move(current_) : std::exception_ptr();
  }
  bool result() const noexcept { return received_ && suppressed_; }

 private:
  // CPython's _fix_exception_context: walk `raised`'s context chain; stop at its end or at
  // `old` (issue 20317); rewire the link that points at the frame exception to `old`. With no
  // frame exception nothing is rewired (gh-102201, kept deliberately). Unlike CPython, a
  // pre-existing cycle ends the walk instead of looping forever (X16; docs/differences.md).
  void fix_exception_context(const std::exception_ptr& raised,
                             const std::exception_ptr& old) const noexcept {
    base_exception* link = exception_cast<base_exception>(raised);
    base_exception* slow = link;
    bool advance_slow = false;
    while (link != nullptr) {
      const std::exception_ptr& context = link->context();
      if (!context || context == old) return;
      if (context == frame_exception_) {
        link->set_context(old);
        return;
      }
      link = exception_cast<base_exception>(context);
      if (link == slow) return;
      if (advance_slow) slow = exception_cast<base_exception>(slow->context());
      advance_slow = !advance_slow;
    }
  }

  std::exception_ptr frame_exception_;
  std::exception_ptr current_;
  bool received_;
  bool frame_known_ = false;
  bool suppressed_ = false;
  bool pending_raise_ = false;
};

}  // namespace ctxlib::detail
