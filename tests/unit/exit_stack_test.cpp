// ctxlib::exit_stack: CPython's ExitStack rules (catalogue X1-X19) as a C++ user meets them.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlib/ctxlib.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;

using strings = std::vector<std::string>;

TEST(ExitStack, EnteringReturnsTheStackAndAnEmptyStackDoesNothing) {  // X1
  ctxlib::exit_stack stack;
  ctxlib::with(stack, [&](ctxlib::exit_stack& s) { EXPECT_EQ(&s, &stack); });
}

TEST(ExitStack, CallbacksRunLastInFirstOutWithTheirBoundArguments) {  // X5, X9
  strings log;
  {
    ctxlib::exit_stack stack;
    stack.callback([&] { log.push_back("no args"); });
    stack.callback([&](int a, const std::string& b) { log.push_back(std::to_string(a) + b); }, 1,
                   std::string("x"));
    std::string later = "bound now";
    stack.callback([&](const std::string& s) { log.push_back(s); }, later);
    later = "changed";
    stack.close();
  }
  EXPECT_EQ(log, (strings{"bound now", "1x", "no args"}));
}

TEST(ExitStack, EnterContextEntersThenPushesTheExitAndReturnsTheEnteredValue) {  // X3
  strings log;
  recording_cm cm{&log, "cm"};
  ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
    stack.callback([&] { log.push_back("callback"); });
    std::string& v = stack.enter_context(cm);
    EXPECT_EQ(&v, &cm.name);
    log.push_back("body");
  });
  EXPECT_EQ(log, (strings{"enter cm", "body", "exit cm None", "callback"}));
}

TEST(ExitStack, EnterContextThatFailsPushesNothing) {  // X3
  struct failing {
    void enter() { throw value_error("no"); }
    bool exit(const std::exception_ptr&) {
      ADD_FAILURE() << "exit of a manager whose enter failed";
      return false;
    }
  } cm;
  ctxlib::exit_stack stack;
  EXPECT_THROW(stack.enter_context(cm), value_error);
  EXPECT_TRUE(stack.empty());
}

TEST(ExitStack, RvalueManagersAreOwnedAtAStableAddress) {
  strings log;
  ctxlib::exit_stack stack;
  std::string* first = &stack.enter_context(recording_cm{&log, "owned"});
  for (int i = 0; i < 100; ++i) stack.callback([] {});  // growth must not move the manager
  EXPECT_EQ(*first, "owned");
  stack.close();
  EXPECT_EQ(log.back(), "exit owned None");
}

TEST(ExitStack, PushTakesAnExitFunctionOrAManagersExitWithoutEnteringIt) {  // X4, test_push
  strings log;
  std::exception_ptr body = std::make_exception_ptr(value_error("body"));
  recording_cm not_entered{&log, "pushed"};
  ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
    stack.push([&](const std::exception_ptr& e) {
      log.push_back(e ? "expect_ok saw an exception" : "ok");
      return false;
    });
    stack.push(not_entered);
    stack.push([](const std::exception_ptr&) { return true; });  // suppresses
    stack.push([&](const std::exception_ptr& e) {
      log.push_back(e == body ? "saw body" : "wrong");
      return false;
    });
    std::rethrow_exception(body);
  });
  EXPECT_EQ(log, (strings{"saw body", "exit pushed None", "ok"}));
}

TEST(ExitStack, CloseRunsEachEntryOnceAndTheStackIsReusable) {  // X7, X9
  strings log;
  ctxlib::exit_stack stack;
  stack.callback([&] { log.push_back("1"); });
  stack.close();
  stack.close();
  stack.callback([&] { log.push_back("2"); });
  stack.close();
  EXPECT_EQ(log, (strings{"1", "2"}));
}

