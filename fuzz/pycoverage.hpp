// fuzz/pycoverage.hpp: which lines of CPython's contextlib.py the oracle's runs reach. libFuzzer
// only sees coverage of instrumented code, and the embedded CPython gives none; this traces the
// interpreter (a C-level trace function, PyEval_SetTrace) in contextlib.py frames only and feeds
// the lines and line-to-line edges to libFuzzer as extra counters, so the fuzzer explores
// CPython's contextlib as well as ctxlib. It also accumulates the lines reached, for the
// coverage report (ctxfuzz-pycov).
//
//   ctxfuzz::contextlib_coverage::start();        // once CPython runs (oracle started)
//   ... ctxoracle::interpreter::instance().run(p) ...   // counters filled during the run
//   ctxfuzz::contextlib_coverage::report(std::cout);    // per component of contextlib.py
#pragma once

#include <ostream>
#include <set>
#include <string>

namespace ctxfuzz::contextlib_coverage {

// Installs the trace function on the oracle's thread state (the calling thread's: the oracle
// runs programs on the thread that calls it). Returns false, with the reason in `why`, if CPython
// is not running or contextlib cannot be imported. Tracing makes the oracle's runs slower
// (measured in docs/fuzzing.md).
bool start(std::string& why);

// The contextlib.py lines reached since start().
const std::set<int>& lines_reached();

// contextlib.py's path in the embedded CPython.
const std::string& file();

// Per component of contextlib.py (its top-level classes and functions): the executable lines of
// its functions' bodies reached, of all, and the lines not reached, with their source. Computed
// by the embedded CPython (ast for the components, code objects for the executable lines).
void report(std::ostream& out);

}  // namespace ctxfuzz::contextlib_coverage
