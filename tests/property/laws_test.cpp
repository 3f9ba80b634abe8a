// The metamorphic laws (laws.hpp), each checked on ctxlib and confirmed on CPython.
#include "laws.hpp"

#include <functional>
#include <optional>

#include "checks.hpp"
#include "glue.hpp"
#include "program_gen.hpp"

namespace {

using builder = std::function<std::optional<ctxprop::law_case>(
    ctxmodel::program, ctxmodel::choices&, const ctxmodel::generate_limits&)>;

// Law cases built from a generated program and more decisions of the same tape; a case the
// base program offers nothing for comes out empty (no law) and is discarded. Base programs are
// drawn at size 30 or more, where they may have declarations.
rc::Gen<ctxprop::law_case> law_cases(builder build) {
  return ctxprop::generated<ctxprop::law_case>(
      [build](ctxmodel::program base, ctxmodel::choices& rest,
              const ctxmodel::generate_limits& limits) {
        return build(std::move(base), rest, limits).value_or(ctxprop::law_case{});
      },
      /*min_size=*/30);
}

void check(const ctxprop::law_case& c) {
  if (c.law.empty()) RC_DISCARD("the base program offers nothing this law can use");
  ctxprop::check_law(c);
}

}  // namespace

CTXPROP(Laws, ExitStackIsNestedWith, 3000, ()) {
  check(*law_cases([](ctxmodel::program base, auto& source, const auto& limits) {
    return ctxprop::exit_stack_is_nested_with(std::move(base), source, limits, /*exact=*/true);
  }));
}

CTXPROP(Laws, ExitStackIsNestedWithModuloContexts, 3000, ()) {
  check(*law_cases([](ctxmodel::program base, auto& source, const auto& limits) {
    return ctxprop::exit_stack_is_nested_with(std::move(base), source, limits, /*exact=*/false);
  }));
}

CTXPROP(Laws, PopAllThenCloseIsClose, 3000, ()) {
  check(*law_cases(ctxprop::pop_all_then_close));
}

CTXPROP(Laws, DecoratedCallIsCallInsideWith, 3000, ()) {
  check(*law_cases(ctxprop::decorated_call));
}

CTXPROP(Laws, NullcontextAndEmptySuppressAreTransparent, 3000, ()) {
  check(*law_cases(ctxprop::transparent_managers));
}

CTXPROP(Laws, AsyncStackWithSyncEntriesIsExitStack, 3000, ()) {
  check(*law_cases(ctxprop::async_stack_with_sync_entries));
}

CTXPROP(Laws, NeutralStackIsAsyncStackPerEntry, 3000, ()) {
  check(*law_cases(ctxprop::neutral_stack_is_async_stack));
}