TEST(ExitStack, PopAllMovesTheEntriesAndLeavesTheOriginalEmptyAndUsable) {  // X6
  strings log;
  ctxlib::exit_stack moved;
  ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
    stack.callback([&] { log.push_back("3"); });
    moved = stack.pop_all();
    EXPECT_TRUE(stack.empty());
    log.push_back("1");
  });
  log.push_back("2");
  moved.close();
  EXPECT_EQ(log, (strings{"1", "2", "3"}));
}

TEST(ExitStack, AnEntryPushedDuringTheUnwindRunsNextInTheSameUnwind) {  // X9
  strings log;
  ctxlib::exit_stack stack;
  stack.callback([&] { log.push_back("bottom"); });
  stack.callback([&] {
    log.push_back("first");
    stack.callback([&] { log.push_back("pushed during unwind"); });
  });
  stack.close();
  EXPECT_EQ(log, (strings{"first", "pushed during unwind", "bottom"}));
  EXPECT_TRUE(stack.empty());
}

// Not trivially copyable: an entry holding it is relocated by its own code.
struct relocated_by_its_code {
  relocated_by_its_code() = default;
  relocated_by_its_code(const relocated_by_its_code&) noexcept {}
};

// A running entry has already left the stack, so a push it makes goes into the slot it came
// from. It must still see its own captures after that push: for each way an entry is stored
// (plain bytes, relocated by its own code, on the heap), with and without an exception in
// flight (the unwind has a loop for each).
TEST(ExitStack, AnEntryThatPushesStillSeesItsOwnCaptures) {
  for (bool in_flight : {false, true}) {
    int first = 0, second = 0;
    ctxlib::exit_stack stack;
    // The pushed entry's captures are the running entry's two counters swapped: a running
    // entry that read its captures from its old slot after the push would swap the counts.
    auto push_swapped = [&stack, &first, &second] {
      stack.push([&second, &first](const std::exception_ptr&) { return &second == &first; });
    };
    stack.push([&first, &second, &push_swapped](const std::exception_ptr&) {  // plain bytes
      push_swapped();
      first += 1;
      second += 10;
      return false;
    });
    stack.push(
        [&first, &push_swapped, relocated = relocated_by_its_code()](const std::exception_ptr&) {
          push_swapped();
          first += 1;
          return false;
        });
    stack.push(
        [&first, &second, &push_swapped, heap = std::array<int, 16>()](const std::exception_ptr&) {
          push_swapped();
          first += 1 + heap[0];
          second += 10;
          return false;
        });
    if (in_flight) {
      EXPECT_THROW(ctxlib::with(stack, [] { throw std::runtime_error("in flight"); }),
                   std::runtime_error);
    } else {
      stack.close();
    }
    EXPECT_EQ(first, 3);
    EXPECT_EQ(second, 20);
    EXPECT_TRUE(stack.empty());
  }
}

TEST(ExitStack, ExitRaiseAndSuppress) {  // test_exit_raise, test_exit_suppress
  EXPECT_THROW(ctxlib::with(ctxlib::exit_stack(),
                            [](ctxlib::exit_stack& s) {
                              s.push([](const std::exception_ptr&) { return false; });
                              throw value_error("x");
                            }),
               value_error);
  EXPECT_NO_THROW(ctxlib::with(ctxlib::exit_stack(), [](ctxlib::exit_stack& s) {
    s.push([](const std::exception_ptr&) { return true; });
    throw value_error("x");
  }));
}

