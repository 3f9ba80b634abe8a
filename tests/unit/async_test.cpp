// The async family as a C++ user writes it: tasks and sync_wait, async_with (W11), and
// async_exit_stack (A1-A7) on the unwinding core it shares with exit_stack.
#include <gtest/gtest.h>

#include <coroutine>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlib/async_exit_stack.hpp"
#include "ctxlib/async_with.hpp"
#include "ctxlib/asynccontextmanager.hpp"
#include "ctxlib/ctxlib.hpp"
#include "ctxlib/decorator.hpp"
#include "ctxlib/neutral_exit_stack.hpp"
#include "ctxlib/task.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

ctxlib::task<int> answer() {
  co_await ctxlib::yield_now();
  co_return 42;
}

TEST(Task, RunsToCompletionUnderSyncWait) {
  EXPECT_EQ(ctxlib::sync_wait(answer()), 42);
}

TEST(Task, ExceptionsReachTheAwaiterAsTheSameObject) {
  std::exception_ptr raised = std::make_exception_ptr(value_error("x"));
  auto inner = [&]() -> ctxlib::task<> {
    co_await ctxlib::yield_now();
    std::rethrow_exception(raised);
  };
  auto outer = [&]() -> ctxlib::task<std::exception_ptr> {
    try {
      co_await inner();
    } catch (...) {
      co_return std::current_exception();
    }
    co_return nullptr;
  };
  EXPECT_EQ(ctxlib::sync_wait(outer()), raised);
}

TEST(Task, YieldNowInterleavesInFifoOrder) {
  strings log;
  auto worker = [&](std::string name) -> ctxlib::task<> {
    log.push_back(name + "1");
    co_await ctxlib::yield_now();
    log.push_back(name + "2");
  };
  auto both = [&]() -> ctxlib::task<> {
    co_await worker("a");
    co_await worker("b");
  };
  ctxlib::sync_wait(both());
  EXPECT_EQ(log, (strings{"a1", "a2", "b1", "b2"}));
}

TEST(Task, DeepAwaitChainsUseNoStack) {
  // Symmetric transfer is a guaranteed tail call with clang; GCC makes it one only when
  // optimizing, so an unoptimized GCC build gets a chain that fits an ordinary stack.
#if defined(__clang__) || defined(__OPTIMIZE__)
  constexpr int depth_wanted = 100000;
#else
  constexpr int depth_wanted = 2000;
#endif
  std::function<ctxlib::task<int>(int)> depth = [&](int n) -> ctxlib::task<int> {
    if (n == 0) co_return 0;
    co_return 1 + co_await depth(n - 1);
  };
  EXPECT_EQ(ctxlib::sync_wait(depth(depth_wanted)), depth_wanted);
}

// A class-based async context manager whose methods suspend.
struct async_recorder {
  strings* log;
  std::string name;
  bool suppress = false;
  ctxlib::task<std::string&> aenter() {
    co_await ctxlib::yield_now();
    log->push_back("aenter " + name);
    co_return name;
  }
  ctxlib::task<bool> aexit(std::exception_ptr e) {
    co_await ctxlib::yield_now();
    log->push_back("aexit " + name + (e ? " " + message_of(e) : std::string(" None")));
    co_return suppress;
  }
};

TEST(AsyncWith, AwaitsEnterBodyAndExit) {
  strings log;
  async_recorder cm{&log, "a"};
  ctxlib::sync_wait(ctxlib::async_with(cm, [&](std::string& v) -> ctxlib::task<> {
    co_await ctxlib::yield_now();
    log.push_back("body " + v);
  }));
  EXPECT_EQ(log, (strings{"aenter a", "body a", "aexit a None"}));
}

TEST(AsyncWith, ExitSeesTheBodysExceptionAndMaySuppressIt) {
  strings log;
  auto result = ctxlib::sync_wait(
      ctxlib::async_with(async_recorder{&log, "s", /*suppress=*/true},
                         [](std::string&) -> ctxlib::task<int> { throw value_error("x"); }));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(log.back(), "aexit s x");
}

