// ctxrunner/runner.hpp: runs a checked program on ctxlib, through its public API only, the
// way a C++ user writes the code (ctxlib::with with lambdas, classes with enter/exit,
// exit_stack::push/callback with lambdas), and returns the trace.
//
//   ctxmodel::load_result r = ctxmodel::load(text, "x.ctx");
//   ctxmodel::trace t = ctxrunner::run(*r.program);
#pragma once

#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxrunner {

// `checked_program` must have passed ctxmodel::check (load does it); the runner relies on its
// guarantees (names resolve, kinds fit) and does not re-validate.
ctxmodel::trace run(const ctxmodel::program& checked_program);

}  // namespace ctxrunner
