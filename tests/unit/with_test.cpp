// ctxlib::with: Python's with statement (catalogue W1-W10) as a C++ user writes it.
#include <gtest/gtest.h>
#include <pthread.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlib/ctxlib.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;

TEST(With, BodyReceivesWhatEnterReturnsAndExitSeesNoException) {  // W5
  std::vector<std::string> log;
  recording_cm cm{&log, "a"};
  ctxlib::with(cm, [&](std::string& v) { log.push_back("body " + v); });
  EXPECT_EQ(log, (std::vector<std::string>{"enter a", "body a", "exit a None"}));
}

TEST(With, BodyMayIgnoreTheEnteredValue) {
  std::vector<std::string> log;
  recording_cm cm{&log, "a"};
  ctxlib::with(cm, [&] { log.push_back("body"); });
  EXPECT_EQ(log.size(), 3u);
}

TEST(With, EnterThatThrowsIsNotPairedWithExit) {  // W2
  struct failing_enter {
    int exits = 0;
    int enter() { throw value_error("enter"); }
    bool exit(const std::exception_ptr&) { return ++exits, false; }
  } cm;
  bool body_ran = false;
  auto e = thrown_by([&] { ctxlib::with(cm, [&](int) { body_ran = true; }); });
  EXPECT_EQ(message_of(e), "enter");
  EXPECT_FALSE(body_ran);
  EXPECT_EQ(cm.exits, 0);
}

TEST(With, ExitReceivesTheBodysExceptionObjectAndFalsePropagatesTheSameObject) {  // W6, W7
  std::vector<std::string> log;
  recording_cm cm{&log, "a"};
  std::exception_ptr raised;
  auto escaped = thrown_by([&] {
    ctxlib::with(cm, [&] {
      raised = std::make_exception_ptr(value_error("boom"));
      std::rethrow_exception(raised);
    });
  });
  EXPECT_EQ(cm.received, raised);
  EXPECT_EQ(escaped, raised);  // identity
  EXPECT_EQ(ctxlib::context_of(escaped), nullptr);
}

TEST(With, TrueSuppressesAndExecutionContinuesAfterTheStatement) {  // W7
  std::vector<std::string> log;
  recording_cm cm{&log, "a", /*suppress=*/true};
  auto result = ctxlib::with(cm, [&]() -> int { throw value_error("x"); });
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(log.back(), "exit a x");
}

TEST(With, BodyResultComesBackInAnOptional) {
  std::vector<std::string> log;
  recording_cm cm{&log, "a"};
  std::optional<int> r = ctxlib::with(cm, [] { return 42; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
}

TEST(With, ExitThatRaisesReplacesTheBodysExceptionWithItsContextSet) {  // W8
  struct replacing {
    void enter() {}
    bool exit(const std::exception_ptr& e) {
      if (e) ctxlib::raise(key_error("replacement"));
      return false;
    }
  } cm;
  auto escaped = thrown_by([&] { ctxlib::with(cm, [] { ctxlib::raise(value_error("body")); }); });
  EXPECT_EQ(message_of(escaped), "replacement");
  EXPECT_EQ(message_of(ctxlib::context_of(escaped)), "body");
}

TEST(With, ExitThatReRaisesTheSameObjectDoesNotChainItToItself) {  // W8
  struct reraising {
    void enter() {}
    bool exit(const std::exception_ptr& e) {
      if (e) ctxlib::raise(e);
      return false;
    }
  } cm;
  std::exception_ptr body;
  auto escaped = thrown_by([&] {
    ctxlib::with(cm, [&] {
      body = std::make_exception_ptr(value_error("body"));
      ctxlib::raise(body);
    });
  });
  EXPECT_EQ(escaped, body);
  EXPECT_EQ(ctxlib::context_of(escaped), nullptr);
}

TEST(With, ExitRaisingAfterANormalBodyChainsToTheExceptionHandledAroundTheWith) {  // W5
  struct raising {
    void enter() {}
    bool exit(const std::exception_ptr&) { ctxlib::raise(key_error("from exit")); }
  } cm;
  std::exception_ptr outer = std::make_exception_ptr(value_error("outer"));
  std::exception_ptr escaped;
  try {
    std::rethrow_exception(outer);
  } catch (...) {
    escaped = thrown_by([&] { ctxlib::with(cm, [] {}); });
  }
  EXPECT_EQ(message_of(escaped), "from exit");
  EXPECT_EQ(ctxlib::context_of(escaped), outer);
}

TEST(With, BaseExceptionLikeExceptionsGoThroughTheSameProtocolAndMayBeSuppressed) {  // W9
  std::vector<std::string> log;
  recording_cm cm{&log, "a", /*suppress=*/true};
  EXPECT_NO_THROW(ctxlib::with(cm, [] { throw keyboard_interrupt("^C"); }));
  EXPECT_EQ(log.back(), "exit a ^C");
}

TEST(With, NonCtxlibExceptionsPassThroughUntouched) {
  std::vector<std::string> log;
  recording_cm cm{&log, "a"};
  EXPECT_THROW(ctxlib::with(cm, [] { throw std::out_of_range("x"); }), std::out_of_range);
  EXPECT_NE(cm.received, nullptr);
}

TEST(With, NestedWithsUnwindInsideOut) {  // W3
  std::vector<std::string> log;
  recording_cm a{&log, "a"}, b{&log, "b"};
  thrown_by([&] { ctxlib::with(a, [&] { ctxlib::with(b, [] { throw value_error("x"); }); }); });
  EXPECT_EQ(log, (std::vector<std::string>{"enter a", "enter b", "exit b x", "exit a x"}));
}

TEST(With, ExitSeesTheBodysExceptionAsTheOneBeingHandled) {  // W6
  std::exception_ptr seen_current;
  struct probe {
    std::exception_ptr* seen;
    void enter() {}
    bool exit(const std::exception_ptr&) {
      *seen = std::current_exception();
      return true;
    }
  } cm{&seen_current};
  std::exception_ptr body = std::make_exception_ptr(value_error("x"));
  ctxlib::with(cm, [&] { std::rethrow_exception(body); });
  EXPECT_EQ(seen_current, body);
}

TEST(With, TemporaryManagersLiveForTheWholeStatement) {
  std::vector<std::string> log;
  ctxlib::with(recording_cm{&log, "tmp"}, [&](std::string& name) { log.push_back(name); });
  EXPECT_EQ(log, (std::vector<std::string>{"enter tmp", "tmp", "exit tmp None"}));
}

// A thread cancelled inside a with-block is unwound by glibc with a forced unwind, a foreign
// exception that no exception_ptr can hold (exit() sees none). After exit() declines, the
// unwind must go on as `throw;` would: the thread ends cancelled, and the process does not.
// Both forms of `with`: the inner body returns a value, the outer one nothing.
TEST(With, ThreadCancellationUnwindsThroughAWith) {
  struct counted {
    int* exits;
    void enter() {}
    bool exit(const std::exception_ptr& exception) {
      EXPECT_EQ(exception, nullptr);
      ++*exits;
      return false;
    }
  };
  int exits = 0;
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, nullptr,
                [](void* arg) -> void* {
                  int* exits = static_cast<int*>(arg);
                  ctxlib::with(counted{exits}, [exits] {
                    static_cast<void>(ctxlib::with(counted{exits}, []() -> int {
                      for (;;) pthread_testcancel();
                    }));
                  });
                  return nullptr;
                },
                &exits),
            0);
  ASSERT_EQ(pthread_cancel(thread), 0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  EXPECT_EQ(result, PTHREAD_CANCELED);
  EXPECT_EQ(exits, 2);
}

}  // namespace
