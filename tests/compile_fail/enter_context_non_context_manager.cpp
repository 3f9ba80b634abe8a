// X2: CPython raises TypeError("'builtins.int' object does not support the context manager
// protocol") from enter_context; ctxlib does not compile it.
// expect: exit_stack::enter_context needs a context manager
#include "ctxlib/ctxlib.hpp"

struct only_exit {
  bool exit(const std::exception_ptr&) { return false; }
};

void valid() {
  ctxlib::exit_stack stack;
  stack.enter_context(ctxlib::nullcontext());
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  ctxlib::exit_stack stack;
  stack.enter_context(only_exit{});
}
#endif