// test_exit_exception_chaining: callbacks raising while an exception is in flight chain as
// nested with statements would; a suppression hides everything below it.
TEST(ExitStack, CallbackExceptionsChainLikeNestedWithStatements) {
  std::exception_ptr saw_in_suppressor;
  auto escaped = thrown_by([&] {
    ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
      stack.callback([] { ctxlib::raise(index_error("index")); });
      stack.callback([] { ctxlib::raise(key_error("key")); });
      stack.callback([] { ctxlib::raise(ctxlib::attribute_error("attribute")); });
      stack.push([&](const std::exception_ptr& e) {
        saw_in_suppressor = e;
        return true;
      });
      stack.callback([] { ctxlib::raise(value_error("value")); });
      ctxlib::raise(ctxlib::runtime_error("division"));
    });
  });
  EXPECT_EQ(message_of(escaped), "index");
  auto key = ctxlib::context_of(escaped);
  EXPECT_EQ(message_of(key), "key");
  auto attribute = ctxlib::context_of(key);
  EXPECT_EQ(message_of(attribute), "attribute");
  EXPECT_EQ(ctxlib::context_of(attribute), nullptr);  // suppressed exceptions are not chained
  EXPECT_EQ(message_of(saw_in_suppressor), "value");
  EXPECT_EQ(message_of(ctxlib::context_of(saw_in_suppressor)), "division");
}

// test_exit_exception_with_existing_context: only the link pointing at the frame exception
// is rewired, deep in the chain.
TEST(ExitStack, RewiresTheLinkToTheFrameExceptionNotTheTop) {
  auto raise_nested = [](std::exception_ptr inner, std::exception_ptr outer) {
    try {
      ctxlib::raise(inner);
    } catch (...) {
      ctxlib::raise(outer);  // like `finally: raise outer`
    }
  };
  std::vector<std::exception_ptr> exc;
  for (int i = 1; i <= 5; ++i) {
    exc.push_back(std::make_exception_ptr(ctxlib::exception(std::to_string(i))));
  }
  auto escaped = thrown_by([&] {
    ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
      stack.callback(raise_nested, exc[3], exc[4]);
      stack.callback(raise_nested, exc[1], exc[2]);
      ctxlib::raise(exc[0]);
    });
  });
  EXPECT_EQ(escaped, exc[4]);
  EXPECT_EQ(ctxlib::context_of(exc[4]), exc[3]);
  EXPECT_EQ(ctxlib::context_of(exc[3]), exc[2]);
  EXPECT_EQ(ctxlib::context_of(exc[2]), exc[1]);
  EXPECT_EQ(ctxlib::context_of(exc[1]), exc[0]);
  EXPECT_EQ(ctxlib::context_of(exc[0]), nullptr);
}

// test_exit_exception_explicit_none_context (X18): the pending exception is re-raised as the
// same object with the context its raiser left, even an explicit none.
TEST(ExitStack, PendingRaiseKeepsAnExplicitNoneContext) {
  struct none_context_cm {
    void enter() {}
    bool exit(const std::exception_ptr&) {
      std::exception_ptr mine = std::make_exception_ptr(value_error("mine"));
      try {
        ctxlib::raise(mine);
      } catch (...) {
        ctxlib::exception_cast<value_error>(mine)->set_context(nullptr);
        throw;
      }
    }
  };
  auto escaped = thrown_by([] {
    ctxlib::with(ctxlib::exit_stack(), [](ctxlib::exit_stack& stack) {
      stack.enter_context(none_context_cm{});
      throw index_error("body");
    });
  });
  EXPECT_EQ(message_of(escaped), "mine");
  EXPECT_EQ(ctxlib::context_of(escaped), nullptr);
}

// X19: with no exception received the result is false even when an entry suppressed, and a
// raise followed by a suppression loses the raised exception.
TEST(ExitStack, RaiseThenSuppressWithNoIncomingExceptionReturnsFalseAndRaisesNothing) {
  ctxlib::exit_stack stack;
  stack.push([](const std::exception_ptr&) { return true; });
  stack.callback([] { ctxlib::raise(key_error("lost")); });
  bool result = true;
  EXPECT_NO_THROW(result = stack.exit(nullptr));
  EXPECT_FALSE(result);
}

TEST(ExitStack, ReturnsTrueWhenTheReceivedExceptionWasReplacedThenSuppressed) {  // X19
  ctxlib::exit_stack stack;
  stack.push([](const std::exception_ptr&) { return true; });
  stack.callback([] { ctxlib::raise(key_error("replacement")); });
  EXPECT_TRUE(stack.exit(std::make_exception_ptr(value_error("body"))));
}

