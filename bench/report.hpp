// bench/report.hpp: ratios, not only times.
//
// Benchmarks are registered together with what they are compared against. The reporter prints
// Google Benchmark's console output with each comparison's value added as a counter to the
// later of its two rows (e.g. `ratio_vs_vector=0.83`), keeps every figure, and renders the
// markdown tables of docs/performance.md once the run is over:
//
//   ctxbench::add(ctxbench::comparison{"exit_stack", "16 callbacks, ctxlib ÷ vector<function>",
//                                      "exit_stack/ctxlib/16", "exit_stack/vector_function/16",
//                                      1.0, ctxbench::bound::at_most, "ratio_vs_vector"});
//   ctxbench::ratio_reporter reporter;
//   benchmark::RunSpecifiedBenchmarks(&reporter);
//   std::cout << reporter.markdown();
//
// A benchmark's figure is its CPU time per iteration (on a shared machine, time spent
// descheduled would be noise). With repetitions it is the median (Google Benchmark's median
// aggregate, or the median of the repetitions it reported). Ratios are taken between figures of one
// run.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ctxbench {

enum class bound { none, at_most, at_least };

// value = time(numerator) ÷ time(denominator), checked against `target` if `kind` is not none.
struct comparison {
  std::string section;  // the table's group, e.g. "exit_stack"
  std::string what;     // the row's text
  std::string numerator;
  std::string denominator;
  double target = 0;
  bound kind = bound::none;
  std::string counter;  // the counter name in the console output
};

// An acceptance on one benchmark's counter, e.g. allocs ≤ 0, execs_per_second ≥ 10000.
struct counter_check {
  std::string what;
  std::string benchmark;
  std::string counter;
  double target = 0;
  bound kind = bound::at_most;
};

void add(comparison c);
void add(counter_check c);

// Registers a benchmark with Google Benchmark and remembers the order, which the tables follow.
void remember_registration(const std::string& name);
template <class Fn>
void register_benchmark(const std::string& name, Fn fn) {
  remember_registration(name);
  benchmark::RegisterBenchmark(name.c_str(), std::move(fn));
}

class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;

  // The comparisons, the counter checks, then every benchmark's time and counters, as
  // markdown tables.
  std::string markdown() const;

  // Benchmarks that reported an error (a failed Python call, a divergence in the mix).
  std::vector<std::string> failed() const;

 private:
  struct figure {
    double seconds = 0;  // CPU time per iteration
    std::map<std::string, double> counters;
  };
  struct history {
    std::vector<figure> repetitions;
    std::optional<figure> library_median;  // Google Benchmark's median aggregate, if reported
    std::string error;
  };

  // The benchmark's figure: the library's median, else the median of its repetitions; none if
  // it did not run or failed.
  std::optional<figure> find(const std::string& name) const;
  void annotate(Run& run) const;

  std::map<std::string, history> results_;
};

}  // namespace ctxbench
