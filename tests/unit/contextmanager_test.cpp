// ctxlib::contextmanager: Python's @contextmanager as a coroutine (catalogue G4-G20), used as a
// C++ programmer would.
#include "ctxlib/contextmanager.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ctxlib/ctxlib.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

ctxlib::contextmanager<std::string> tag(strings& log, std::string name) {
  log.push_back("<" + name + ">");
  co_yield name;
  log.push_back("</" + name + ">");
}

TEST(Contextmanager, SetupYieldTeardownAroundTheBody) {  // G5, G8
  strings log;
  ctxlib::with(tag(log, "a"), [&](std::string& v) { log.push_back("body " + v); });
  EXPECT_EQ(log, (strings{"<a>", "body a", "</a>"}));
}

TEST(Contextmanager, TheBodyDoesNotStartBeforeEnter) {  // G2
  strings log;
  auto cm = tag(log, "a");
  EXPECT_TRUE(log.empty());
}

TEST(Contextmanager, TheBodysExceptionIsRethrownAtTheYieldAsTheSameObject) {  // G11, G16
  std::exception_ptr seen, body = std::make_exception_ptr(value_error("body"));
  auto cm = [&]() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (...) {
      seen = std::current_exception();
      throw;
    }
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [&] { std::rethrow_exception(body); }); });
  EXPECT_EQ(seen, body);
  EXPECT_EQ(escaped, body);
}

TEST(Contextmanager, FinishingAfterTheExceptionSuppressesIt) {  // G12
  auto cm = []() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (const value_error&) {
    }
  };
  auto result = ctxlib::with(cm(), []() -> int { throw value_error("x"); });
  EXPECT_FALSE(result.has_value());
}

TEST(Contextmanager, BaseExceptionsCanBeSwallowedToo) {  // G12
  auto cm = []() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (...) {
    }
  };
  EXPECT_NO_THROW(ctxlib::with(cm(), [] { throw keyboard_interrupt("^C"); }));
}

TEST(Contextmanager, ADifferentExceptionReplacesTheBodysWithItsContextSet) {  // G16
  auto cm = []() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (const value_error&) {
      ctxlib::raise(key_error("replacement"));
    }
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] { ctxlib::raise(value_error("body")); }); });
  EXPECT_EQ(message_of(escaped), "replacement");
  EXPECT_EQ(message_of(ctxlib::context_of(escaped)), "body");
}

TEST(Contextmanager, NoYieldIsARuntimeErrorFromNoneWithAStopIterationContext) {  // G6
  auto cm = []() -> ctxlib::contextmanager<> { co_return; };
  bool body_ran = false;
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [&] { body_ran = true; }); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't yield");
  EXPECT_EQ(e->cause(), nullptr);
  EXPECT_TRUE(e->suppress_context());
  EXPECT_NE(ctxlib::exception_cast<ctxlib::stop_iteration>(e->context()), nullptr);
  EXPECT_FALSE(body_ran);
}

TEST(Contextmanager, AnExceptionBeforeTheYieldPropagatesFromEnterUnchanged) {  // G6
  auto cm = []() -> ctxlib::contextmanager<> {
    ctxlib::raise(value_error("setup"));
    co_yield {};
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] {}); });
  EXPECT_EQ(message_of(escaped), "setup");
  EXPECT_EQ(ctxlib::context_of(escaped), nullptr);
}

TEST(Contextmanager, YieldingTwiceIsAnErrorAndTheCoroutineIsClosedFirst) {  // G9 (3.11.7)
  strings log;
  auto cm = [&]() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      log.push_back("closed");
      throw;
    }
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] {}); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't stop");
  EXPECT_EQ(log, (strings{"closed"}));
}

TEST(Contextmanager, YieldingAfterTheThrownExceptionIsAnErrorChainedToIt) {  // G18
  auto cm = []() -> ctxlib::contextmanager<> {
    bool again = false;
    try {
      co_yield {};
    } catch (...) {
      again = true;
    }
    if (again) co_yield {};
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] { ctxlib::raise(value_error("body")); }); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't stop after throw()");
  EXPECT_EQ(message_of(e->context()), "body");
}

TEST(Contextmanager, ACoroutineThatIgnoresGeneratorExitIsReported) {  // G9 close failure
  auto cm = []() -> ctxlib::contextmanager<> {
    co_yield {};
    bool swallowed = false;
    try {
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      swallowed = true;
    }
    if (swallowed) co_yield {};
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] {}); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator ignored GeneratorExit");
  EXPECT_STREQ(ctxlib::exception_cast<ctxlib::runtime_error>(e->context())->what(),
               "generator didn't stop");
}

TEST(Contextmanager, AStopIterationFromTheBodyComesBackAsTheSameObject) {  // G14
  auto cm = []() -> ctxlib::contextmanager<> { co_yield {}; };
  std::exception_ptr body = std::make_exception_ptr(ctxlib::stop_iteration("body"));
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [&] { std::rethrow_exception(body); }); });
  EXPECT_EQ(escaped, body);
}

TEST(Contextmanager, ANewStopIterationFromTheCoroutineBecomesRuntimeError) {  // G15, PEP 479
  auto cm = []() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (...) {
      ctxlib::raise(ctxlib::stop_iteration("mine"));
    }
  };
  auto escaped = thrown_by([&] { ctxlib::with(cm(), [] { ctxlib::raise(value_error("body")); }); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator raised StopIteration");
  EXPECT_EQ(message_of(e->cause()), "mine");
  EXPECT_TRUE(e->suppress_context());
}

TEST(Contextmanager, EnteringTwiceIsAnAttributeErrorLikeCPythons) {  // G4
  strings log;
  auto cm = tag(log, "once");
  cm.enter();
  auto escaped = thrown_by([&] { cm.enter(); });
  auto* e = ctxlib::exception_cast<ctxlib::attribute_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "'_GeneratorContextManager' object has no attribute 'args'");
  EXPECT_EQ(log, (strings{"<once>"}));
}

