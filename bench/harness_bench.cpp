// bench/harness_bench.cpp: what the differential harness costs per program. One differential
// exec is what `ctxdiff run` does per program once it is parsed: ctxrunner::run, the oracle's
// run on the embedded CPython, and the comparison of the two traces. The oracle efficiency sets
// against it the time CPython needs to run the program's exported plain script (compiled once,
// executed with its output captured): the harness's cost over CPython alone.
#include "harness_bench.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpython.hpp"
#include "ctxmodel/corpus.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"
#include "report.hpp"

namespace ctxbench {
namespace {

struct mix_program {
  std::string kind;
  std::string path;  // as written in the mix file
  ctxmodel::program program;
  std::string expected;  // the oracle's trace text
  std::optional<cpython::script> script;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": error: cannot read file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The traces of both sides, or an error naming the program.
std::string oracle_trace(const mix_program& p) {
  ctxoracle::oracle_result r = ctxoracle::interpreter::instance().run(p.program);
  if (!r.trace) throw std::runtime_error(p.path + ": oracle error:\n" + r.error);
  return r.trace->to_text();
}

bool differential_exec(const ctxmodel::program& p) {
  const ctxmodel::trace ours = ctxrunner::run(p);
  const ctxoracle::oracle_result theirs = ctxoracle::interpreter::instance().run(p);
  return theirs.trace && ours == *theirs.trace;
}

// Reads the mix, parses every program once, and checks that ctxlib and CPython agree on each:
// a benchmark of a harness that reports divergences would measure the wrong thing.
std::vector<mix_program> load_mix(const std::string& mix_file) {
  std::istringstream lines(read_text(mix_file));
  std::vector<mix_program> mix;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    mix_program p;
    std::string extra;
    if (!(fields >> p.kind >> p.path) || (fields >> extra)) {
      throw std::runtime_error(mix_file + ":" + std::to_string(number) + ":" +
                               std::to_string(first + 1) +
                               ": error: expected `KIND PATH` (PATH relative to the repository)");
    }
    const std::string full = std::string(CTXBENCH_SOURCE_DIR) + "/" + p.path;
    ctxmodel::corpus_file file = ctxmodel::split_corpus_file(read_text(full));
    ctxmodel::load_result loaded = ctxmodel::load(file.program_text, full);
    if (!loaded.program) {
      std::string errors;
      for (const ctxmodel::diagnostic& d : loaded.errors) errors += d.to_string() + "\n";
      throw std::runtime_error(errors);
    }
    p.program = std::move(*loaded.program);
    p.expected = oracle_trace(p);
    if (ctxrunner::run(p.program).to_text() != p.expected) {
      throw std::runtime_error(full + ": ctxlib and CPython disagree (see `ctxdiff run " + full +
                               "`); the mix must hold agreeing programs");
    }
    mix.push_back(std::move(p));
  }
  if (mix.empty()) throw std::runtime_error(mix_file + ": error: no programs");
  return mix;
}

std::string mix_file_name;

std::vector<mix_program>& the_mix() {
  static std::vector<mix_program> mix = load_mix(mix_file_name);
  return mix;
}

// Exports and compiles every script once, and checks it prints what the oracle returns.
void prepare_scripts(std::vector<mix_program>& mix) {
  for (mix_program& p : mix) {
    if (p.script) continue;
    std::string source = ctxoracle::export_python(p.program);
    cpython::gil held;
    cpython::script compiled(source, p.path);
    if (compiled.run() != p.expected) {
      throw std::runtime_error(p.path + ": the exported script does not print the oracle's trace");
    }
    p.script.emplace(std::move(compiled));
  }
}

std::vector<mix_program*> select(std::vector<mix_program>& mix, const std::string& kind) {
  std::vector<mix_program*> chosen;
  for (mix_program& p : mix) {
    if (kind.empty() || p.kind == kind) chosen.push_back(&p);
  }
  return chosen;
}

// One benchmark iteration per program; each pass runs every selected program once.
template <class Exec>
void over_mix(benchmark::State& state, const std::string& kind, Exec exec) {
  try {
    std::vector<mix_program*> chosen = select(the_mix(), kind);
    if (chosen.empty()) throw std::runtime_error("no program of kind " + kind + " in the mix");
    while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(chosen.size()))) {
      for (mix_program* p : chosen) {
        if (!exec(*p)) {
          state.SkipWithError((p->path + ": ctxlib and CPython disagree").c_str());
          return;
        }
      }
    }
    state.counters["execs_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

template <class Exec>
void add_harness(const std::string& name, const std::string& kind, Exec exec) {
  register_benchmark(name, [kind, exec](benchmark::State& state) { over_mix(state, kind, exec); });
}

void add_script_benchmark(const std::string& name, const std::string& kind) {
  register_benchmark(name, [kind](benchmark::State& state) {
    try {
      prepare_scripts(the_mix());
      cpython::gil held;  // held across the loop: only the scripts are timed
      over_mix(state, kind, [](const mix_program& p) {
        static_cast<void>(p.script->run());
        return true;
      });
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace

void register_harness_benchmarks(const std::string& mix_file) {
  mix_file_name = mix_file;
  add_harness("harness/runner", "", [](const mix_program& p) {
    benchmark::DoNotOptimize(ctxrunner::run(p.program));
    return true;
  });
  add_harness("harness/oracle", "", [](const mix_program& p) {
    return ctxoracle::interpreter::instance().run(p.program).trace.has_value();
  });
  add_harness("harness/differential_exec", "",
              [](const mix_program& p) { return differential_exec(p.program); });
  add_script_benchmark("harness/cpython_script", "");
  add(comparison{"harness", "oracle efficiency: exported script on CPython ÷ differential exec",
                 "harness/cpython_script", "harness/differential_exec", 0.5, bound::at_least,
                 "oracle_efficiency"});
  add(counter_check{"differential execs per second on the mix", "harness/differential_exec",
                    "execs_per_second", CTXBENCH_SANITIZED ? 3000 : 10000, bound::at_least});

  for (const char* kind : {"with", "stack", "generator", "async"}) {
    const std::string k = kind;
    add_harness("harness/differential_exec/" + k, k,
                [](const mix_program& p) { return differential_exec(p.program); });
    add_script_benchmark("harness/cpython_script/" + k, k);
    add(comparison{"harness", "oracle efficiency, `" + k + "` programs",
                   "harness/cpython_script/" + k, "harness/differential_exec/" + k, 0, bound::none,
                   "oracle_efficiency"});
  }
}

int run_rss_mode(const std::string& mix_file, long execs, long warmup) {
  mix_file_name = mix_file;
  try {
    std::vector<mix_program>& mix = the_mix();
    long done = 0;
    auto exec_some = [&](long n) {
      for (long i = 0; i < n; ++i, ++done) {
        const mix_program& p = mix[static_cast<std::size_t>(done) % mix.size()];
        if (!differential_exec(p.program)) {
          throw std::runtime_error(p.path + ": ctxlib and CPython disagree");
        }
      }
    };
    std::printf("rss: %zu programs in the mix; %.1f MiB before the warm-up\n", mix.size(),
                mib(resident_bytes()));
    exec_some(warmup);
    const std::size_t start = resident_bytes();
    std::printf("rss: %ld warm-up execs; %.1f MiB\n", warmup, mib(start));
    std::fflush(stdout);
    const auto began = std::chrono::steady_clock::now();
    const long step = execs >= 10 ? execs / 10 : 1;
    for (long run = 0; run < execs;) {
      const long n = std::min(step, execs - run);
      exec_some(n);
      run += n;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      const std::size_t now = resident_bytes();
      std::printf("rss: %ld execs, %.1f MiB (%+.2f%%), %.0f execs/s\n", run, mib(now),
                  100.0 * (static_cast<double>(now) - static_cast<double>(start)) /
                      static_cast<double>(start),
                  static_cast<double>(run) / seconds);
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ctxlib_bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace ctxbench
