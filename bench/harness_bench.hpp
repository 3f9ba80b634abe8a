// bench/harness_bench.hpp: the differential harness's speed on the committed mix of corpus
// programs (bench/mix.txt); see harness_bench.cpp.
//
//   ctxbench::register_harness_benchmarks("bench/mix.txt");      // then RunSpecifiedBenchmarks
//   return ctxbench::run_rss_mode("bench/mix.txt", 1000000, 10000);
#pragma once

#include <string>

namespace ctxbench {

// Registers the harness benchmarks and their comparisons; the mix is read when one first runs.
void register_harness_benchmarks(const std::string& mix_file);

// Runs `warmup` then `execs` differential execs round-robin over the mix, printing the resident
// set size along the way; returns the process's exit status (non-zero if ctxlib and CPython
// disagreed or the mix could not be loaded).
int run_rss_mode(const std::string& mix_file, long execs, long warmup);

}  // namespace ctxbench
