// The differential property: on every generated program, ctxlib's trace equals the embedded
// CPython's. A counterexample is shrunk to a small program and written out for the corpus.
#include "checks.hpp"
#include "glue.hpp"
#include "program_gen.hpp"

CTXPROP(Differential, CtxlibAgreesWithCPython, 15000, ()) {
  ctxprop::check_agreement(*ctxprop::programs());
}
