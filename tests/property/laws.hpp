// laws.hpp: the metamorphic laws of contextlib as pairs of programs that must give the same trace
// (or traces related as the law says). Each builder takes a base program from ctxmodel::generate
// and builds both sides around its declarations and statements, with every further decision
// drawn from the choices that made it, so a law's counterexample shrinks like a program.
//
//   ctxmodel::byte_choices source(data, size);    // or a tape (program_gen.hpp)
//   ctxmodel::program base = ctxmodel::generate(source, limits);
//   std::optional<ctxprop::law_case> c =
//       ctxprop::exit_stack_is_nested_with(std::move(base), source, limits, /*exact=*/true);
//   bool holds = ctxprop::related(c->holds, ctxrunner::run(c->lhs), ctxrunner::run(c->rhs));
//
// A builder returns std::nullopt when the base program offers nothing the law can use (for
// example no manager to decorate a function with); the property discards that case.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "ctxmodel/generate.hpp"
#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxprop {

// How the two sides' traces must relate.
enum class relation {
  equal,
  // Equal once every `__context__` link is removed (trace_relations.hpp): the sides differ only
  // in implicit chaining, as ExitStack's documented differences from nested `with` do.
  equal_without_contexts,
};

struct law_case {
  std::string law;  // the claim, one line
  std::string lhs_title, rhs_title;
  ctxmodel::program lhs, rhs;  // both checked
  relation holds = relation::equal;
};

bool related(relation r, const ctxmodel::trace& lhs, const ctxmodel::trace& rhs);
const char* relation_text(relation r);

// An ExitStack (or an AsyncExitStack) entering managers a, b, c... behaves as nested
// `with a: with b: with c:` (`async with` for async managers) around the same body.
// exact: the managers' exit code is "transparent" (raises only new exceptions, catches nothing,
// calls nothing), their arguments are never exception objects, and the body always ends in a
// raise; then the traces are equal. Otherwise (any managers, any body) they are equal without
// `__context__`: with no exception active the stack does not chain one exit's exception to the
// previous one's (X14, gh-102201), a re-raised frame exception loses its chain (X17), code
// inside an exit sees the stack's frame exception as the one being handled, not the pending one,
// and an exit re-raising the exception an earlier exit raised makes it its own __context__.
// The async variant never names StopIteration (see async_stack_with_sync_entries).
std::optional<law_case> exit_stack_is_nested_with(ctxmodel::program base, ctxmodel::choices& source,
                                                  const ctxmodel::generate_limits& limits,
                                                  bool exact);

// `t = s.pop_all(); t.close()` behaves as `s.close()` (also on AsyncExitStack and
// NeutralExitStack, with `await ...aclose()`), and `s` is empty afterwards in both.
std::optional<law_case> pop_all_then_close(ctxmodel::program base, ctxmodel::choices& source,
                                           const ctxmodel::generate_limits& limits);

// A function decorated with a manager (`@C(ARGS)` / `@g(ARGS)`, async: an acm or an
// @asynccontextmanager function) called as `f(...)` behaves as the undecorated function called
// as `with C(ARGS): f(...)`.
std::optional<law_case> decorated_call(ctxmodel::program base, ctxmodel::choices& source,
                                       const ctxmodel::generate_limits& limits);

// Wrapping statements in `with nullcontext(V):`, `with suppress():` or, in async code,
// `async with nullcontext(V):` changes nothing.
std::optional<law_case> transparent_managers(ctxmodel::program base, ctxmodel::choices& source,
                                             const ctxmodel::generate_limits& limits);

// An AsyncExitStack holding only sync entries behaves as an ExitStack holding them. The
// programs never name StopIteration: one raised by an exit would leave AsyncExitStack's
// coroutine __aexit__ as RuntimeError('coroutine raised StopIteration'), a difference of the
// coroutine, not of the stack.
std::optional<law_case> async_stack_with_sync_entries(ctxmodel::program base,
                                                      ctxmodel::choices& source,
                                                      const ctxmodel::generate_limits& limits);

// A NeutralExitStack behaves as an AsyncExitStack given each entry with the method of its kind:
// enter_context / enter_async_context, push / push_async_exit, callback / push_async_callback.
std::optional<law_case> neutral_stack_is_async_stack(ctxmodel::program base,
                                                     ctxmodel::choices& source,
                                                     const ctxmodel::generate_limits& limits);

// For RapidCheck's counterexamples: the law and both programs.
void showValue(const law_case& c, std::ostream& os);

}  // namespace ctxprop
