// ctxlib::asio_await: results, exceptions (the same object) and async exits, seen from asio
// coroutines.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <string>
#include <vector>

#include "ctxlib/asio.hpp"
#include "ctxlib/ctxlib.hpp"

namespace {

struct value_error : ctxlib::exception {
  using exception::exception;
};

template <class T>
T run(asio::awaitable<T> coroutine) {
  asio::io_context io;
  auto future = asio::co_spawn(io, std::move(coroutine), asio::use_future);
  io.run();
  return future.get();
}

TEST(AsioAwait, GivesTheTasksResult) {
  auto answer = []() -> ctxlib::task<int> {
    co_await ctxlib::yield_now();
    co_return 42;
  };
  EXPECT_EQ(
      run([&]() -> asio::awaitable<int> { co_return co_await ctxlib::asio_await(answer()); }()),
      42);
}

TEST(AsioAwait, RethrowsTheTasksExceptionAsTheSameObject) {
  std::exception_ptr raised = std::make_exception_ptr(value_error("x"));
  auto failing = [&]() -> ctxlib::task<> {
    co_await ctxlib::yield_now();
    std::rethrow_exception(raised);
  };
  std::exception_ptr seen = run([&]() -> asio::awaitable<std::exception_ptr> {
    try {
      co_await ctxlib::asio_await(failing());
    } catch (...) {
      co_return std::current_exception();
    }
    co_return nullptr;
  }());
  EXPECT_EQ(seen, raised);
}

TEST(AsioAwait, AsyncExitsChainAndSuppressAsUnderSyncWait) {
  std::vector<std::string> log;
  auto program = [&]() -> ctxlib::task<std::string> {
    ctxlib::async_exit_stack stack;
    std::string outcome = "none";
    try {
      co_await ctxlib::async_with(stack, [&]() -> ctxlib::task<> {
        stack.push_async_callback([&]() -> ctxlib::task<> {
          co_await ctxlib::yield_now();
          ctxlib::raise(value_error("from exit"));
        });
        ctxlib::raise(value_error("body"));
        co_return;
      });
    } catch (const value_error& e) {
      outcome = std::string(e.what()) + " <- " +
                ctxlib::exception_cast<value_error>(e.context())->message();
    }
    co_return outcome;
  };
  std::string via_asio = run([&]() -> asio::awaitable<std::string> {
    co_return co_await ctxlib::asio_await(program());
  }());
  EXPECT_EQ(via_asio, "from exit <- body");
  EXPECT_EQ(ctxlib::sync_wait(program()), via_asio);
}

}  // namespace
