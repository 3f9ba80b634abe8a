// bench/cpython.hpp: the embedded CPython, as the benchmarks use it.
//
// The interpreter is the oracle's (ctxoracle::interpreter starts it once, isolated, with the
// standard library CMake found), so the benchmarks time the very CPython the differential tests
// compare against. On top of it this module loads bench/cpython_ops.py, the Python side of the
// library benchmarks, and runs exported scripts.
//
//   ctxbench::cpython::gil held;                       // every call below needs the GIL
//   ctxbench::cpython::op stack("exit_stack");
//   stack.run(1000, 16);                               // 1000 ExitStacks of 16 callbacks
//
// Every failure (CPython did not start, a Python exception) is a std::runtime_error whose text
// carries the Python traceback.
#pragma once

#include <string>

namespace ctxbench::cpython {

// "cpython 3.11.7"; starts the interpreter if needed.
std::string version();

// Holds the GIL for a scope (taking it is reentrant).
class gil {
 public:
  gil();
  ~gil();
  gil(const gil&) = delete;
  gil& operator=(const gil&) = delete;

 private:
  int state_;
};

// A function of bench/cpython_ops.py: `name(count, size)`, which performs an operation `count`
// times.
class op {
 public:
  explicit op(const char* name);  // needs the GIL
  void run(long count, long size) const;

 private:
  void* function_;  // a PyObject*, owned by the ops module
};

// An exported script, compiled once, executed as `python3 script.py` would, with __name__ set
// to "__main__" and sys.stdout captured.
class script {
 public:
  script(const std::string& source, const std::string& file_name);  // needs the GIL
  ~script();
  script(script&& other) noexcept;
  script& operator=(script&&) = delete;
  script(const script&) = delete;

  std::string run() const;  // what the script printed; needs the GIL

 private:
  void* code_;  // a PyObject* code object, owned
};

}  // namespace ctxbench::cpython