TEST(AsyncWith, AnUnsuppressedExceptionPropagatesAsTheSameObject) {
  strings log;
  std::exception_ptr raised = std::make_exception_ptr(value_error("x"));
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(
        ctxlib::async_with(async_recorder{&log, "p"}, [&]() { std::rethrow_exception(raised); }));
  });
  EXPECT_EQ(escaped, raised);
}

TEST(AsyncWith, AFailingEnterIsNotPairedWithExit) {
  struct failing {
    int exits = 0;
    ctxlib::task<> aenter() {
      co_await ctxlib::yield_now();
      throw value_error("enter");
    }
    ctxlib::task<bool> aexit(std::exception_ptr) {
      ++exits;
      co_return false;
    }
  } cm;
  EXPECT_THROW(ctxlib::sync_wait(ctxlib::async_with(cm, [] {})), value_error);
  EXPECT_EQ(cm.exits, 0);
}

TEST(AsyncWith, ARaiseInsideAnAsyncExitChainsToTheBodysException) {  // W8 for async with
  struct replacing {
    ctxlib::ready<int> aenter() { return {0}; }
    ctxlib::task<bool> aexit(std::exception_ptr e) {
      co_await ctxlib::yield_now();
      if (e) ctxlib::raise(key_error("replacement"));
      co_return false;
    }
  };
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(replacing{}, [] { ctxlib::raise(value_error("body")); }));
  });
  EXPECT_EQ(message_of(escaped), "replacement");
  EXPECT_EQ(message_of(ctxlib::context_of(escaped)), "body");
}

TEST(AsyncExitStack, SyncAndAsyncEntriesShareOneLifoOrder) {  // A6
  strings log;
  async_recorder a1{&log, "a1"};
  ctxlib::sync_wait(ctxlib::async_with(
      ctxlib::async_exit_stack(), [&](ctxlib::async_exit_stack& stack) -> ctxlib::task<> {
        stack.push_async_exit([&](const std::exception_ptr&) -> ctxlib::task<bool> {
          log.push_back("push-async");
          co_return false;
        });
        stack.push([&](const std::exception_ptr&) {
          log.push_back("push-sync");
          return false;
        });
        stack.push_async_callback([&]() -> ctxlib::task<> {
          co_await ctxlib::yield_now();
          log.push_back("cb-async");
        });
        stack.callback([&] { log.push_back("cb-sync"); });
        std::string& v = co_await stack.enter_async_context(a1);
        log.push_back("entered " + v);
      }));
  EXPECT_EQ(log, (strings{"aenter a1", "entered a1", "aexit a1 None", "cb-sync", "cb-async",
                          "push-sync", "push-async"}));
}

// test_async_exit_exception_chaining: async callbacks raising chain like nested async withs.
TEST(AsyncExitStack, CallbackExceptionsChainLikeNestedAsyncWiths) {
  std::exception_ptr saw;
  auto raise_async = [](std::string what) -> ctxlib::task<> {
    co_await ctxlib::yield_now();
    ctxlib::raise(value_error(what));
  };
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(
        ctxlib::async_exit_stack(), [&](ctxlib::async_exit_stack& stack) -> ctxlib::task<> {
          stack.push_async_callback(raise_async, std::string("index"));
          stack.callback([] { ctxlib::raise(key_error("key")); });
          stack.push_async_callback(raise_async, std::string("attribute"));
          stack.push_async_exit([&](const std::exception_ptr& e) -> ctxlib::task<bool> {
            saw = e;
            co_return true;
          });
          stack.push_async_callback(raise_async, std::string("value"));
          ctxlib::raise(ctxlib::runtime_error("division"));
          co_return;
        }));
  });
  EXPECT_EQ(message_of(escaped), "index");
  auto key = ctxlib::context_of(escaped);
  EXPECT_EQ(message_of(key), "key");
  auto attribute = ctxlib::context_of(key);
  EXPECT_EQ(message_of(attribute), "attribute");
  EXPECT_EQ(ctxlib::context_of(attribute), nullptr);
  EXPECT_EQ(message_of(saw), "value");
  EXPECT_EQ(message_of(ctxlib::context_of(saw)), "division");
}

