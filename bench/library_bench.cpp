// bench/library_bench.cpp: ctxlib's operations, the hand-written C++ a careful programmer would
// write instead, and the same operations on CPython's contextlib (bench/cpython_ops.py), each
// registered with its comparisons (docs/performance.md explains every baseline).
//
// Every body, callback and exit does the same small piece of work, touch(), which the optimizer
// must keep; ctxlib and the hand-written code differ only in the machinery around it.
#include "library_bench.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "alloc_count.hpp"
#include "cpython.hpp"
#include "ctxlib/ctxlib.hpp"
#include "report.hpp"

namespace ctxbench {
namespace {

inline void touch(int& hits) {
  ++hits;
  benchmark::DoNotOptimize(hits);
}

struct bench_error : std::exception {
  const char* what() const noexcept override { return "bench_error"; }
};

[[gnu::noinline]] void raise_bench_error() {
  throw bench_error();
}

// Runs op(hits) once per iteration; reports allocations per iteration.
template <class Op>
void measure(benchmark::State& state, Op op) {
  int hits = 0;
  const std::uint64_t before = allocations();
  for (auto _ : state) op(hits);
  report_allocations(state, before);
  benchmark::DoNotOptimize(hits);
}

template <class Op>
void add_cpp(const std::string& name, Op op) {
  register_benchmark(name, [op](benchmark::State& state) { measure(state, op); });
}

// The CPython side: one call of cpython_ops.<function>(batch, size) runs `batch` operations in
// a Python loop, so the call's own cost is spread over the batch.
void add_cpython(const std::string& name, const char* function, long size) {
  register_benchmark(name, [function, size](benchmark::State& state) {
    constexpr long batch = 32;
    try {
      cpython::gil held;  // held across the loop
      const cpython::op op(function);
      while (state.KeepRunningBatch(batch)) op.run(batch, size);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
}

// ---- with on a class-based context manager

struct counting_cm {
  int& hits;
  int& enter() {
    touch(hits);
    return hits;
  }
  bool exit(const std::exception_ptr& e) {
    touch(hits);
    return ctxlib::exception_cast<bench_error>(e) != nullptr;
  }
};

// The same enter, body and exit written as code; the suppression is a catch clause.
template <class Body>
void hand_written_with(int& hits, Body body) {
  touch(hits);
  try {
    body(hits);
  } catch (const bench_error&) {
    touch(hits);
    return;
  }
  touch(hits);
}

void register_with() {
  add_cpp("with/hand_written/no_exception",
          [](int& hits) { hand_written_with(hits, [](int& v) { touch(v); }); });
  add_cpp("with/ctxlib/no_exception",
          [](int& hits) { ctxlib::with(counting_cm{hits}, [](int& v) { touch(v); }); });
  add_cpython("with/cpython/no_exception", "with_no_exception", 0);
  add_cpp("with/hand_written/suppressed",
          [](int& hits) { hand_written_with(hits, [](int&) { raise_bench_error(); }); });
  add_cpp("with/ctxlib/suppressed",
          [](int& hits) { ctxlib::with(counting_cm{hits}, [](int&) { raise_bench_error(); }); });
  add_cpython("with/cpython/suppressed", "with_suppressed", 0);

  for (const char* c : {"no_exception", "suppressed"}) {
    const std::string s = c;
    add(comparison{"with", "class-based cm, " + s + ": ctxlib ÷ hand-written try/catch",
                   "with/ctxlib/" + s, "with/hand_written/" + s, 0, bound::none,
                   "ratio_vs_hand_written"});
    add(comparison{"with", "class-based cm, " + s + ": CPython ÷ ctxlib (speed-up)",
                   "with/cpython/" + s, "with/ctxlib/" + s, 0, bound::none, "ctxlib_speedup"});
  }
}

// ---- exit_stack of n callbacks, no exception

template <class F>
struct scope_guard {
  F f;
  ~scope_guard() { f(); }
};
template <class F>
scope_guard(F) -> scope_guard<F>;

template <int N>
void nested_guards(int& hits) {
  if constexpr (N == 0) {
    touch(hits);  // the body
  } else {
    scope_guard guard{[&hits] { touch(hits); }};
    nested_guards<N - 1>(hits);
  }
}

template <int N>
void add_guards() {
  add_cpp("exit_stack/raii_guards/" + std::to_string(N), [](int& hits) { nested_guards<N>(hits); });
}

// The hand-written LIFO: `reserved` gives it the exact capacity up front (its best case, one
// allocation); otherwise it grows as pushes come, as it must when the count is not known in
// advance (the case an exit stack is for).
void vector_of_functions(int& hits, int n, bool reserved) {
  std::vector<std::function<void()>> cleanups;
  if (reserved) cleanups.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) cleanups.emplace_back([&hits] { touch(hits); });
  touch(hits);  // the body
  while (!cleanups.empty()) {
    cleanups.back()();
    cleanups.pop_back();
  }
}

void ctxlib_exit_stack(int& hits, int n, bool reserved) {
  ctxlib::exit_stack stack;
  if (reserved) stack.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) stack.callback([&hits] { touch(hits); });
  ctxlib::with(stack, [&hits] { touch(hits); });
}

constexpr int stack_sizes[] = {1, 4, 8, 16, 64};

void register_exit_stack() {
  add_guards<1>();
  add_guards<4>();
  add_guards<8>();
  add_guards<16>();
  add_guards<64>();
  for (int n : stack_sizes) {
    const std::string size = std::to_string(n);
    add_cpp("exit_stack/vector_function/" + size,
            [n](int& hits) { vector_of_functions(hits, n, true); });
    add_cpp("exit_stack/vector_function_grown/" + size,
            [n](int& hits) { vector_of_functions(hits, n, false); });
    add_cpp("exit_stack/ctxlib/" + size, [n](int& hits) { ctxlib_exit_stack(hits, n, false); });
    add_cpp("exit_stack/ctxlib_reserved/" + size,
            [n](int& hits) { ctxlib_exit_stack(hits, n, true); });
    add_cpython("exit_stack/cpython/" + size, "exit_stack", n);

    const std::string what = size + (n == 1 ? " callback" : " callbacks");
    // Like for like: both reserved, both grown as pushes come. The cross ratio (ctxlib not
    // reserved against the reserved vector) is kept for reference.
    add(comparison{"exit_stack", what + ": ctxlib ÷ vector<function> LIFO, both reserved",
                   "exit_stack/ctxlib_reserved/" + size, "exit_stack/vector_function/" + size, 1.0,
                   bound::at_most, "ratio_vs_vector"});
    add(comparison{"exit_stack", what + ": ctxlib ÷ vector<function> LIFO, both grown",
                   "exit_stack/ctxlib/" + size, "exit_stack/vector_function_grown/" + size, 1.0,
                   bound::at_most, "ratio_vs_vector_grown"});
    add(comparison{"exit_stack", what + ": ctxlib not reserved ÷ vector<function>, reserved",
                   "exit_stack/ctxlib/" + size, "exit_stack/vector_function/" + size, 0,
                   bound::none, "ratio_unreserved_vs_vector"});
    add(comparison{"exit_stack", what + ": ctxlib ÷ nested RAII guards",
                   "exit_stack/ctxlib/" + size, "exit_stack/raii_guards/" + size, 0, bound::none,
                   "ratio_vs_raii"});
    add(comparison{"exit_stack", what + ": CPython ÷ ctxlib (speed-up)",
                   "exit_stack/cpython/" + size, "exit_stack/ctxlib/" + size, 0, bound::none,
                   "ctxlib_speedup"});
    if (n <= 8) {
      add(counter_check{"exit_stack of " + what + ": heap allocations", "exit_stack/ctxlib/" + size,
                        "allocs", 0, bound::at_most});
    }
  }
}

// ---- an exception escaping a stack of 16 exits that look at its type

constexpr int escape_size = 16;

void inspect(int& hits, const bench_error* e) {
  if (e != nullptr) touch(hits);
}

// How a hand-written handler rethrows the exception it handles: `throw;`, or as ctxlib's `with`
// does, std::rethrow_exception of the handled exception (libstdc++'s `throw;` passes through one
// more libgcc frame). Forced inline, so the rethrow stays in the handler's own frame.
enum class rethrow_by { statement, exception_ptr };

template <rethrow_by how>
[[noreturn, gnu::always_inline]] inline void rethrow_handled() {
  if constexpr (how == rethrow_by::statement) {
    throw;
  } else {
    std::rethrow_exception(std::current_exception());
  }
}

// The fastest hand-written form: the catch clause tests the type once, each cleanup is told.
// Rethrown by `throw;` it is the baseline; by std::rethrow_exception it shows what that
// choice is worth by hand (no bound).
template <rethrow_by how>
void hand_written_escape(int& hits, int n) {
  try {
    try {
      raise_bench_error();
    } catch (const bench_error& e) {
      for (int i = 0; i < n; ++i) inspect(hits, &e);
      rethrow_handled<how>();
    } catch (...) {
      for (int i = 0; i < n; ++i) inspect(hits, nullptr);
      rethrow_handled<how>();
    }
  } catch (const bench_error&) {
    touch(hits);
  }
}

// The same, written as `catch (...)` with each cleanup testing the type itself, without a
// rethrow (the exception_ptr type test exit_stack's exits use).
void hand_written_catch_all_escape(int& hits, int n) {
  try {
    try {
      raise_bench_error();
    } catch (...) {
      const std::exception_ptr e = std::current_exception();
      for (int i = 0; i < n; ++i) inspect(hits, ctxlib::exception_cast<bench_error>(e));
      throw;
    }
  } catch (const bench_error&) {
    touch(hits);
  }
}

// What issue 7 warns about: every cleanup learns the type by rethrowing.
void rethrow_per_exit_escape(int& hits, int n) {
  try {
    try {
      raise_bench_error();
    } catch (...) {
      for (int i = 0; i < n; ++i) {
        try {
          throw;
        } catch (const bench_error& e) {
          inspect(hits, &e);
        } catch (...) {
          inspect(hits, nullptr);
        }
      }
      throw;
    }
  } catch (const bench_error&) {
    touch(hits);
  }
}

void ctxlib_escape(int& hits, int n) {
  try {
    ctxlib::exit_stack stack;
    for (int i = 0; i < n; ++i) {
      stack.push([&hits](const std::exception_ptr& e) {
        inspect(hits, ctxlib::exception_cast<bench_error>(e));
        return false;
      });
    }
    ctxlib::with(stack, [] { raise_bench_error(); });
  } catch (const bench_error&) {
    touch(hits);
  }
}

void register_escape() {
  const std::string size = std::to_string(escape_size);
  add_cpp("escape/hand_written/" + size,
          [](int& hits) { hand_written_escape<rethrow_by::statement>(hits, escape_size); });
  add_cpp("escape/hand_written_catch_all/" + size,
          [](int& hits) { hand_written_catch_all_escape(hits, escape_size); });
  add_cpp("escape/hand_written_rethrow_exception/" + size,
          [](int& hits) { hand_written_escape<rethrow_by::exception_ptr>(hits, escape_size); });
  add_cpp("escape/rethrow_per_exit/" + size,
          [](int& hits) { rethrow_per_exit_escape(hits, escape_size); });
  add_cpp("escape/ctxlib/" + size, [](int& hits) { ctxlib_escape(hits, escape_size); });
  add_cpython("escape/cpython/" + size, "escape", escape_size);

  const std::string what = "exception escaping " + size + " exits that test its type: ";
  add(comparison{"escape", what + "ctxlib ÷ hand-written try/catch/rethrow",
                 "escape/ctxlib/" + size, "escape/hand_written/" + size, 1.2, bound::at_most,
                 "ratio_vs_hand_written"});
  add(comparison{"escape", what + "ctxlib ÷ hand-written catch (...) testing each type",
                 "escape/ctxlib/" + size, "escape/hand_written_catch_all/" + size, 1.2,
                 bound::at_most, "ratio_vs_catch_all"});
  add(comparison{"escape",
                 what + "ctxlib ÷ hand-written typed catch, rethrown by std::rethrow_exception",
                 "escape/ctxlib/" + size, "escape/hand_written_rethrow_exception/" + size, 0,
                 bound::none, "ratio_vs_rethrow_exception"});
  add(comparison{"escape", what + "rethrow per exit ÷ hand-written",
                 "escape/rethrow_per_exit/" + size, "escape/hand_written/" + size, 0, bound::none,
                 "ratio_vs_hand_written"});
  add(comparison{"escape", what + "CPython ÷ ctxlib (speed-up)", "escape/cpython/" + size,
                 "escape/ctxlib/" + size, 0, bound::none, "ctxlib_speedup"});
}

// ---- contextmanager

ctxlib::contextmanager<int> managed(int& hits) {
  int value = 42;
  touch(hits);
  co_yield value;
  touch(hits);
}

void register_contextmanager() {
  add_cpp("contextmanager/ctxlib/no_exception", [](int& hits) {
    ctxlib::with(managed(hits), [&hits](int& value) {
      hits += value;
      benchmark::DoNotOptimize(hits);
    });
  });
  add_cpython("contextmanager/cpython/no_exception", "contextmanager_no_exception", 0);
  add_cpp("contextmanager/ctxlib/exception", [](int& hits) {
    try {
      ctxlib::with(managed(hits), [](int&) { raise_bench_error(); });
    } catch (const bench_error&) {
      touch(hits);
    }
  });
  add_cpython("contextmanager/cpython/exception", "contextmanager_exception", 0);

  add(comparison{"contextmanager", "with-block, no exception: CPython ÷ ctxlib (speed-up)",
                 "contextmanager/cpython/no_exception", "contextmanager/ctxlib/no_exception", 20,
                 bound::at_least, "ctxlib_speedup"});
  add(comparison{"contextmanager",
                 "with-block, exception thrown in and propagated: CPython ÷ ctxlib (speed-up)",
                 "contextmanager/cpython/exception", "contextmanager/ctxlib/exception", 0,
                 bound::none, "ctxlib_speedup"});
  add(comparison{"contextmanager", "with-block, no exception: ctxlib ÷ class-based cm",
                 "contextmanager/ctxlib/no_exception", "with/ctxlib/no_exception", 0, bound::none,
                 "ratio_vs_class_cm"});
  for (const char* c : {"no_exception", "exception"}) {
    add(counter_check{std::string("contextmanager with-block (") + c + "): heap allocations",
                      std::string("contextmanager/ctxlib/") + c, "allocs", 1, bound::at_most});
  }
}

// ---- async_exit_stack through sync_wait

ctxlib::task<> async_stack_block(int& hits, int n) {
  ctxlib::async_exit_stack stack;
  co_await ctxlib::async_with(stack, [&stack, &hits, n]() -> ctxlib::task<> {
    for (int i = 0; i < n; ++i) {
      stack.push_async_callback([&hits]() -> ctxlib::task<> {
        touch(hits);
        co_return;
      });
    }
    co_return;
  });
}

void register_async() {
  for (int n : {4, 16}) {
    const std::string size = std::to_string(n);
    add_cpp("async_exit_stack/ctxlib/" + size,
            [n](int& hits) { ctxlib::sync_wait(async_stack_block(hits, n)); });
    add_cpython("async_exit_stack/cpython/" + size, "async_exit_stack", n);
    add(comparison{"async_exit_stack",
                   size + " async callbacks, sync_wait per stack: CPython ÷ ctxlib (speed-up)",
                   "async_exit_stack/cpython/" + size, "async_exit_stack/ctxlib/" + size, 0,
                   bound::none, "ctxlib_speedup"});
  }
}

}  // namespace

void register_library_benchmarks() {
  register_with();
  register_exit_stack();
  register_escape();
  register_contextmanager();
  register_async();
}

}  // namespace ctxbench