// test_exit_exception_non_suppressing (issue19092).
TEST(ExitStack, ALaterRaiseAfterASuppressionStillRaises) {
  auto escaped = thrown_by([] {
    ctxlib::with(ctxlib::exit_stack(), [](ctxlib::exit_stack& stack) {
      stack.callback([] { ctxlib::raise(key_error("outer")); });
      stack.push([](const std::exception_ptr&) { return true; });
      stack.callback([] { ctxlib::raise(index_error("inner")); });
    });
  });
  EXPECT_EQ(message_of(escaped), "outer");
}

// X12: every exception, whatever its type, is caught and the unwind goes on.
TEST(ExitStack, BaseExceptionsAndForeignExceptionsDoNotStopTheUnwind) {
  strings log;
  ctxlib::exit_stack stack;
  stack.callback([&] { log.push_back("still runs"); });
  stack.callback([] { throw keyboard_interrupt("^C"); });
  stack.callback([] { throw std::runtime_error("foreign"); });
  EXPECT_THROW(stack.close(), keyboard_interrupt);
  EXPECT_EQ(log, (strings{"still runs"}));
}

// X14 (gh-102201, kept as CPython has it): with no exception being handled, successive
// callback exceptions are not chained.
TEST(ExitStack, NoChainingWithoutAnActiveException) {
  ctxlib::exit_stack stack;
  stack.callback([] { ctxlib::raise(index_error("outer")); });
  stack.callback([] { ctxlib::raise(key_error("inner")); });
  auto escaped = thrown_by([&] { stack.close(); });
  EXPECT_EQ(message_of(escaped), "outer");
  EXPECT_EQ(ctxlib::context_of(escaped), nullptr);
}

// X15: close() inside an unrelated handler erases that exception from the first callback's
// chain.
TEST(ExitStack, CloseInsideAnUnrelatedHandlerRewiresTheFirstRaise) {
  ctxlib::exit_stack stack;
  stack.callback([] { ctxlib::raise(index_error("outer")); });
  stack.callback([] { ctxlib::raise(key_error("inner")); });
  std::exception_ptr escaped;
  try {
    throw value_error("handled");
  } catch (...) {
    escaped = thrown_by([&] { stack.close(); });
  }
  EXPECT_EQ(message_of(escaped), "outer");
  auto inner = ctxlib::context_of(escaped);
  EXPECT_EQ(message_of(inner), "inner");
  EXPECT_EQ(ctxlib::context_of(inner), nullptr);
}

// X16: CPython loops forever on a pre-existing context cycle; ctxlib stops the walk.
TEST(ExitStack, AContextCycleDoesNotHangTheUnwind) {
  std::exception_ptr a = std::make_exception_ptr(key_error("a"));
  std::exception_ptr b = std::make_exception_ptr(key_error("b"));
  ctxlib::exception_cast<key_error>(a)->set_context(b);
  ctxlib::exception_cast<key_error>(b)->set_context(a);
  ctxlib::exit_stack stack;
  stack.callback([&] { std::rethrow_exception(a); });
  stack.callback([] { ctxlib::raise(value_error("first")); });
  auto escaped = thrown_by([&] { stack.close(); });
  EXPECT_EQ(escaped, a);
  EXPECT_EQ(ctxlib::context_of(a), b);                         // untouched
  ctxlib::exception_cast<key_error>(b)->set_context(nullptr);  // reference counts need no cycle
}

