// suppress, nullcontext and closing (catalogue S, F, E).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlib/ctxlib.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;

TEST(Suppress, EnterReturnsNothingAndNoExceptionIsNotSuppressed) {  // S1, S2
  ctxlib::suppress<value_error> s;
  static_assert(std::is_void_v<decltype(s.enter())>);
  EXPECT_FALSE(s.exit(nullptr));
}

TEST(Suppress, ExactTypesAndSubclassesAreSuppressed) {  // S2, S3
  EXPECT_NO_THROW(ctxlib::with(ctxlib::suppress<value_error>(), [] { throw value_error("x"); }));
  EXPECT_NO_THROW(ctxlib::with(ctxlib::suppress<lookup_error>(), [] { throw index_error("x"); }));
  EXPECT_NO_THROW(
      ctxlib::with(ctxlib::suppress<std::logic_error>(), [] { throw std::out_of_range("x"); }));
}

TEST(Suppress, OtherExceptionsPropagateAsTheSameObject) {
  std::exception_ptr raised = std::make_exception_ptr(key_error("k"));
  auto escaped = thrown_by([&] {
    ctxlib::with(ctxlib::suppress<value_error>(), [&] { std::rethrow_exception(raised); });
  });
  EXPECT_EQ(escaped, raised);
}

TEST(Suppress, NoTypesSuppressesNothing) {  // S4
  EXPECT_THROW(ctxlib::with(ctxlib::suppress<>(), [] { throw value_error("x"); }), value_error);
}

TEST(Suppress, SeveralTypes) {  // S5
  ctxlib::suppress<value_error, key_error> s;
  EXPECT_NO_THROW(ctxlib::with(s, [] { throw key_error("x"); }));
  EXPECT_NO_THROW(ctxlib::with(s, [] { throw value_error("x"); }));
  EXPECT_THROW(ctxlib::with(s, [] { throw index_error("x"); }), index_error);
}

TEST(Suppress, BaseExceptionsOnlyWhenListed) {  // S7
  EXPECT_THROW(
      ctxlib::with(ctxlib::suppress<ctxlib::exception>(), [] { throw keyboard_interrupt(); }),
      keyboard_interrupt);
  EXPECT_NO_THROW(
      ctxlib::with(ctxlib::suppress<ctxlib::base_exception>(), [] { throw keyboard_interrupt(); }));
}

TEST(Suppress, IsReentrant) {  // S9
  ctxlib::suppress<value_error> s;
  bool after_inner = false;
  ctxlib::with(s, [&] {
    ctxlib::with(s, [] { throw value_error("inner"); });
    after_inner = true;
    throw value_error("outer");
  });
  EXPECT_TRUE(after_inner);
}

// Python classes decide membership with __subclasscheck__; a C++ matcher is the analog.
struct message_matcher {
  std::string message;
  bool matches(const std::exception_ptr& e) const { return message_of(e) == message; }
};

TEST(SuppressMatching, RunTimeMatchersDecideLikeSubclassChecks) {
  ctxlib::suppress_matching s(message_matcher{"ignore me"}, ctxlib::exception_type<key_error>());
  EXPECT_NO_THROW(ctxlib::with(s, [] { throw value_error("ignore me"); }));
  EXPECT_NO_THROW(ctxlib::with(s, [] { throw key_error("k"); }));
  EXPECT_THROW(ctxlib::with(s, [] { throw value_error("other"); }), value_error);
}

TEST(Nullcontext, ReturnsItsValueAndSuppressesNothing) {  // F1
  ctxlib::nullcontext n(std::string("v"));
  ctxlib::with(n, [](std::string& v) { EXPECT_EQ(v, "v"); });
  EXPECT_THROW(ctxlib::with(n, [] { throw value_error("x"); }), value_error);
  ctxlib::nullcontext empty;
  static_assert(std::is_void_v<decltype(empty.enter())>);
  ctxlib::with(empty, [&] { ctxlib::with(empty, [] {}); });  // reusable and reentrant
}

struct closable_thing {
  std::vector<std::string>* log;
  bool fail = false;
  void close() {
    log->push_back("close");
    if (fail) ctxlib::raise(value_error("close failed"));
  }
};

TEST(Closing, EnterReturnsTheThingAndExitAlwaysCloses) {  // E1
  std::vector<std::string> log;
  closable_thing thing{&log};
  ctxlib::with(ctxlib::closing(thing), [&](closable_thing& t) { EXPECT_EQ(&t, &thing); });
  EXPECT_THROW(ctxlib::with(ctxlib::closing(thing), [] { throw key_error("body"); }), key_error);
  EXPECT_EQ(log, (std::vector<std::string>{"close", "close"}));
}

TEST(Closing, ACloseThatRaisesReplacesTheBodysExceptionWithItsContextSet) {  // E2
  std::vector<std::string> log;
  closable_thing thing{&log, /*fail=*/true};
  auto escaped = thrown_by(
      [&] { ctxlib::with(ctxlib::closing(thing), [] { ctxlib::raise(key_error("body")); }); });
  EXPECT_EQ(message_of(escaped), "close failed");
  EXPECT_EQ(message_of(ctxlib::context_of(escaped)), "body");
}

TEST(Closing, OwnsARvalue) {
  std::vector<std::string> log;
  ctxlib::with(ctxlib::closing(closable_thing{&log}), [](closable_thing&) {});
  EXPECT_EQ(log.size(), 1u);
}

}  // namespace
