// fuzz/pycoverage.hpp: which lines of CPython's contextlib.py the oracle's runs reach. libFuzzer
// only sees coverage of instrumented code, and the embedded CPython gives none; this counts the
// lines of contextlib.py that run, and the line-to-line edges, in libFuzzer's extra counters, so
// the fuzzer explores CPython's contextlib as well as ctxlib. It also accumulates the lines
// reached, for the coverage report (ctxfuzz-pycov).
//
//   ctxfuzz::contextlib_coverage::start(method::probes, why);   // once CPython runs
//   ... ctxoracle::interpreter::instance().run(p) ...            // counters filled during the run
//   ctxfuzz::contextlib_coverage::report(std::cout, method::probes);  // per component
#pragma once

#include <ostream>
#include <set>
#include <string>

namespace ctxfuzz::contextlib_coverage {

// How lines are seen. Both may run at once; each keeps its own set of lines reached.
enum class method {
  // contextlib's functions are recompiled from their source with a probe call before each
  // statement and at the top of each except clause, and the live functions run that code. Cheap
  // (only contextlib's lines cost anything): what the fuzzer uses.
  probes,
  // A C-level trace function (PyEval_SetTrace) sees every line event in contextlib.py frames.
  // Exact, but tracing slows all Python code of a run by ~30 %: what the report uses.
  trace,
};

// Starts counting by `how` on the calling thread's interpreter (the oracle runs programs on the
// thread that calls it). Returns false, with the reason in `why`, if CPython is not running or
// contextlib cannot be imported or probed. Starting a method twice does nothing.
bool start(method how, std::string& why);

// The contextlib.py lines `how` has seen since it started.
const std::set<int>& lines_reached(method how);

// The statement lines that carry a probe (after start(method::probes)). A trace that sees one of
// them must mean its probe ran, and a probe that ran must mean the trace saw its line.
const std::set<int>& probed_lines();

// contextlib.py's path in the embedded CPython.
const std::string& file();

// Per component of contextlib.py (its top-level classes and functions): the executable lines of
// its functions' bodies that `how` saw, of all, and the lines not seen, with their source.
// Computed by the embedded CPython (ast for the components, code objects for the executable
// lines).
void report(std::ostream& out, method how);

}  // namespace ctxfuzz::contextlib_coverage
