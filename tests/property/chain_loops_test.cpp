// Exception chains never loop in ctxlib's traces, unless CPython's trace has the same loops
// (CPython's own ExitStack can make one: an exit that re-raises the exception it received,
// when that came from an earlier exit while the body's exception is being handled, becomes its
// own __context__). Runs CPython only for programs whose ctxlib trace has a loop.
#include "checks.hpp"
#include "glue.hpp"
#include "program_gen.hpp"

CTXPROP(ChainLoops, OnlyWhereCPythonHasThem, 20000, ()) {
  ctxprop::check_no_chain_loops(*ctxprop::programs());
}
