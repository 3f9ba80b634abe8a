// reduce.hpp: one-step structural reductions of a program, for shrinking. Each reduction removes
// one thing: a declaration, a parameter, a cm member, a decorator, a statement, a with item, an
// except handler, a finally or else block, a marked value, a suppress() class or tuple item, or
// replaces a compound statement by one of its blocks.
// The results need not check (a removed declaration may still be named); the shrinker re-encodes
// each through ctxmodel::encode, which turns it into the closest program the generator builds.
//
//   for (const ctxmodel::program& smaller : ctxprop::reductions(p))
//     try_it(ctxmodel::generate(bytes_of(ctxmodel::encode(smaller))));
#pragma once

#include <vector>

#include "ctxmodel/program.hpp"

namespace ctxprop {

// Every one-step reduction of `p`, the biggest cuts first (declarations, then statements from
// the top of the program down).
std::vector<ctxmodel::program> reductions(const ctxmodel::program& p);

// Statements in the program, declarations and their bodies included (a declaration counts one).
int statement_count(const ctxmodel::program& p);

}  // namespace ctxprop