TEST(AsyncExitStack, RaiseThenSuppressWithoutAnIncomingExceptionLosesTheError) {  // X19
  ctxlib::async_exit_stack stack;
  stack.push_async_exit([](const std::exception_ptr&) -> ctxlib::task<bool> { co_return true; });
  stack.callback([] { ctxlib::raise(key_error("lost")); });
  EXPECT_FALSE(ctxlib::sync_wait(stack.aexit(nullptr)));
}

// CPython's __aexit__ is a coroutine: PEP 479 turns a StopIteration an entry raised into
// RuntimeError there, while the body's own StopIteration, passed on by the async with, stays.
TEST(AsyncExitStack, AStopIterationAnEntryRaisesLeavesAsCoroutineRaisedStopIteration) {
  std::exception_ptr stop;
  ctxlib::async_exit_stack stack;
  stack.callback([&] {
    try {
      ctxlib::raise(ctxlib::stop_iteration("from a callback"));
    } catch (...) {
      stop = std::current_exception();
      throw;
    }
  });
  auto escaped = thrown_by([&] { ctxlib::sync_wait(stack.aclose()); });
  ASSERT_NE(ctxlib::exception_cast<ctxlib::runtime_error>(escaped), nullptr);
  EXPECT_EQ(message_of(escaped), "coroutine raised StopIteration");
  EXPECT_EQ(ctxlib::cause_of(escaped), stop);
  EXPECT_EQ(ctxlib::context_of(escaped), stop);

  std::exception_ptr body;
  auto passed_on = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(ctxlib::async_exit_stack(),
                                         [&](ctxlib::async_exit_stack& s) -> ctxlib::task<> {
                                           s.callback([] {});
                                           try {
                                             ctxlib::raise(ctxlib::stop_iteration("from the body"));
                                           } catch (...) {
                                             body = std::current_exception();
                                             throw;
                                           }
                                           co_return;
                                         }));
  });
  EXPECT_EQ(passed_on, body);

  ctxlib::async_exit_stack suppressed;
  suppressed.push([](const std::exception_ptr&) { return true; });
  suppressed.callback([] { ctxlib::raise(ctxlib::stop_iteration("suppressed later")); });
  EXPECT_FALSE(ctxlib::sync_wait(suppressed.aexit(nullptr)));
}

TEST(AsyncExitStack, ACancellationLikeBaseExceptionDoesNotStopTheUnwind) {  // A7
  strings log;
  ctxlib::async_exit_stack stack;
  stack.callback([&] { log.push_back("still runs"); });
  stack.push_async_callback([]() -> ctxlib::task<> { throw keyboard_interrupt("cancelled"); });
  EXPECT_THROW(ctxlib::sync_wait(stack.aclose()), keyboard_interrupt);
  EXPECT_EQ(log, (strings{"still runs"}));
}

TEST(AsyncExitStack, EnterAsyncContextThatFailsPushesNothing) {  // A1
  struct failing {
    ctxlib::task<> aenter() {
      throw value_error("no");
      co_return;
    }
    ctxlib::task<bool> aexit(std::exception_ptr) { co_return false; }
  };
  ctxlib::async_exit_stack stack;
  EXPECT_THROW(ctxlib::sync_wait(stack.enter_async_context(failing{})), value_error);
  EXPECT_TRUE(stack.empty());
}

