// ctxmodel/trace.hpp: what a run observed. Both the runner and the oracle produce one; the
// conformance run compares them. The canonical text form (docs/language.md, "Traces") is one
// event per line ending in exactly one `outcome ...` line, so traces store and diff as text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctxmodel {

struct trace {
  std::vector<std::string> events;  // e.g. "enter Cm(1)", "mark 'x'", "outcome ok"

  bool operator==(const trace&) const = default;

  std::string to_text() const;                    // events joined by '\n', with a final '\n'
  static trace from_text(std::string_view text);  // inverse of to_text; blank lines skipped
};

// A side-by-side rendering of two traces with a marker column (`|` differs, `<` / `>` only on
// one side), headed by the two titles. Used by ctxdiff to report a divergence.
std::string side_by_side(const trace& left, const trace& right, std::string_view left_title,
                         std::string_view right_title);

// Python's repr() of a str made of printable ASCII: single quotes unless the text contains a
// single quote and no double quote; backslash escapes as CPython writes them.
std::string python_repr(std::string_view text);

}  // namespace ctxmodel
