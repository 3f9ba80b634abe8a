// bench/alloc_count.hpp: counts the heap allocations a benchmark makes.
//
// alloc_count.cpp replaces the global operator new (every form) in ctxlib_bench with versions
// that count per thread, then take memory from malloc. A benchmark reads the count before and
// after its loop:
//
//   std::uint64_t before = ctxbench::allocations();
//   for (auto _ : state) work();
//   ctxbench::report_allocations(state, before);   // counter "allocs" = per iteration
//
// Only operator new is seen: CPython's allocator and the C++ runtime's exception objects
// (__cxa_allocate_exception) call malloc directly and are not counted.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace ctxbench {

// Allocations made through the global operator new by this thread so far.
std::uint64_t allocations() noexcept;

// Sets the counter "allocs": allocations since `before`, per iteration.
void report_allocations(benchmark::State& state, std::uint64_t before);

}  // namespace ctxbench
