// X4: CPython accepts push(42) and fails at unwind with TypeError("'int' object is not
// callable"); ctxlib does not compile it.
// expect: exit_stack::push needs a context manager or a callable
#include "ctxlib/ctxlib.hpp"

void valid() {
  ctxlib::exit_stack stack;
  stack.push([](const std::exception_ptr&) { return false; });
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  ctxlib::exit_stack stack;
  stack.push(42);
}
#endif
