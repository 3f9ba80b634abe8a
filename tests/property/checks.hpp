// checks.hpp: what each property asserts about a generated case, with the failure report:
// the program(s) in the program language, both traces side by side, and the counterexample
// written to a file that scripts/save-counterexample.sh puts in the corpus. Call them from a
// property (CTXPROP): they fail the case with RC_FAIL, and RapidCheck shrinks it.
//
//   CTXPROP(Differential, CtxlibAgreesWithCPython, 15000, ()) {
//     ctxprop::check_agreement(*ctxprop::programs());
//   }
#pragma once

#include "ctxmodel/program.hpp"
#include "laws.hpp"

namespace ctxprop {

// ctxlib's trace equals the embedded CPython's (ctxdiff's comparison; a difference is confirmed
// by a second run of both sides), as ctxdiff and the fuzz targets compare. An oracle error fails
// the case with its text. Divergences on fuzz/known-divergences.txt are tagged, not failed, unless
// CTXLIB_PROPERTY_REPORT_KNOWN=1.
void check_agreement(const ctxmodel::program& p);

// The law holds on ctxlib, and it holds on CPython too (if it did not, the law or its
// construction is wrong, and the failure says so).
void check_law(const law_case& c);

// No exception chain in ctxlib's trace loops, unless CPython's trace has the same loop at the
// same event (the rest of the traces may differ: that is the differential property's business).
void check_no_chain_loops(const ctxmodel::program& p);

}  // namespace ctxprop
