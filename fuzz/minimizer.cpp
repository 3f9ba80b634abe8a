// minimizer.cpp: program-level reduction of divergent programs (minimizer.hpp).
#include "minimizer.hpp"

#include <vector>

#include "ctxmodel/parse.hpp"

namespace ctxfuzz {

namespace {

using namespace ctxmodel;

// One edit of a program, found by walking it in a fixed order: walk(p, k) applies the k-th
// possible edit and returns true, or returns false when there are fewer than k + 1.
class editor {
 public:
  explicit editor(int k) : left_(k) {}

  bool run(program& p) {
    if (erase_each(p.classes) || erase_each(p.cms) || erase_each(p.functions)) return true;
    for (auto& c : p.cms) {
      for (auto* m : {&c.enter, &c.exit, &c.close}) {
        if (*m && here()) {
          m->reset();
          if (m == &c.exit) c.exit_param.clear();
          return true;
        }
      }
      for (auto* m : {&c.enter, &c.exit, &c.close})
        if (*m && walk(**m)) return true;
    }
    for (auto& f : p.functions) {
      if (f.decorator && here()) {
        f.decorator.reset();
        return true;
      }
      if (walk(f.body)) return true;
    }
    return walk(p.main);
  }

 private:
  bool here() { return left_-- == 0; }

  template <class T>
  bool erase_each(std::vector<T>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (here()) {
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    }
    return false;
  }

  static stmt pass() {
    stmt s;
    s.node = pass_stmt{};
    return s;
  }

  // Statements: delete one (a block keeps at least `pass`), or replace a compound statement by
  // one of its blocks; then edits inside each statement.
  bool walk(block& b) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      const bool is_pass = std::holds_alternative<pass_stmt>(b[i].node);
      if (!(is_pass && b.size() == 1) && here()) {
        if (b.size() == 1)
          b[0] = pass();
        else
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
      for (block* inner : blocks_of(b[i])) {
        if (here()) {
          block spliced = *inner;
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(i), spliced.begin(), spliced.end());
          return true;
        }
      }
    }
    for (auto& s : b)
      if (inside(s)) return true;
    return false;
  }

  static std::vector<block*> blocks_of(stmt& s) {
    std::vector<block*> out;
    if (auto* w = std::get_if<with_stmt>(&s.node)) out.push_back(&w->body);
    if (auto* t = std::get_if<try_stmt>(&s.node)) {
      out.push_back(&t->body);
      for (auto& h : t->handlers) out.push_back(&h.body);
      if (t->final_block) out.push_back(&*t->final_block);
    }
    if (auto* i = std::get_if<if_stmt>(&s.node)) {
      out.push_back(&i->then_block);
      if (i->else_block) out.push_back(&*i->else_block);
    }
    return out;
  }

  bool inside(stmt& s) {
    if (auto* w = std::get_if<with_stmt>(&s.node)) {
      if (w->items.size() > 1 && erase_each(w->items)) return true;
      for (auto& item : w->items) {
        if (item.as && here()) {
          item.as.reset();
          return true;
        }
        if (simplify(item.manager)) return true;
      }
      return walk(w->body);
    }
    if (auto* t = std::get_if<try_stmt>(&s.node)) {
      if ((t->handlers.size() > 1 || t->final_block) && erase_each(t->handlers)) return true;
      for (auto& h : t->handlers) {
        if (h.as && here()) {
          h.as.reset();
          return true;
        }
        if (h.classes.size() > 1 && erase_each(h.classes)) return true;
      }
      if (t->final_block && !t->handlers.empty() && here()) {
        t->final_block.reset();
        return true;
      }
      if (walk(t->body)) return true;
      for (auto& h : t->handlers)
        if (walk(h.body)) return true;
      return t->final_block && walk(*t->final_block);
    }
    if (auto* i = std::get_if<if_stmt>(&s.node)) {
      if (i->else_block && here()) {
        i->else_block.reset();
        return true;
      }
      if (i->negated && here()) {
        i->negated = false;
        return true;
      }
      return walk(i->then_block) || (i->else_block && walk(*i->else_block));
    }
    if (auto* m = std::get_if<mark_stmt>(&s.node)) {
      if (m->values.size() > 1 && erase_each(m->values)) return true;
      for (auto& v : m->values)
        if (simplify(v)) return true;
      return false;
    }
    if (auto* r = std::get_if<raise_stmt>(&s.node)) {
      if (r->cause && here()) {
        r->cause.reset();
        return true;
      }
      return (r->exception && simplify(*r->exception)) || (r->cause && simplify(*r->cause));
    }
    if (auto* a = std::get_if<assign_stmt>(&s.node)) return simplify(a->value);
    if (auto* a = std::get_if<set_attribute_stmt>(&s.node)) return simplify(a->value);
    if (auto* r = std::get_if<return_stmt>(&s.node)) {
      if (r->value && here()) {
        r->value.reset();
        return true;
      }
      return r->value && simplify(*r->value);
    }
    if (auto* y = std::get_if<yield_stmt>(&s.node)) {
      if (y->value && here()) {
        y->value.reset();
        return true;
      }
      return y->value && simplify(*y->value);
    }
    if (auto* e = std::get_if<expr_stmt>(&s.node)) return simplify(e->value);
    return false;
  }

