// ctxlib::decorate: Python's ContextDecorator (catalogue D1-D3), used as a C++ user would.
#include "ctxlib/decorator.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ctxlib/contextmanager.hpp"
#include "ctxlib/ctxlib.hpp"
#include "test_support.hpp"

namespace {

using namespace ctxlib_test;
using strings = std::vector<std::string>;

TEST(Decorate, EachCallRunsInsideTheSameManagerInstance) {  // D1, D2
  strings log;
  recording_cm cm{&log, "cm"};
  auto f = ctxlib::decorate(cm, [&](int x) {
    log.push_back("call " + std::to_string(x));
    return x * 2;
  });
  std::optional<int> a = f(1);
  std::optional<int> b = f(2);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 4);
  EXPECT_EQ(log,
            (strings{"enter cm", "call 1", "exit cm None", "enter cm", "call 2", "exit cm None"}));
}

TEST(Decorate, ASuppressedExceptionGivesAnEmptyResult) {  // D1: Python returns None
  strings log;
  auto f = ctxlib::decorate(recording_cm{&log, "s", /*suppress=*/true},
                            []() -> int { throw value_error("x"); });
  EXPECT_EQ(f(), std::nullopt);
  EXPECT_EQ(log.back(), "exit s x");
}

TEST(Decorate, ExceptionsNotSuppressedPropagate) {
  strings log;
  auto f = ctxlib::decorate(recording_cm{&log, "p"}, [] { throw value_error("x"); });
  EXPECT_THROW(f(), value_error);
  EXPECT_EQ(log.back(), "exit p x");
}

ctxlib::contextmanager<> tracked(strings& log) {
  log.push_back("start");
  co_yield {};
  log.push_back("stop");
}

TEST(Decorate, AFactoryMakesAFreshManagerPerCallAndNothingRunsBeforeTheFirstCall) {  // D3
  strings log;
  auto f = ctxlib::decorate([&] { return tracked(log); }, [&] { log.push_back("body"); });
  EXPECT_TRUE(log.empty());
  f();
  f();
  EXPECT_EQ(log, (strings{"start", "body", "stop", "start", "body", "stop"}));
}

TEST(Decorate, RecursionReentersTheSameInstance) {  // D2: test_recursive's shape
  int depth = 0, max_depth = 0;
  struct depth_cm {
    int* depth;
    int* max_depth;
    void enter() { *max_depth = std::max(*max_depth, ++*depth); }
    bool exit(const std::exception_ptr&) { return --*depth, false; }
  } cm{&depth, &max_depth};
  std::function<void(int)> recurse;
  auto f = ctxlib::decorate(cm, [&](int n) {
    if (n > 0) recurse(n - 1);
  });
  recurse = [&](int n) { f(n); };
  recurse(9);
  EXPECT_EQ(max_depth, 10);
  EXPECT_EQ(depth, 0);
}

}  // namespace