TEST(Contextmanager, DestroyingANeverStartedCoroutineRunsNothing) {
  strings log;
  { auto cm = tag(log, "never"); }
  EXPECT_TRUE(log.empty());
}

TEST(Contextmanager, DestroyingOneSuspendedAtTheYieldClosesIt) {
  strings log;
  auto make = [&]() -> ctxlib::contextmanager<> {
    try {
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      log.push_back("GeneratorExit");
      throw;
    }
  };
  {
    auto cm = make();
    cm.enter();
  }
  EXPECT_EQ(log, (strings{"GeneratorExit"}));
}

TEST(Contextmanager, WorksInAnExitStack) {
  strings log;
  {
    ctxlib::exit_stack stack;
    std::string& a = stack.enter_context(tag(log, "a"));
    stack.enter_context(tag(log, "b"));
    log.push_back("body " + a);
  }
  EXPECT_EQ(log, (strings{"<a>", "<b>", "body a", "</b>", "</a>"}));
}

}  // namespace

namespace {

using namespace ctxlib_test;

// Errors enter() raises chain to the exception being handled where the with statement runs,
// as CPython's do (found by the corpus: G4, G6).
TEST(Contextmanager, EnterErrorsChainToTheExceptionBeingHandled) {
  auto no_yield = []() -> ctxlib::contextmanager<> { co_return; };
  std::exception_ptr handled = std::make_exception_ptr(key_error("handled"));
  std::exception_ptr didnt_yield, reentered;
  try {
    std::rethrow_exception(handled);
  } catch (...) {
    didnt_yield = thrown_by([&] { ctxlib::with(no_yield(), [] {}); });
    auto once = no_yield();
    thrown_by([&] { once.enter(); });
    reentered = thrown_by([&] { once.enter(); });
  }
  auto stop = ctxlib::context_of(didnt_yield);
  EXPECT_NE(ctxlib::exception_cast<ctxlib::stop_iteration>(stop), nullptr);
  EXPECT_EQ(ctxlib::context_of(stop), handled);
  EXPECT_NE(ctxlib::exception_cast<ctxlib::attribute_error>(reentered), nullptr);
  EXPECT_EQ(ctxlib::context_of(reentered), handled);
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

// G20: an exit pushed without entering. With no exception the coroutine starts, yields, and
// is closed after "didn't stop" (its cleanup runs); with one, the exception comes back without
// the coroutine running at all.
TEST(Contextmanager, ExitOfANeverEnteredManagerBehavesLikeCPythons) {
  strings log;
  auto make = [&]() -> ctxlib::contextmanager<> {
    log.push_back("started");
    try {
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      log.push_back("closed");
      throw;
    }
  };
  auto pushed = make();
  auto escaped = thrown_by([&] { pushed.exit(nullptr); });
  EXPECT_STREQ(ctxlib::exception_cast<ctxlib::runtime_error>(escaped)->what(),
               "generator didn't stop");
  EXPECT_EQ(log, (strings{"started", "closed"}));

  log.clear();
  auto unstarted = make();
  std::exception_ptr body = std::make_exception_ptr(key_error("body"));
  EXPECT_FALSE(unstarted.exit(body));
  EXPECT_TRUE(log.empty());
  EXPECT_FALSE(unstarted.exit(nullptr));  // finished: like next() on a closed generator
}

TEST(Contextmanager, ExitingTwiceDoesNotResumeAFinishedCoroutine) {
  strings log;
  auto cm = tag(log, "t");
  cm.enter();
  EXPECT_FALSE(cm.exit(nullptr));
  EXPECT_FALSE(cm.exit(nullptr));
  EXPECT_FALSE(cm.exit(std::make_exception_ptr(value_error("late"))));
  EXPECT_EQ(log, (strings{"<t>", "</t>"}));
}

// An exit that ran the coroutine to its end before anyone entered it (a pushed exit): enter()
// is then next() on a finished generator, "didn't yield", whatever ended the coroutine.
TEST(Contextmanager, EnteringAfterAPushedExitFinishedTheCoroutineDidNotYield) {
  auto raising = []() -> ctxlib::contextmanager<> {
    ctxlib::raise(key_error("before the yield"));
    co_yield {};
  };
  auto cm = raising();
  EXPECT_EQ(message_of(thrown_by([&] { cm.exit(nullptr); })), "before the yield");
  auto escaped = thrown_by([&] { cm.enter(); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't yield");
}

// A coroutine started by a pushed exit enters its own manager (reached through a pointer, as a
// Python generator reaches its manager through a variable): next() on a running generator.
TEST(Contextmanager, EnteringItsOwnManagerWhileItRunsIsAValueError) {
  std::optional<ctxlib::contextmanager<>> self;
  auto make = [&]() -> ctxlib::contextmanager<> {
    ctxlib::with(*self, [] {});
    co_yield {};
  };
  self.emplace(make());
  auto escaped = thrown_by([&] { self->exit(nullptr); });
  auto* e = ctxlib::exception_cast<ctxlib::value_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator already executing");
}

}  // namespace
