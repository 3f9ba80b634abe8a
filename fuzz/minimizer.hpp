// fuzz/minimizer.hpp: reduces a divergent program to a small one that still diverges, at the
// program level (used by ctxfuzz-minimize and by the differential target's triage).
//
//   std::optional<ctxfuzz::minimized> m = ctxfuzz::minimize(program, {});
//   if (m) std::cout << ctxmodel::print(m->program);
//
// It deletes declarations, statements (a block keeps `pass`), handlers, finally/else blocks, with
// items, `as` names, members, decorators and mark values; replaces a compound statement by one of
// its blocks; simplifies expressions (None for a value, a class for a new exception, no
// argument). Every candidate must pass ctxmodel::check and still diverge: the same verdict and,
// with `match`, a report containing it. A candidate whose divergence is on the known list is
// dropped too, unless the input's is or `allow_known`: a program can show a known bug in a form the
// list does not match, and reducing it would just find that bug again. Repeats until nothing more
// can go.
#pragma once

#include <optional>
#include <string>

#include "ctxmodel/program.hpp"
#include "harness.hpp"

namespace ctxfuzz {

struct minimize_options {
  std::string match;         // keep only candidates whose report contains this
  bool allow_known = false;  // may reduce to a known divergence (triage)
};

struct minimized {
  ctxmodel::program program;  // checked
  comparison last;            // its comparison; verdict `known` if it reduced to a known one
  int kept = 0;               // edits kept, of
  int tried = 0;              // edits tried
};

// Empty when `checked_program` does not diverge (in this process) the way `options` asks.
std::optional<minimized> minimize(const ctxmodel::program& checked_program,
                                  const minimize_options& options);

}  // namespace ctxfuzz
