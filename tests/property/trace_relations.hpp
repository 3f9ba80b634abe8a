// trace_relations.hpp: what the properties read in traces beyond equality — exception chains
// that loop, and traces compared without `__context__` (docs/language.md, "Rendering values").
//
//   for (const std::string& loop : ctxprop::chain_loops(ctxrunner::run(p)))
//     std::cout << loop << '\n';             // "event 3: #a KeyError -context-> #a KeyError"
//   bool same = ctxprop::without_contexts(a) == ctxprop::without_contexts(b);
#pragma once

#include <string>
#include <vector>

#include "ctxmodel/trace.hpp"

namespace ctxprop {

// Every loop in the exception chains the trace renders: a chain link (`cause=(#N)` or
// `context=(#N)`) back to an exception on the path that leads to it. The renderer writes an
// exception already rendered within the same value as `(#N)`, so a back-reference to an
// ancestor is a loop and one to anything else (a diamond) is not. Each loop reads
// "event I: #a CLASS -ATTRIBUTE-> #b CLASS ... -ATTRIBUTE-> #a CLASS" (I counts from 1; the
// loop's exceptions are lettered in its own order, so traces that number exceptions
// differently describe the same loop the same way).
std::vector<std::string> chain_loops(const ctxmodel::trace& t);

// The trace with every ` context=(...)` clause removed and exception identities renumbered in
// order of first appearance, so two traces that differ only in `__context__` links compare
// equal (quoted strings are left alone).
ctxmodel::trace without_contexts(const ctxmodel::trace& t);

}  // namespace ctxprop
