// convert.hpp (internal): a program as the nested tuples ctxwalker.py runs (its header describes
// the layout). Built through the C API, no source text: a few µs per program.
#pragma once

#include <stdexcept>

#include "ctxmodel/program.hpp"
#include "py_ref.hpp"

namespace ctxoracle::detail {

// The program cannot be run (e.g. a call the checker has not resolved).
struct conversion_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws conversion_error, or python_error (error indicator set). Needs the GIL.
py_ref to_python(const ctxmodel::program& p);

}  // namespace ctxoracle::detail
