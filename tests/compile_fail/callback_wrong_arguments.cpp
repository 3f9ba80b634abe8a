// X5: CPython raises TypeError at unwind when a callback's arguments do not fit; ctxlib does
// not compile it.
// expect: exit_stack::callback needs a callable that accepts the given arguments
#include "ctxlib/ctxlib.hpp"

void valid() {
  ctxlib::exit_stack stack;
  stack.callback([](int) {}, 1);
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  ctxlib::exit_stack stack;
  stack.callback([](int, int) {}, 1);
}
#endif
