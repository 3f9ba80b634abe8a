// ctxoracle/oracle.hpp: the oracle. Runs a checked program on embedded CPython, with real
// `with`, try/except/finally, raise and contextlib, and returns its trace; exports a program as a
// standalone Python script that prints the same trace.
//
//   ctxoracle::interpreter& python = ctxoracle::interpreter::instance();
//   ctxoracle::oracle_result r = python.run(program);   // program: checked (ctxmodel::load)
//   if (!r.error.empty()) report_oracle_bug(r.error);    // never a divergence
//   else compare(*r.trace, runner_trace, python.version());
//
// CPython starts once per process, on first use, and is never finalized. Any thread may call;
// runs are serialized.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxoracle {

struct oracle_result {
  std::optional<ctxmodel::trace> trace;  // set when the program ran (whatever it raised)
  std::string error;  // otherwise: a failure of the oracle itself, with the Python traceback
  // CPython did not finish within the time limit and was interrupted (no trace). CPython can
  // loop forever where ctxlib does not (an exception chain made cyclic: docs/differences.md,
  // X16), so this is CPython's outcome, not the oracle's failure.
  bool timed_out = false;
};

class interpreter {
 public:
  // Starts CPython on first use: isolated, no signal handlers, hash seed 0, the standard
  // library of the interpreter CMake found. If that fails, run() returns the reason as error.
  static interpreter& instance();

  // "cpython 3.11.7": the embedded interpreter's sys.version_info; empty if it did not start.
  const std::string& version() const;

  // Runs a checked program. An unchecked one (unresolved calls, unbound names) is an error.
  // A run longer than time_limit() is interrupted: timed_out, with the reason as error.
  oracle_result run(const ctxmodel::program& checked_program);

  // How long one run may take (default 5 s: programs take milliseconds; CPython can hang).
  std::chrono::milliseconds time_limit() const;
  void set_time_limit(std::chrono::milliseconds limit);

  // str() of a Python expression evaluated in the embedded interpreter, for self-tests and
  // diagnostics. Throws std::runtime_error with the traceback if it raises.
  std::string evaluate(std::string_view python_expression);

  interpreter(const interpreter&) = delete;
  interpreter& operator=(const interpreter&) = delete;

 private:
  interpreter();
  ~interpreter();
  friend std::string export_python(const ctxmodel::program& p);

  struct state;
  std::unique_ptr<state> state_;
};

// The program as a standalone, readable Python 3 script using contextlib directly; `python3
// script.py` prints the trace text (events, then the outcome line) the oracle returns for it.
// Throws std::runtime_error if the program cannot be exported (it was not checked).
std::string export_python(const ctxmodel::program& p);

}  // namespace ctxoracle
