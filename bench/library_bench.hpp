// bench/library_bench.hpp: registers the library benchmarks (ctxlib, hand-written C++, CPython)
// and their comparisons; see library_bench.cpp.
//
//   ctxbench::register_library_benchmarks();
//   benchmark::RunSpecifiedBenchmarks(&reporter);   // reporter: a ctxbench::ratio_reporter
#pragma once

namespace ctxbench {

void register_library_benchmarks();

}  // namespace ctxbench
