// The same async context managers a ctxlib program uses with sync_wait, here inside asio
// coroutines: two sessions run concurrently on one io_context, each entering managers whose
// enter/exit suspend (ctxlib::yield_now, posted to the executor) while asio timers tick.
//
// Prints its transcript and exits 0 when it is the expected one.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "ctxlib/asio.hpp"
#include "ctxlib/ctxlib.hpp"

namespace {

std::vector<std::string> transcript;

void say(std::string line) {
  std::printf("%s\n", line.c_str());
  transcript.push_back(std::move(line));
}

struct timeout_error : ctxlib::exception {
  using exception::exception;
};

// @asynccontextmanager: a connection that opens and closes asynchronously, and turns a
// timeout inside the block into a logged, suppressed event.
ctxlib::asynccontextmanager<std::string> connection(std::string name) {
  co_await ctxlib::yield_now();
  say(name + ": open");
  bool timed_out = false;
  try {
    co_yield name;
  } catch (const timeout_error&) {
    timed_out = true;  // a handler cannot co_await: close below
  }
  co_await ctxlib::yield_now();
  say(name + (timed_out ? ": closed after a timeout (suppressed)" : ": closed"));
}

asio::awaitable<void> session(std::string name, int ticks, bool time_out) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  co_await ctxlib::asio_await(
      ctxlib::async_with(connection(name), [&](std::string& c) -> ctxlib::task<> {
        ctxlib::async_exit_stack stack;
        stack.callback([c] { say(c + ": stack callback"); });
        co_await ctxlib::async_with(stack, [&]() -> ctxlib::task<> {
          for (int i = 0; i < ticks; ++i) {
            say(c + ": tick " + std::to_string(i));
            co_await ctxlib::yield_now();
          }
          if (time_out) throw timeout_error("slow peer");
        });
      }));
  timer.expires_after(std::chrono::milliseconds(1));
  co_await timer.async_wait(asio::use_awaitable);
  say(name + ": done");
}

}  // namespace

int main() {
  asio::io_context io;
  asio::co_spawn(io, session("a", 2, false), asio::detached);
  asio::co_spawn(io, session("b", 1, true), asio::detached);
  io.run();

  // One thread, FIFO executor: the interleaving is deterministic, and it shows both sessions'
  // ctxlib suspensions taking turns on asio's loop.
  const std::vector<std::string> expected = {
      "a: open",           "a: tick 0",
      "b: open",           "b: tick 0",
      "a: tick 1",         "b: stack callback",
      "a: stack callback", "b: closed after a timeout (suppressed)",
      "a: closed",         "b: done",
      "a: done",
  };
  if (transcript != expected) {
    std::printf("unexpected transcript\n");
    return 1;
  }
  std::printf("asio example: ok\n");
  return 0;
}