TEST(AsyncExitStack, PopAllAndReuse) {  // X6, X9
  strings log;
  ctxlib::async_exit_stack stack;
  stack.push_async_callback([&]() -> ctxlib::task<> {
    log.push_back("moved");
    co_return;
  });
  ctxlib::async_exit_stack moved = stack.pop_all();
  EXPECT_TRUE(stack.empty());
  ctxlib::sync_wait(stack.aclose());
  ctxlib::sync_wait(moved.aclose());
  ctxlib::sync_wait(moved.aclose());
  EXPECT_EQ(log, (strings{"moved"}));
}

TEST(AsyncExitStack, TenThousandAsyncCallbacksUnwindIteratively) {
  int runs = 0;
  ctxlib::async_exit_stack stack;
  for (int i = 0; i < 10000; ++i) {
    stack.push_async_callback([&runs]() -> ctxlib::task<> {
      ++runs;
      co_return;
    });
  }
  ctxlib::sync_wait(stack.aclose());
  EXPECT_EQ(runs, 10000);
}

// A task destroyed while it is suspended inside an async exit: sync_wait gives up (nothing
// will resume it) and destroys the whole chain of frames.
TEST(AsyncExitStack, ATaskDestroyedWhileSuspendedInsideAnAsyncExitFreesEverything) {
  std::coroutine_handle<> parked;
  struct park {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
    void await_resume() const noexcept {}
  };
  auto body = [&](ctxlib::async_exit_stack& stack) -> ctxlib::task<> {
    stack.push_async_callback([&]() -> ctxlib::task<> { co_await park{&parked}; });
    stack.callback([] {});
    throw value_error("pending");
  };
  EXPECT_THROW(ctxlib::sync_wait(ctxlib::async_with(ctxlib::async_exit_stack(), body)),
               std::logic_error);
  EXPECT_TRUE(parked);
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

ctxlib::asynccontextmanager<std::string> async_tag(strings& log, std::string name) {
  co_await ctxlib::yield_now();
  log.push_back("<" + name + ">");
  co_yield name;
  co_await ctxlib::yield_now();
  log.push_back("</" + name + ">");
}

TEST(Asynccontextmanager, AwaitsAroundTheBody) {  // AG2, AG3
  strings log;
  ctxlib::sync_wait(ctxlib::async_with(async_tag(log, "a"), [&](std::string& v) -> ctxlib::task<> {
    co_await ctxlib::yield_now();
    log.push_back("body " + v);
  }));
  EXPECT_EQ(log, (strings{"<a>", "body a", "</a>"}));
}

TEST(Asynccontextmanager, TheBodysExceptionArrivesAtTheYieldAndMayBeSuppressed) {  // AG5
  std::exception_ptr seen, body = std::make_exception_ptr(value_error("body"));
  auto cm = [&]() -> ctxlib::asynccontextmanager<> {
    try {
      co_yield {};
    } catch (...) {
      seen = std::current_exception();
    }
    co_await ctxlib::yield_now();
  };
  EXPECT_NO_THROW(
      ctxlib::sync_wait(ctxlib::async_with(cm(), [&] { std::rethrow_exception(body); })));
  EXPECT_EQ(seen, body);
}

TEST(Asynccontextmanager, NoYieldIsARuntimeErrorFromNoneWithAStopAsyncIterationContext) {  // AG2
  auto cm = []() -> ctxlib::asynccontextmanager<> {
    co_await ctxlib::yield_now();
    co_return;
  };
  auto escaped = thrown_by([&] { ctxlib::sync_wait(ctxlib::async_with(cm(), [] {})); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't yield");
  EXPECT_TRUE(e->suppress_context());
  EXPECT_NE(ctxlib::exception_cast<ctxlib::stop_async_iteration>(e->context()), nullptr);
}

TEST(Asynccontextmanager, YieldingTwiceIsAnErrorAfterAclose) {  // AG3 (3.11.7)
  strings log;
  auto cm = [&]() -> ctxlib::asynccontextmanager<> {
    try {
      co_yield {};
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      log.push_back("GeneratorExit");
      throw;
    }
  };
  auto escaped = thrown_by([&] { ctxlib::sync_wait(ctxlib::async_with(cm(), [] {})); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't stop");
  EXPECT_EQ(log, (strings{"GeneratorExit"}));
}

TEST(Asynccontextmanager, YieldingAfterAthrowIsAnErrorChainedToTheBodysException) {  // AG8
  auto cm = []() -> ctxlib::asynccontextmanager<> {
    bool again = false;
    try {
      co_yield {};
    } catch (...) {
      again = true;
    }
    if (again) co_yield {};
  };
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(cm(), [] { ctxlib::raise(value_error("body")); }));
  });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't stop after athrow()");
  EXPECT_EQ(message_of(e->context()), "body");
}

TEST(Asynccontextmanager, IgnoringGeneratorExitIsReported) {
  auto cm = []() -> ctxlib::asynccontextmanager<> {
    co_yield {};
    bool swallowed = false;
    try {
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      swallowed = true;
    }
    if (swallowed) co_yield {};
  };
  auto escaped = thrown_by([&] { ctxlib::sync_wait(ctxlib::async_with(cm(), [] {})); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "async generator ignored GeneratorExit");
  EXPECT_STREQ(ctxlib::exception_cast<ctxlib::runtime_error>(e->context())->what(),
               "generator didn't stop");
}

TEST(Asynccontextmanager, StopIterationRulesFollowPep479) {  // AG6
  auto passthrough = []() -> ctxlib::asynccontextmanager<> { co_yield {}; };
  for (std::exception_ptr body : {std::make_exception_ptr(ctxlib::stop_iteration("s")),
                                  std::make_exception_ptr(ctxlib::stop_async_iteration("a"))}) {
    auto escaped = thrown_by([&] {
      ctxlib::sync_wait(ctxlib::async_with(passthrough(), [&] { std::rethrow_exception(body); }));
    });
    EXPECT_EQ(escaped, body);  // unwrapped: the same object
  }
  auto own = []() -> ctxlib::asynccontextmanager<> {
    try {
      co_yield {};
    } catch (...) {
      ctxlib::raise(ctxlib::stop_async_iteration("mine"));
    }
  };
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(own(), [] { ctxlib::raise(value_error("body")); }));
  });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "async generator raised StopAsyncIteration");
}

