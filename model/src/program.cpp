// program.cpp: questions about programs that the runner and the oracle must answer alike.
#include "ctxmodel/program.hpp"

#include <variant>

namespace ctxmodel {
namespace {

const method_call* called_method(const stmt& s) {
  const expr* value = nullptr;
  if (const auto* e = std::get_if<expr_stmt>(&s.node)) value = &e->value;
  if (const auto* a = std::get_if<assign_stmt>(&s.node)) value = &a->value;
  return value != nullptr ? std::get_if<method_call>(&value->node) : nullptr;
}

// Whether a statement awaits, anywhere in it, where `awaited(call)` says whether a stack method
// call awaits: the one walk behind both rules.
template <class Awaited>
bool statement_awaits(const stmt& s, Awaited awaited);

template <class Awaited>
bool block_awaits(const block& b, Awaited awaited) {
  for (const stmt& s : b) {
    if (statement_awaits(s, awaited)) return true;
  }
  return false;
}

template <class Awaited>
bool statement_awaits(const stmt& s, Awaited awaited) {
  if (std::holds_alternative<await_stmt>(s.node)) return true;
  if (const method_call* m = called_method(s); m != nullptr) return awaited(*m);
  if (const auto* w = std::get_if<with_stmt>(&s.node)) {
    return w->is_async || block_awaits(w->body, awaited);
  }
  if (const auto* i = std::get_if<if_stmt>(&s.node)) {
    return block_awaits(i->then_block, awaited) ||
           (i->else_block && block_awaits(*i->else_block, awaited));
  }
  if (const auto* t = std::get_if<try_stmt>(&s.node)) {
    if (block_awaits(t->body, awaited) ||
        (t->final_block && block_awaits(*t->final_block, awaited)))
      return true;
    for (const except_clause& h : t->handlers) {
      if (block_awaits(h.body, awaited)) return true;
    }
  }
  return false;
}

bool awaited_in_the_language(const method_call& m) {
  return m.awaited;
}
bool awaited_in_python(const method_call& m) {
  return python_awaits(m);
}

}  // namespace

bool awaits(const stmt& s) {
  return statement_awaits(s, awaited_in_the_language);
}
bool awaits(const block& b) {
  return block_awaits(b, awaited_in_the_language);
}
bool python_awaits(const stmt& s) {
  return statement_awaits(s, awaited_in_python);
}
bool python_awaits(const block& b) {
  return block_awaits(b, awaited_in_python);
}

}  // namespace ctxmodel
