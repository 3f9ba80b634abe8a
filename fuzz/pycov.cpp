// pycov.cpp (ctxfuzz-pycov): which lines of CPython's contextlib.py programs reach, per
// component (class or function), and which lines none of them reach.
//
//   ctxfuzz-pycov [--probes | --check-probes] PATH...
//
// PATH: a .ctx program or a folder of them (e.g. corpus/), or a folder or file of fuzzer inputs
// (no extension or .bin: decoded with the fuzzer's limits, e.g. a campaign's corpus or seeds).
// Every program runs on the oracle with contextlib.py traced (pycoverage.hpp); the report covers
// them all. --probes reports what the fuzzer's probes see instead. --check-probes checks the
// probes against the trace: every program runs first unprobed and untraced, then with both,
// and the check fails (exit 1) if a probed run's trace differs from the plain run's, or if the
// probes and the trace disagree on a probed line.
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "harness.hpp"
#include "pycoverage.hpp"

namespace fs = std::filesystem;

namespace coverage = ctxfuzz::contextlib_coverage;

namespace {

bool start(coverage::method how) {
  std::string why;
  if (coverage::start(how, why)) return true;
  std::cerr << "ctxfuzz-pycov: " << why << '\n';
  return false;
}

// The probes against the trace, on the lines that carry a probe: a probe runs exactly when its
// statement's line runs; an except clause's probe (not a statement line) only when the clause
// was reached, which the trace sees too.
int check_probes() {
  const std::set<int>& probed = coverage::probed_lines();
  const std::set<int>& by_probes = coverage::lines_reached(coverage::method::probes);
  const std::set<int>& by_trace = coverage::lines_reached(coverage::method::trace);
  int wrong = 0;
  for (int line : by_probes) {
    if (!by_trace.count(line)) {
      std::cout << "line " << line << ": its probe ran, the trace never saw it\n";
      ++wrong;
    }
  }
  for (int line : by_trace) {
    if (probed.count(line) && !by_probes.count(line)) {
      std::cout << "line " << line << ": traced, its probe never ran\n";
      ++wrong;
    }
  }
  std::cout << "probes: " << probed.size() << " statement lines probed; " << by_probes.size()
            << " lines seen by probes, " << by_trace.size() << " by the trace; " << wrong
            << " disagreements\n";
  return wrong;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool probes = mode == "--probes", check = mode == "--check-probes";
  const int first = probes || check ? 2 : 1;
  if (argc <= first || (mode.rfind("--", 0) == 0 && !probes && !check)) {
    std::cerr << "usage: ctxfuzz-pycov [--probes | --check-probes] PATH...   (.ctx programs, "
                 "folders of them, fuzzer inputs)\n";
    return 2;
  }
  ctxfuzz::choose_python_allocator();
  if (ctxfuzz::cpython_version().empty()) {
    std::cerr << "ctxfuzz-pycov: the embedded CPython did not start\n";
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = first; i < argc; ++i) {
    const fs::path p = argv[i];
    if (!fs::exists(p)) {
      std::cerr << p.string() << ": error: no such file or folder\n";
      return 2;
    }
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::vector<ctxmodel::program> programs;
  int failed = 0;
  for (const fs::path& f : files) {
    const std::string bytes = ctxfuzz::read_file(f);
    ctxmodel::program p;
    if (f.extension() == ".ctx") {
      ctxmodel::load_result r =
          ctxmodel::load(ctxmodel::split_corpus_file(bytes).program_text, f.string());
      if (!r.program) {
        for (const auto& d : r.errors) std::cerr << d.to_string() << '\n';
        ++failed;
        continue;
      }
      p = std::move(*r.program);
    } else if (f.extension().empty() || f.extension() == ".bin") {
      ctxmodel::byte_choices source(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                    bytes.size());
      p = ctxmodel::generate(source, ctxfuzz::limits());
    } else {
      continue;  // neither a program nor a fuzzer input (e.g. a corpus tool script)
    }
    programs.push_back(std::move(p));
  }
  ctxoracle::interpreter& oracle = ctxfuzz::oracle();
  std::vector<std::optional<ctxmodel::trace>> plain;
  if (check) {
    for (const ctxmodel::program& p : programs) plain.push_back(oracle.run(p).trace);
  }
  if (((probes || check) && !start(coverage::method::probes)) ||
      (!probes && !start(coverage::method::trace))) {
    return 2;
  }
  int changed = 0;
  int timed_out = 0;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const ctxoracle::oracle_result r = oracle.run(programs[i]);
    const std::optional<ctxmodel::trace>& t = r.trace;
    if (r.timed_out) {
      ++timed_out;  // CPython's own outcome (X16), not a failure: its lines up to the cut count
    } else if (!t) {
      ++failed;
    }
    if (check && t != plain[i]) {
      std::cout << "program " << i + 1 << " of " << programs.size()
                << ": its trace with probes differs from its trace without\n"
                << ctxmodel::print(programs[i]);
      ++changed;
    }
  }
  const coverage::method how = probes ? coverage::method::probes : coverage::method::trace;
  std::cout << "contextlib coverage of " << programs.size() << " programs ("
            << ctxfuzz::cpython_version() << ", " << coverage::file() << ", "
            << (probes ? "probes" : "traced") << ")\n";
  coverage::report(std::cout, how);
  const int wrong = check ? check_probes() + changed : 0;
  if (timed_out) {
    std::cerr << "ctxfuzz-pycov: " << timed_out << " programs stopped after "
              << ctxfuzz::oracle_time_limit.count()
              << " s: CPython loops forever on them (X16, docs/differences.md)\n";
  }
  if (failed) std::cerr << "ctxfuzz-pycov: " << failed << " programs did not load or run\n";
  if (wrong) std::cerr << "ctxfuzz-pycov: the probes are not faithful (" << wrong << ")\n";
  return failed || wrong ? 1 : 0;
}
