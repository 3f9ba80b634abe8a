// E2: CPython raises AttributeError("'object' object has no attribute 'close'") at exit;
// ctxlib does not compile it.
// expect: ctxlib::closing needs an object with a close\(\) member function
#include "ctxlib/ctxlib.hpp"

struct closable {
  void close() {}
};
struct not_closable {};

void valid() {
  closable c;
  ctxlib::with(ctxlib::closing(c), [](closable&) {});
}

#ifdef CTXLIB_EXPECT_COMPILE_ERROR
void invalid() {
  not_closable n;
  ctxlib::with(ctxlib::closing(n), [](not_closable&) {});
}
#endif
