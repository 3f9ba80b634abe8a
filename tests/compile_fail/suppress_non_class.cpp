// S6: CPython accepts suppress("x") and fails when an exception arrives; ctxlib does not
// compile a non-class exception type.
// expect: exception_type<E> needs E to be an exception class type
#include "ctxlib/ctxlib.hpp"

void valid() {
  ctxlib::with(ctxlib::suppress<ctxlib::exception>(), [] {});
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  ctxlib::with(ctxlib::suppress<int>(), [] {});
}
#endif
