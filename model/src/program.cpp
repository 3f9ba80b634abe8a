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

}  // namespace

bool python_awaits(const stmt& s) {
  if (std::holds_alternative<await_stmt>(s.node)) return true;
  if (const method_call* m = called_method(s); m != nullptr) return python_awaits(*m);
  if (const auto* w = std::get_if<with_stmt>(&s.node)) return w->is_async || python_awaits(w->body);
  if (const auto* i = std::get_if<if_stmt>(&s.node)) {
    return python_awaits(i->then_block) || (i->else_block && python_awaits(*i->else_block));
  }
  if (const auto* t = std::get_if<try_stmt>(&s.node)) {
    if (python_awaits(t->body) || (t->final_block && python_awaits(*t->final_block))) return true;
    for (const except_clause& h : t->handlers) {
      if (python_awaits(h.body)) return true;
    }
  }
  return false;
}

bool python_awaits(const block& b) {
  for (const stmt& s : b) {
    if (python_awaits(s)) return true;
  }
  return false;
}

}  // namespace ctxmodel
