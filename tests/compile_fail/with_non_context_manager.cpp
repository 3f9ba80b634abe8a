// W1: CPython raises TypeError("'int' object does not support the context manager protocol")
// at run time; ctxlib does not compile it.
// expect: ctxlib::with needs a context manager
#include "ctxlib/ctxlib.hpp"

struct only_enter {
  int enter() { return 1; }
};

void valid() {
  ctxlib::with(ctxlib::nullcontext(1), [](int) {});
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  only_enter cm;
  ctxlib::with(cm, [](int) {});
}
#endif