TEST(Asynccontextmanager, EnteringTwiceIsAnAttributeError) {  // AG1
  strings log;
  auto cm = async_tag(log, "once");
  ctxlib::sync_wait(cm.aenter());
  auto escaped = thrown_by([&] { ctxlib::sync_wait(cm.aenter()); });
  auto* e = ctxlib::exception_cast<ctxlib::attribute_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "'_AsyncGeneratorContextManager' object has no attribute 'args'");
}

TEST(Asynccontextmanager, WorksInAnAsyncExitStackWithSyncEntries) {
  strings log;
  ctxlib::sync_wait(ctxlib::async_with(
      ctxlib::async_exit_stack(), [&](ctxlib::async_exit_stack& stack) -> ctxlib::task<> {
        std::string& a = co_await stack.enter_async_context(async_tag(log, "a"));
        stack.callback([&] { log.push_back("sync"); });
        co_await stack.enter_async_context(async_tag(log, "b"));
        log.push_back("body " + a);
      }));
  EXPECT_EQ(log, (strings{"<a>", "<b>", "body a", "</b>", "sync", "</a>"}));
}

TEST(AsyncManagers, NullcontextAndAclosing) {  // F1, E3
  strings log;
  struct resource {
    strings* log;
    ctxlib::task<> aclose() {
      co_await ctxlib::yield_now();
      log->push_back("aclose");
    }
  } r{&log};
  ctxlib::nullcontext<int> n(5);
  ctxlib::sync_wait(ctxlib::async_with(n, [&](int& v) -> ctxlib::task<> {
    co_await ctxlib::async_with(ctxlib::aclosing(r), [&](resource& got) {
      log.push_back(got.log == &log && v == 5 ? "inside" : "wrong");
    });
  }));
  EXPECT_EQ(log, (strings{"inside", "aclose"}));
  EXPECT_THROW(
      ctxlib::sync_wait(ctxlib::async_with(ctxlib::nullcontext(), [] { throw value_error("x"); })),
      value_error);
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

ctxlib::asynccontextmanager<> async_tracked(strings& log) {
  log.push_back("start");
  co_yield {};
  co_await ctxlib::yield_now();
  log.push_back("stop");
}

TEST(AsyncDecorate, ManagersAreMadeWhenTheCallIsAwaitedAndFreshEachTime) {  // D3, D4
  strings log;
  auto f = ctxlib::async_decorate([&] { return async_tracked(log); },
                                  [&](int x) -> ctxlib::task<int> {
                                    co_await ctxlib::yield_now();
                                    log.push_back("call " + std::to_string(x));
                                    co_return x * 2;
                                  });
  auto pending = f(1);
  EXPECT_TRUE(log.empty());  // not created or entered until awaited
  EXPECT_EQ(ctxlib::sync_wait(std::move(pending)), 2);
  EXPECT_EQ(ctxlib::sync_wait(f(2)), 4);
  EXPECT_EQ(log, (strings{"start", "call 1", "stop", "start", "call 2", "stop"}));
}

TEST(AsyncDecorate, ASuppressedExceptionGivesAnEmptyResultAndSyncFunctionsWorkToo) {  // D1
  struct swallow {
    ctxlib::ready<int> aenter() { return {0}; }
    ctxlib::ready<bool> aexit(const std::exception_ptr&) { return {true}; }
  };
  auto f = ctxlib::async_decorate(swallow{}, []() -> int { throw value_error("x"); });
  EXPECT_EQ(ctxlib::sync_wait(f()), std::nullopt);
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

// asyncstdlib's ExitStack, with CPython's AsyncExitStack as the reference: the same mixed
// program on both must give the same order and the same outcome.
TEST(NeutralExitStack, ChoosesTheMatchingMethodPerEntryAndUnwindsLikeAsyncExitStack) {
  strings neutral_log, reference_log;
  auto fill_neutral = [&](ctxlib::neutral_exit_stack& s, strings& log) -> ctxlib::task<> {
    // Managers are named first: GCC 12 destroys temporaries in a co_await operand twice.
    recording_cm sync_cm{&log, "sync-cm"};
    async_recorder async_cm{&log, "async-cm"};
    co_await s.enter_context(std::move(sync_cm));
    co_await s.enter_context(std::move(async_cm));
    s.callback([&log] { log.push_back("sync-cb"); });
    s.callback([&log]() -> ctxlib::task<> {
      co_await ctxlib::yield_now();
      log.push_back("async-cb");
    });
    s.push([&log](const std::exception_ptr& e) {
      log.push_back(e ? "sync-exit sees " + message_of(e) : "sync-exit");
      return false;
    });
    s.push([&log](const std::exception_ptr&) -> ctxlib::task<bool> {
      log.push_back("async-exit suppresses");
      co_return true;
    });
    ctxlib::raise(value_error("body"));
  };
  auto fill_reference = [&](ctxlib::async_exit_stack& s, strings& log) -> ctxlib::task<> {
    s.enter_context(recording_cm{&log, "sync-cm"});
    async_recorder async_cm{&log, "async-cm"};
    co_await s.enter_async_context(std::move(async_cm));
    s.callback([&log] { log.push_back("sync-cb"); });
    s.push_async_callback([&log]() -> ctxlib::task<> {
      co_await ctxlib::yield_now();
      log.push_back("async-cb");
    });
    s.push([&log](const std::exception_ptr& e) {
      log.push_back(e ? "sync-exit sees " + message_of(e) : "sync-exit");
      return false;
    });
    s.push_async_exit([&log](const std::exception_ptr&) -> ctxlib::task<bool> {
      log.push_back("async-exit suppresses");
      co_return true;
    });
    ctxlib::raise(value_error("body"));
  };
  ctxlib::sync_wait(ctxlib::async_with(
      ctxlib::neutral_exit_stack(),
      [&](ctxlib::neutral_exit_stack& s) { return fill_neutral(s, neutral_log); }));
  ctxlib::sync_wait(ctxlib::async_with(
      ctxlib::async_exit_stack(),
      [&](ctxlib::async_exit_stack& s) { return fill_reference(s, reference_log); }));
  EXPECT_EQ(neutral_log, reference_log);
  EXPECT_EQ(neutral_log,
            (strings{"enter sync-cm", "aenter async-cm", "async-exit suppresses", "sync-exit",
                     "async-cb", "sync-cb", "aexit async-cm None", "exit sync-cm None"}));
}

TEST(NeutralExitStack, ASecondAcloseRunsNothingUnlikeAsyncstdlib) {
  int runs = 0;
  ctxlib::neutral_exit_stack stack;
  stack.callback([&] { ++runs; });
  ctxlib::sync_wait(stack.aclose());
  ctxlib::sync_wait(stack.aclose());
  EXPECT_EQ(runs, 1);
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

// asyncio.CancelledError is a BaseException: `catch (const ctxlib::exception&)` does not see
// it, and every unwind treats it like any other exception.
TEST(Cancellation, PassesExceptionHandlersAndEveryAsyncUnwind) {
  strings log;
  auto guarded = [&]() -> ctxlib::asynccontextmanager<> {
    try {
      co_yield {};
    } catch (const ctxlib::exception&) {
      log.push_back("wrongly caught as Exception");
    }
    log.push_back("not reached");
  };
  ctxlib::async_exit_stack stack;
  stack.callback([&] { log.push_back("stack unwound"); });
  auto escaped = thrown_by([&] {
    ctxlib::sync_wait(ctxlib::async_with(stack, [&]() -> ctxlib::task<> {
      co_await ctxlib::async_with(guarded(), [&]() -> ctxlib::task<> {
        co_await ctxlib::yield_now();
        throw ctxlib::cancelled_error();
      });
    }));
  });
  EXPECT_NE(ctxlib::exception_cast<ctxlib::cancelled_error>(escaped), nullptr);
  EXPECT_EQ(ctxlib::exception_cast<ctxlib::exception>(escaped), nullptr);
  EXPECT_EQ(log, (strings{"stack unwound"}));
}

TEST(Cancellation, AnAsyncExitMaySuppressIt) {
  struct absorb {
    ctxlib::ready<int> aenter() { return {0}; }
    ctxlib::ready<bool> aexit(const std::exception_ptr& e) {
      return {ctxlib::exception_cast<ctxlib::cancelled_error>(e) != nullptr};
    }
  };
  EXPECT_NO_THROW(ctxlib::sync_wait(
      ctxlib::async_with(absorb{}, []() -> ctxlib::task<> { throw ctxlib::cancelled_error(); })));
}

}  // namespace

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

TEST(Asynccontextmanager, ExitOfANeverEnteredManagerBehavesLikeCPythons) {  // AG, G20
  strings log;
  auto make = [&]() -> ctxlib::asynccontextmanager<> {
    log.push_back("started");
    try {
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      log.push_back("closed");
      throw;
    }
  };
  auto pushed = make();
  auto escaped = thrown_by([&] { ctxlib::sync_wait(pushed.aexit(nullptr)); });
  EXPECT_STREQ(ctxlib::exception_cast<ctxlib::runtime_error>(escaped)->what(),
               "generator didn't stop");
  EXPECT_EQ(log, (strings{"started", "closed"}));

  log.clear();
  auto unstarted = make();
  EXPECT_FALSE(ctxlib::sync_wait(unstarted.aexit(std::make_exception_ptr(key_error("body")))));
  EXPECT_TRUE(log.empty());
  EXPECT_FALSE(ctxlib::sync_wait(unstarted.aexit(nullptr)));
}

// athrow() into an async generator that already finished returns None (CPython 3.11 to 3.14), so
// an aexit with an exception after the generator ended is "didn't stop after athrow()", chained
// to that exception; without one it is quiet. (A generator's throw() raises it again instead.)
TEST(Asynccontextmanager, AnExitAfterTheGeneratorFinishedDidNotStopAfterAthrow) {
  strings log;
  auto make = [&]() -> ctxlib::asynccontextmanager<> {
    co_yield {};
    log.push_back("returned");
  };
  auto manager = make();
  auto body = [&](ctxlib::async_exit_stack& stack) -> ctxlib::task<> {
    stack.push_async_exit(manager);
    co_await ctxlib::async_with(manager, [] {});
    ctxlib::raise(key_error("in flight"));
  };
  auto escaped =
      thrown_by([&] { ctxlib::sync_wait(ctxlib::async_with(ctxlib::async_exit_stack(), body)); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't stop after athrow()");
  EXPECT_EQ(message_of(e->context()), "in flight");
  EXPECT_EQ(log, (strings{"returned"}));
  EXPECT_FALSE(ctxlib::sync_wait(manager.aexit(nullptr)));
}

// The forms of the two contextmanager tests above: anext() on a finished async generator raises
// StopAsyncIteration, on a running one RuntimeError.
TEST(Asynccontextmanager, EnteringAfterAPushedExitFinishedTheCoroutineDidNotYield) {
  auto raising = []() -> ctxlib::asynccontextmanager<> {
    ctxlib::raise(key_error("before the yield"));
    co_yield {};
  };
  auto cm = raising();
  EXPECT_EQ(message_of(thrown_by([&] { ctxlib::sync_wait(cm.aexit(nullptr)); })),
            "before the yield");
  auto escaped = thrown_by([&] { ctxlib::sync_wait(cm.aenter()); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "generator didn't yield");
}

TEST(Asynccontextmanager, EnteringItsOwnManagerWhileItRunsIsARuntimeError) {
  std::optional<ctxlib::asynccontextmanager<>> self;
  auto make = [&]() -> ctxlib::asynccontextmanager<> {
    co_await ctxlib::async_with(*self, [] {});
    co_yield {};
  };
  self.emplace(make());
  auto escaped = thrown_by([&] { ctxlib::sync_wait(self->aexit(nullptr)); });
  auto* e = ctxlib::exception_cast<ctxlib::runtime_error>(escaped);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->what(), "anext(): asynchronous generator is already running");
}

}  // namespace

namespace {

using namespace ctxlib_test;

// AG3 with a failing aclose: CPython's aclose() throws GeneratorExit unchained, so the chain is
// K -> GeneratorExit and stops (a synchronous close() would continue to "didn't stop").
TEST(Asynccontextmanager, AcloseThrowsGeneratorExitUnchained) {
  auto raising = []() -> ctxlib::asynccontextmanager<> {
    try {
      co_yield {};
      co_yield {};
    } catch (const ctxlib::generator_exit&) {
      ctxlib::raise(key_error("K"));
    }
  };
  auto escaped = thrown_by([&] { ctxlib::sync_wait(ctxlib::async_with(raising(), [] {})); });
  EXPECT_EQ(message_of(escaped), "K");
  auto generator_exit = ctxlib::context_of(escaped);
  EXPECT_NE(ctxlib::exception_cast<ctxlib::generator_exit>(generator_exit), nullptr);
  EXPECT_EQ(ctxlib::context_of(generator_exit), nullptr);
}

}  // namespace
