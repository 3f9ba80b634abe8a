// ctxlib_bench: ctxlib against hand-written C++ and against CPython's contextlib in one run,
// and the speed of the differential harness (docs/performance.md).
//
//   ctxlib_bench [Google Benchmark flags] [--mix=FILE] [--ratios_out=FILE]
//   ctxlib_bench --rss_execs=N [--rss_warmup=M] [--mix=FILE]
//
// Runs the benchmarks with Google Benchmark's console output (each comparison's value added as
// a counter to its row), then prints the markdown tables of ratios, acceptance checks and
// figures (also written to --ratios_out). --rss_execs runs no benchmark: it runs N differential
// execs over the mix after M warm-up ones and prints the resident set size as it goes.
// bench/run.sh runs it as docs/performance.md was made. Exits non-zero if a benchmark could not
// run (never because one was slow).
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cpython.hpp"
#include "harness_bench.hpp"
#include "library_bench.hpp"
#include "report.hpp"

namespace {

struct options {
  std::string mix = CTXBENCH_MIX;
  std::string ratios_out;
  long rss_execs = 0;
  long rss_warmup = 10000;
};

bool parse_count(std::string_view text, long& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out >= 0;
}

// Takes this program's own flags out of argv (Google Benchmark has taken its own); false with a
// message for anything left that neither knows.
bool parse_options(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value_of = [&](std::string_view flag, std::string_view& value) {
      if (arg.substr(0, flag.size()) != flag) return false;
      value = arg.substr(flag.size());
      return true;
    };
    std::string_view value;
    if (value_of("--mix=", value)) {
      o.mix = value;
    } else if (value_of("--ratios_out=", value)) {
      o.ratios_out = value;
    } else if (value_of("--rss_execs=", value)) {
      if (!parse_count(value, o.rss_execs)) {
        std::cerr << "ctxlib_bench: --rss_execs expects a count, got '" << value << "'\n";
        return false;
      }
    } else if (value_of("--rss_warmup=", value)) {
      if (!parse_count(value, o.rss_warmup)) {
        std::cerr << "ctxlib_bench: --rss_warmup expects a count, got '" << value << "'\n";
        return false;
      }
    } else {
      std::cerr << "ctxlib_bench: unknown argument '" << arg
                << "' (own flags: --mix=FILE --ratios_out=FILE --rss_execs=N --rss_warmup=M; "
                   "--help lists Google Benchmark's)\n";
      return false;
    }
  }
  return true;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown CPU";
}

// The 1-minute load average: on a shared machine, how busy it was.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  return in >> one ? one : "?";
}

// What the figures were measured on and with.
std::string header(const std::string& command, const std::string& load_before) {
  std::ostringstream out;
  std::string python;
  try {
    python = ctxbench::cpython::version();
  } catch (const std::exception& e) {
    python = std::string("(did not start: ") + e.what() + ")";
  }
  out << "Machine: " << cpu_model() << ", " << std::thread::hardware_concurrency()
      << " hardware threads. Compiler: " << CTXBENCH_COMPILER << ", `" << CTXBENCH_FLAGS << "`"
      << (CTXBENCH_SANITIZED ? ", ASan+UBSan" : "") << ". Embedded " << python << ". Load average "
      << load_before << " at the start, " << load_average() << " at the end.\n\nCommand: `"
      << command << "`\n\n";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = "ctxlib_bench";
  for (int i = 1; i < argc; ++i) {
    // Where the tables go says nothing about how they were measured.
    if (std::string_view(argv[i]).substr(0, 13) != "--ratios_out=") {
      command += std::string(" ") + argv[i];
    }
  }
  const std::string load_before = load_average();

  benchmark::Initialize(&argc, argv);
  options o;
  if (!parse_options(argc, argv, o)) return 2;
  if (o.rss_execs > 0) return ctxbench::run_rss_mode(o.mix, o.rss_execs, o.rss_warmup);

  ctxbench::register_library_benchmarks();
  ctxbench::register_harness_benchmarks(o.mix);

  ctxbench::ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const std::string tables = header(command, load_before) + reporter.markdown();
  std::cout << '\n' << tables;
  if (!o.ratios_out.empty()) {
    std::ofstream out(o.ratios_out);
    if (!(out << tables) || !out.flush()) {
      std::cerr << "ctxlib_bench: cannot write " << o.ratios_out << '\n';
      return 1;
    }
  }
  // A benchmark that could not run is a failure (the ctest smoke relies on it); a slow one is not.
  const std::vector<std::string> failed = reporter.failed();
  for (const std::string& name : failed) std::cerr << "ctxlib_bench: " << name << " failed\n";
  return failed.empty() ? 0 : 1;
}
