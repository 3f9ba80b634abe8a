// ctxmodel/parse.hpp: program text to `program`, and `program` back to canonical text.
//
//   ctxmodel::load_result r = ctxmodel::load(text, "corpus/x.ctx");
//   if (!r.errors.empty()) { for (auto& d : r.errors) std::cerr << d.to_string() << '\n'; }
//   else run(*r.program);
//
// `load` = `parse` then `check`: a program that loads is resolved (every call_expr has its
// kind) and valid, so both the runner and the oracle can run it without a name or type error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ctxmodel/diagnostics.hpp"
#include "ctxmodel/program.hpp"

namespace ctxmodel {

struct load_result {
  std::optional<ctxmodel::program> program;  // set only when `errors` is empty
  diagnostics errors;
};

// Syntax only: the tree as written, names unresolved. Stops at the first error. Text after a
// line starting with `--- expect` is not program text and is ignored.
load_result parse(std::string_view text, std::string_view file_name);

// Resolves names (fills call_expr::kind) and applies every static rule of docs/language.md.
// Reports every error it finds, in source order.
diagnostics check(program& p, std::string_view file_name);

// parse + check.
load_result load(std::string_view text, std::string_view file_name);

// Canonical text: declarations (classes, cms, functions) then statements, four-space indents.
// For every checked program p: load(print(p)).program == p.
std::string print(const program& p);

}  // namespace ctxmodel
