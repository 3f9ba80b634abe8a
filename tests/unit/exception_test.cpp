// ctxlib/exception.hpp: type tests without rethrow, and Python's raise / raise from.
#include "ctxlib/exception.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "test_support.hpp"

namespace {

using namespace ctxlib_test;

TEST(ExceptionCast, MatchesTheTypeAndItsBasesAndReturnsTheThrownObject) {
  std::exception_ptr e = std::make_exception_ptr(key_error("k"));
  key_error* exact = ctxlib::exception_cast<key_error>(e);
  ASSERT_NE(exact, nullptr);
  EXPECT_EQ(static_cast<void*>(ctxlib::exception_cast<lookup_error>(e)),
            static_cast<void*>(static_cast<lookup_error*>(exact)));
  EXPECT_NE(ctxlib::exception_cast<ctxlib::base_exception>(e), nullptr);
  EXPECT_NE(ctxlib::exception_cast<std::exception>(e), nullptr);
  EXPECT_EQ(ctxlib::exception_cast<index_error>(e), nullptr);
  EXPECT_EQ(ctxlib::exception_cast<value_error>(e), nullptr);
}

TEST(ExceptionCast, WorksForForeignTypesAndEmptyPointers) {
  EXPECT_EQ(ctxlib::exception_cast<std::exception>(std::exception_ptr()), nullptr);
  std::exception_ptr e = std::make_exception_ptr(std::out_of_range("x"));
  EXPECT_NE(ctxlib::exception_cast<std::logic_error>(e), nullptr);
  EXPECT_EQ(ctxlib::exception_cast<ctxlib::base_exception>(e), nullptr);
  EXPECT_EQ(ctxlib::context_of(e), nullptr);
  std::exception_ptr i = std::make_exception_ptr(42);
  EXPECT_EQ(ctxlib::exception_cast<std::exception>(i), nullptr);
}

struct virtual_base : virtual ctxlib::exception {
  virtual_base() : ctxlib::exception("vb") {}
};
struct diamond : virtual_base, virtual ctxlib::exception {
  diamond() : ctxlib::exception("diamond") {}
};

TEST(ExceptionCast, AdjustsToVirtualBases) {
  std::exception_ptr e = std::make_exception_ptr(diamond());
  auto* b = ctxlib::exception_cast<ctxlib::base_exception>(e);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->message(), "diamond");
}

TEST(Raise, OutsideAHandlerLeavesTheContextAlone) {
  auto e = thrown_by([] { ctxlib::raise(value_error("x")); });
  EXPECT_EQ(ctxlib::context_of(e), nullptr);
}

TEST(Raise, InsideAHandlerSetsTheContextToTheHandledException) {
  std::exception_ptr handled = std::make_exception_ptr(key_error("k"));
  std::exception_ptr raised;
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    raised = thrown_by([] { ctxlib::raise(value_error("v")); });
  }
  EXPECT_EQ(ctxlib::context_of(raised), handled);
}

TEST(Raise, ReRaisingAnObjectOverwritesItsContextLikePython) {
  std::exception_ptr old_context = std::make_exception_ptr(index_error("old"));
  std::exception_ptr value = std::make_exception_ptr(value_error("v"));
  ctxlib::exception_cast<value_error>(value)->set_context(old_context);
  std::exception_ptr handled = std::make_exception_ptr(key_error("k"));
  std::exception_ptr raised;
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    raised = thrown_by([&] { ctxlib::raise(value); });
  }
  EXPECT_EQ(raised, value);
  EXPECT_EQ(ctxlib::context_of(raised), handled);
}

TEST(Raise, CutsTheLinkThatWouldMakeACycle) {
  // handled -> value; raising value while handling `handled` must not make value -> handled
  // -> value: CPython cuts handled's link to value first.
  std::exception_ptr value = std::make_exception_ptr(value_error("v"));
  std::exception_ptr handled = std::make_exception_ptr(key_error("k"));
  ctxlib::exception_cast<key_error>(handled)->set_context(value);
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    thrown_by([&] { ctxlib::raise(value); });
  }
  EXPECT_EQ(ctxlib::context_of(value), handled);
  EXPECT_EQ(ctxlib::context_of(handled), nullptr);
}

TEST(Raise, StopsOnAPreExistingCycleInTheHandledChain) {
  std::exception_ptr a = std::make_exception_ptr(key_error("a"));
  std::exception_ptr b = std::make_exception_ptr(key_error("b"));
  ctxlib::exception_cast<key_error>(a)->set_context(b);
  ctxlib::exception_cast<key_error>(b)->set_context(a);
  std::exception_ptr raised;
  try {
    std::rethrow_exception(a);
  } catch (...) {
    raised = thrown_by([] { ctxlib::raise(value_error("c")); });  // must terminate
  }
  EXPECT_EQ(ctxlib::context_of(raised), a);
  ctxlib::exception_cast<key_error>(b)->set_context(nullptr);  // reference counts need no cycle
}

TEST(RaiseFrom, SetsCauseAndSuppressContextAndStillRecordsTheContext) {
  std::exception_ptr handled = std::make_exception_ptr(key_error("k"));
  std::exception_ptr cause = std::make_exception_ptr(index_error("i"));
  std::exception_ptr raised;
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    raised = thrown_by([&] { ctxlib::raise_from(value_error("v"), cause); });
  }
  auto* v = ctxlib::exception_cast<value_error>(raised);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->cause(), cause);
  EXPECT_TRUE(v->suppress_context());
  EXPECT_EQ(v->context(), handled);
}

TEST(RaiseFrom, FromNoneLeavesNoCauseButSuppressesTheContext) {
  auto raised = thrown_by([] { ctxlib::raise_from(value_error("v"), nullptr); });
  auto* v = ctxlib::exception_cast<value_error>(raised);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->cause(), nullptr);
  EXPECT_TRUE(v->suppress_context());
}

TEST(Attributes, SettingTheCauseAlsoSuppressesTheContextAsInPython) {
  value_error e("v");
  e.set_cause(nullptr);  // `e.__cause__ = None`
  EXPECT_TRUE(e.suppress_context());
  e.set_suppress_context(false);
  e.set_context(std::make_exception_ptr(key_error("k")));  // `e.__context__ = ...`
  EXPECT_FALSE(e.suppress_context());
}

TEST(BuiltinKinds, CarryCPythonsNames) {
  EXPECT_EQ(ctxlib::runtime_error("x").python_type_name(), "RuntimeError");
  EXPECT_EQ(ctxlib::type_error("x").python_type_name(), "TypeError");
  EXPECT_EQ(ctxlib::attribute_error("x").python_type_name(), "AttributeError");
  EXPECT_EQ(ctxlib::generator_exit().python_type_name(), "GeneratorExit");
  EXPECT_EQ(ctxlib::stop_iteration().python_type_name(), "StopIteration");
  EXPECT_STREQ(ctxlib::runtime_error("generator didn't yield").what(), "generator didn't yield");
}

}  // namespace