TEST(ExitStack, TenThousandCallbacksUnwindIterativelyWithAndWithoutAnException) {
  int runs = 0;
  {
    ctxlib::exit_stack stack;
    for (int i = 0; i < 10000; ++i) stack.callback([&] { ++runs; });
    stack.close();
  }
  EXPECT_EQ(runs, 10000);
  auto escaped = thrown_by([&] {
    ctxlib::with(ctxlib::exit_stack(), [&](ctxlib::exit_stack& stack) {
      for (int i = 0; i < 10000; ++i) {
        stack.push([&](const std::exception_ptr& e) {
          runs += e ? 1 : 0;
          return false;
        });
      }
      throw value_error("pending");
    });
  });
  EXPECT_EQ(runs, 20000);
  EXPECT_EQ(message_of(escaped), "pending");
}

// Entries that are not plain bytes (here a shared_ptr capture, still stored inline) are moved
// by their own code when the stack spills, moves or pops, and destroyed exactly once.
TEST(ExitStack, NonTrivialEntriesAreRelocatedAndDestroyedExactlyOnce) {
  auto token = std::make_shared<int>(0);
  int runs = 0;
  {
    ctxlib::exit_stack big;
    for (int i = 0; i < 40; ++i) big.callback([token, &runs] { ++runs; });  // spills twice
    ctxlib::exit_stack small;
    for (int i = 0; i < 3; ++i) small.callback([token, &runs] { ++runs; });
    EXPECT_EQ(token.use_count(), 44);
    ctxlib::exit_stack moved_big = big.pop_all();      // takes the heap block
    ctxlib::exit_stack moved_small(std::move(small));  // relocates the inline entries
    EXPECT_TRUE(big.empty());
    EXPECT_TRUE(small.empty());  // NOLINT(bugprone-use-after-move): a moved-from stack is empty
    EXPECT_EQ(token.use_count(), 44);
    moved_big.close();
    EXPECT_EQ(runs, 40);
    EXPECT_EQ(token.use_count(), 4);
  }
  EXPECT_EQ(runs, 43);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ExitStack, TenThousandRaisingCallbacksChainWithoutRecursion) {
  auto escaped = thrown_by([] {
    ctxlib::with(ctxlib::exit_stack(), [](ctxlib::exit_stack& stack) {
      for (int i = 0; i < 10000; ++i) stack.callback([] { ctxlib::raise(value_error("again")); });
      throw key_error("body");
    });
  });
  int depth = 0;
  for (auto e = escaped; e; e = ctxlib::context_of(e)) ++depth;
  EXPECT_EQ(depth, 10001);
}

TEST(ExitStack, DestructorRunsWhatIsLeftAndSwallowsItsErrors) {
  strings log;
  {
    ctxlib::exit_stack stack;
    stack.callback([&] { log.push_back("ran"); });
    stack.callback([] { ctxlib::raise(value_error("discarded")); });
  }
  EXPECT_EQ(log, (strings{"ran"}));
}

TEST(ExitStack, MoveAssignmentClosesTheTargetsOwnEntriesFirst) {
  strings log;
  ctxlib::exit_stack target, source;
  target.callback([&] { log.push_back("target"); });
  source.callback([&] { log.push_back("source"); });
  target = std::move(source);
  EXPECT_EQ(log, (strings{"target"}));
  target.close();
  EXPECT_EQ(log, (strings{"target", "source"}));
}

TEST(ExitStack, LargeCallablesAreStoredToo) {
  std::vector<int> big(1000, 1);
  int sum = 0;
  ctxlib::exit_stack stack;
  stack.callback([big, &sum] {
    for (int v : big) sum += v;
  });
  stack.close();
  EXPECT_EQ(sum, 1000);
}

TEST(ExitStack, NestedStacksAsContextManagers) {
  strings log;
  ctxlib::exit_stack outer;
  ctxlib::exit_stack& inner = outer.enter_context(ctxlib::exit_stack());
  inner.callback([&] { log.push_back("inner"); });
  outer.callback([&] { log.push_back("outer"); });
  outer.close();
  EXPECT_EQ(log, (strings{"outer", "inner"}));
}

}  // namespace