  // Expressions: None for a value, a class for a new exception, no argument for an exception
  // class, fewer suppress classes; then inside arguments.
  bool simplify(expr& e) {
    if (!std::holds_alternative<none_literal>(e.node) && here()) {
      e.node = none_literal{};
      return true;
    }
    if (auto* c = std::get_if<call_expr>(&e.node)) {
      if (c->kind == call_kind::new_exception) {
        if (here()) {
          e.node = name_ref{c->callee};
          return true;
        }
        if (!c->args.empty() && here()) {
          c->args.clear();
          return true;
        }
      }
      if (c->kind == call_kind::new_suppress && erase_each(c->args)) return true;
      for (auto& a : c->args)
        if (simplify(a)) return true;
    }
    if (auto* m = std::get_if<method_call>(&e.node)) {
      for (auto& a : m->args)
        if (simplify(a)) return true;
    }
    if (auto* t = std::get_if<tuple_expr>(&e.node)) {
      if (t->items.size() > 1 && erase_each(t->items)) return true;
    }
    return false;
  }

  int left_;
};

std::optional<program> checked(const program& p) {
  load_result r = load(print(p), "candidate.ctx");
  return r.program;
}

// Whether candidate `c` still shows the divergence of `original`. Both are compared with known
// divergences reported as such (verdict `known`), so a known original keeps only known
// candidates; `allow_known` also keeps known candidates of an unknown original.
bool keeps(const comparison& original, const comparison& c, const std::string& match,
           bool allow_known) {
  const auto diverges = [](verdict v) { return v == verdict::diverge || v == verdict::known; };
  if (c.verdict != original.verdict &&
      !(allow_known && diverges(original.verdict) && diverges(c.verdict)))
    return false;
  if (match.empty()) return true;
  const std::string report = c.error + ctxmodel::side_by_side(c.ctxlib, c.cpython, "", "");
  return report.find(match) != std::string::npos;
}

}  // namespace

std::optional<minimized> minimize(const ctxmodel::program& checked_program,
                                  const minimize_options& options) {
  minimized m{checked_program, compare(checked_program), 0, 0};
  const comparison original = m.last;
  if (original.verdict == verdict::agree || !keeps(original, original, options.match, false))
    return std::nullopt;
  for (bool progress = true; progress;) {
    progress = false;
    for (int k = 0;; ++k) {
      program candidate = m.program;
      if (!editor(k).run(candidate)) break;
      ++m.tried;
      std::optional<program> valid = checked(candidate);
      if (!valid) continue;
      comparison c = compare(*valid);
      if (keeps(original, c, options.match, options.allow_known)) {
        m.program = std::move(*valid);
        m.last = std::move(c);
        ++m.kept;
        progress = true;
        --k;  // the edits after this one moved up by one
      }
    }
  }
  return m;
}

}  // namespace ctxfuzz
