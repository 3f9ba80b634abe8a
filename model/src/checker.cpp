// checker.cpp: name resolution and every static rule of docs/language.md ("Static checks").
//
// Types. Every variable has one kind (exception, stack, cm, value) fixed by its first binding;
// the checker tracks a little more inside a kind, because some rules need it:
//   * exception: whether the value may be a class and/or an object (attributes can only be set
//     on objects, suppress() takes only classes);
//   * cm: the possible origins (an instance of declared cm C, suppress, nullcontext(E),
//     closing(E)), to know what `with X as v` binds, whether closing(X) is allowed, and which
//     cm's methods entering X may run (for the no-recursion rule).
// Rebinding with the same kind joins this extra information (the union of possibilities).
// Programs have no loops, so everything executed before a point precedes it in the text, and
// one pass in source order sees every binding that can have happened before each use.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ctxmodel/builtins.hpp"
#include "ctxmodel/parse.hpp"
#include "names.hpp"

namespace ctxmodel {

namespace {

// exception_or_none: what an exit parameter receives (None or an exception object); `if NAME:`
// narrows it to an exception object in the branch where NAME is true.
enum class kind : std::uint8_t {
  value,
  exception,
  exception_or_none,
  stack,
  async_stack,    // an AsyncExitStack
  neutral_stack,  // a NeutralExitStack
  cm,
  any /* after an error */
};

std::string kind_name(kind k) {
  switch (k) {
    case kind::value:
      return "value";
    case kind::exception:
      return "exception";
    case kind::exception_or_none:
      return "exception or None";
    case kind::stack:
      return "stack";
    case kind::async_stack:
      return "async stack";
    case kind::neutral_stack:
      return "neutral stack";
    case kind::cm:
      return "cm";
    case kind::any:
      return "unknown";
  }
  return "?";
}

struct vtype;
using vtype_ptr = std::shared_ptr<const vtype>;

// A static type: a kind plus what the checker knows about the value. For kind cm it is a union
// of origins, kept merged so it stays small however often a variable is rebound: every query
// (what `with` binds, closable or not, which cms may run) gives the same answer on the merged
// form as on the list of origins.
struct vtype {
  kind k = kind::value;
  bool may_be_class = false;         // exception kind
  bool may_be_object = false;        // exception kind
  std::set<std::string> declared;    // cm kind: may be an instance of these declared cms
  std::set<std::string> closing;     // cm kind: may be closing(an instance of these cms)
  std::set<std::string> aclosing;    // cm kind: may be aclosing(an instance of these acms)
  std::set<std::string> generators;  // cm kind: may be a generator cm of these functions
  bool suppress = false;             // cm kind: may be a suppress
  vtype_ptr nullcontext;             // cm kind: may be a nullcontext binding this (else null)
  int depth = 1;                     // nesting through `nullcontext`, capped (see nullcontext_of)
};

vtype of_kind(kind k) {
  vtype t;
  t.k = k;
  return t;
}
vtype value_type() {
  return of_kind(kind::value);
}
vtype any_type() {
  return of_kind(kind::any);
}
vtype exception_type(bool cls, bool obj) {
  vtype t = of_kind(kind::exception);
  t.may_be_class = cls;
  t.may_be_object = obj;
  return t;
}
vtype exception_or_none_type() {
  return of_kind(kind::exception_or_none);
}
vtype instance_of(const std::string& cm_name) {
  vtype t = of_kind(kind::cm);
  t.declared.insert(cm_name);
  return t;
}
vtype suppress_type() {
  vtype t = of_kind(kind::cm);
  t.suppress = true;
  return t;
}
// nullcontext(E) binds E. Past a small nesting depth it is said to bind `value` (which allows
// less, so it is safe): `x = nullcontext(x)` repeated cannot grow types without bound.
vtype nullcontext_of(const vtype& inner) {
  constexpr int max_depth = 16;
  vtype t = of_kind(kind::cm);
  const bool keep = inner.k != kind::any && inner.depth < max_depth;
  t.nullcontext = std::make_shared<const vtype>(keep ? inner : value_type());
  t.depth = t.nullcontext->depth + 1;
  return t;
}
vtype generator_of(const std::string& function_name) {
  vtype t = of_kind(kind::cm);
  t.generators.insert(function_name);
  return t;
}
vtype closing_of(const vtype& instance) {
  vtype t = of_kind(kind::cm);
  t.closing = instance.declared;
  return t;
}

vtype loose_join(const vtype& a, const vtype& b);

// Same-kind join: the union of possibilities.
void join_into(vtype& a, const vtype& b) {
  if (a.k != b.k) return;
  a.may_be_class |= b.may_be_class;
  a.may_be_object |= b.may_be_object;
  a.declared.insert(b.declared.begin(), b.declared.end());
  a.closing.insert(b.closing.begin(), b.closing.end());
  a.aclosing.insert(b.aclosing.begin(), b.aclosing.end());
  a.generators.insert(b.generators.begin(), b.generators.end());
  a.suppress |= b.suppress;
  if (b.nullcontext && a.nullcontext != b.nullcontext)
    a.nullcontext = a.nullcontext
                        ? std::make_shared<const vtype>(loose_join(*a.nullcontext, *b.nullcontext))
                        : b.nullcontext;
  a.depth = std::max(a.depth, b.depth);
}

// Join of possibly different kinds: different kinds make `value` (it can only be marked).
vtype loose_join(const vtype& a, const vtype& b) {
  if (a.k == kind::any) return b;
  if (b.k == kind::any) return a;
  if (a.k != b.k) return value_type();
  vtype r = a;
  join_into(r, b);
  return r;
}

bool is_manager(const vtype& t) {
  return t.k == kind::cm || t.k == kind::stack || t.k == kind::async_stack ||
         t.k == kind::neutral_stack || t.k == kind::any;
}

struct variable {
  std::string name;
  vtype type;
  source_pos at;
  bool read_only = false;  // cm parameters inside methods
  bool narrowed = false;   // an exception-or-None variable seen as an exception object in `if`
};

// One body being checked: main, a function, or a cm method.
struct frame {
  enum class where : std::uint8_t { main, function, cm_method } place = where::main;
  const cm_decl* cm = nullptr;  // for cm methods
  std::string node;             // recursion-graph node ("" for main)
  std::vector<std::map<std::string, variable>> scopes;
  int handlers = 0;                       // enclosing except handlers (for bare raise)
  std::vector<vtype>* returns = nullptr;  // set while checking an `enter` block
  std::vector<vtype>* yields = nullptr;   // set while checking a @contextmanager function
  bool async_ok = false;                  // may await: top level, async defs, acm members
};

struct edge {
  std::string from, to;
  source_pos at;
};

// Diagnostics by position; those at one position in the order they were found. (std::sort on
// the found order as the last key, not std::stable_sort: libstdc++ 12's stable_sort uses
// get_temporary_buffer, which clang 19 warns is deprecated.)
diagnostics in_source_order(diagnostics found) {
  std::vector<std::size_t> order(found.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const diagnostic& x = found[a];
    const diagnostic& y = found[b];
    if (x.line != y.line) return x.line < y.line;
    if (x.column != y.column) return x.column < y.column;
    return a < b;
  });
  diagnostics sorted;
  sorted.reserve(found.size());
  for (std::size_t i : order) sorted.push_back(std::move(found[i]));
  return sorted;
}

class checker {
 public:
  checker(program& p, std::string_view file) : p_(p), file_(file) {}

  diagnostics run() {
    declare();
    for (auto& c : p_.cms) check_cm(c);
    for (auto& f : p_.functions) check_function(f);
    check_main();
    check_recursion();
    return in_source_order(std::move(errors_));
  }

 private:
  // ------------------------------------------------------------------ diagnostics
  void error(source_pos at, std::string message) {
    errors_.push_back(diagnostic{file_, at.line, at.column, std::move(message)});
  }
  static std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

  // ------------------------------------------------------------------ declarations
  bool is_class(const std::string& n) const {
    return find_builtin_exception_class(n) != nullptr ||
           std::find(classes_.begin(), classes_.end(), n) != classes_.end();
  }
  cm_decl* find_cm(const std::string& n) const {
    auto it = cms_.find(n);
    return it == cms_.end() ? nullptr : it->second;
  }
  function_decl* find_function(const std::string& n) const {
    auto it = functions_.find(n);
    return it == functions_.end() ? nullptr : it->second;
  }

  // Why `name` cannot be bound or declared, or "" if it can.
  std::string reserved_reason(const std::string& name) const {
    if (!detail::is_identifier(name)) {
      if (detail::is_keyword(name)) return q(name) + " is a keyword";
      return q(name) + " is not a valid name";
    }
    if (detail::is_python_only_keyword(name))
      return q(name) + " is a Python keyword (the program is also run as Python)";
    if (name[0] == '_') return "names starting with '_' are reserved for generated code";
    if (name == "self") return "'self' is reserved for the instance in cm methods";
    if (detail::is_library_constructor(name)) return q(name) + " names a contextlib constructor";
    if (detail::is_library_decorator(name)) return q(name) + " names a contextlib decorator";
    if (detail::is_library_function(name)) return q(name) + " is reserved for 'await sleep()'";
    if (find_builtin_exception_class(name)) return q(name) + " names a built-in exception class";
    return "";
  }

  void declare() {
    // Names are checked in source order, so "first declared" means first in the text.
    struct entry {
      std::string name;
      source_pos at;
      const void* decl;
    };
    std::vector<entry> all;
    for (const auto& c : p_.classes) all.push_back({c.name, c.at, &c});
    for (const auto& c : p_.cms) all.push_back({c.name, c.at, &c});
    for (const auto& f : p_.functions) all.push_back({f.name, f.at, &f});
    // Two declarations never start at one place, so the order is total: no need to be stable.
    std::sort(all.begin(), all.end(), [](const entry& a, const entry& b) {
      return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
    });
    std::map<std::string, source_pos> seen;
    std::set<const void*> valid;  // the declarations that own their name
    for (const auto& e : all) {
      if (std::string why = reserved_reason(e.name); !why.empty()) {
        error(e.at, "cannot declare " + q(e.name) + ": " + why);
        continue;
      }
      if (auto it = seen.find(e.name); it != seen.end()) {
        error(e.at, "duplicate declaration of " + q(e.name) + " (first declared on line " +
                        std::to_string(it->second.line) + ")");
        continue;
      }
      seen.emplace(e.name, e.at);
      valid.insert(e.decl);
    }
    auto declared_as = [&](const std::string& n, const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& d) { return d.name == n; });
    };
    // Classes in declaration order: a base must be a class declared before.
    for (const auto& c : p_.classes) {
      if (c.base == c.name)
        error(c.at, "class " + q(c.name) + " cannot derive from itself");
      else if (!is_class(c.base)) {
        if (declared_as(c.base, p_.cms) || declared_as(c.base, p_.functions))
          error(c.at,
                "base of class " + q(c.name) + " must be an exception class, found " + q(c.base));
        else if (declared_as(c.base, p_.classes))
          error(c.at,
                "base class " + q(c.base) + " of " + q(c.name) + " must be declared before it");
        else
          error(c.at, "unknown base class " + q(c.base) + " for class " + q(c.name));
      }
      if (valid.count(&c)) classes_.push_back(c.name);
    }
    for (auto& c : p_.cms)
      if (valid.count(&c)) cms_.emplace(c.name, &c);
    for (auto& f : p_.functions)
      if (valid.count(&f)) functions_.emplace(f.name, &f);
  }

  // ------------------------------------------------------------------ scopes
  frame& cur() { return frames_.back(); }

  variable* lookup(const std::string& name) {
    for (auto s = cur().scopes.rbegin(); s != cur().scopes.rend(); ++s)
      if (auto it = s->find(name); it != s->end()) return &it->second;
    return nullptr;
  }

  // Why a variable cannot be called `name` ("" if it can).
  std::string binding_reason(const std::string& name) const {
    if (std::string why = reserved_reason(name); !why.empty()) return why;
    if (is_class(name)) return q(name) + " names a class";
    if (find_cm(name)) return q(name) + " names a cm";
    if (find_function(name)) return q(name) + " names a function";
    return "";
  }

  // Binds `name` in the innermost scope or rebinds a visible variable of the same kind.
  // `fresh`: the name must not be visible yet (except ... as NAME, parameters).
  void bind(const std::string& name, const vtype& t, source_pos at, bool fresh = false,
            bool read_only = false) {
    if (std::string why = binding_reason(name); !why.empty()) {
      error(at, "cannot bind " + q(name) + ": " + why);
      return;
    }
    if (variable* v = lookup(name)) {
      if (fresh) {
        error(at, q(name) + " is already bound (line " + std::to_string(v->at.line) +
                      "); an except handler's name must be new, because Python unbinds it "
                      "when the handler ends");
        return;
      }
      if (v->read_only) {
        error(at, "cannot rebind cm parameter " + q(name) + " inside a method");
        return;
      }
      // The narrowed view stands for a variable of kind exception-or-None: only what fits both
      // (an exception object) keeps the narrowing true and the variable's kind sound.
      if (v->narrowed) {
        if (t.k != kind::any && (t.k != kind::exception || t.may_be_class))
          error(at, "cannot rebind " + q(name) + " to " + describe(t) + " here: inside this 'if' " +
                        q(name) + " is narrowed to an exception object (kind exception or None)");
        return;
      }
      if (v->type.k == kind::any || t.k == kind::any) return;
      // An exception object fits a variable of kind exception or None.
      if (v->type.k == kind::exception_or_none && t.k == kind::exception && !t.may_be_class) return;
      if (v->type.k != t.k) {
        error(at, q(name) + " was first bound as kind " + kind_name(v->type.k) + " (line " +
                      std::to_string(v->at.line) + ") and cannot be rebound as kind " +
                      kind_name(t.k));
        return;
      }
      join_into(v->type, t);
      return;
    }
    cur().scopes.back().emplace(name, variable{name, t, at, read_only});
  }

  void push_scope() {
    if (cur().scopes.empty()) cur().scopes.reserve(8);
    cur().scopes.emplace_back();
  }
  void pop_scope() { cur().scopes.pop_back(); }

  // ------------------------------------------------------------------ cm as-values and edges
  // What `with X as v` binds when X has type t.
  vtype as_type(const vtype& t) {
    if (t.k == kind::stack) return of_kind(kind::stack);
    if (t.k == kind::async_stack) return of_kind(kind::async_stack);
    if (t.k == kind::neutral_stack) return of_kind(kind::neutral_stack);
    if (t.k != kind::cm) return any_type();
    std::optional<vtype> r;
    auto add = [&](const vtype& one) { r = r ? loose_join(*r, one) : one; };
    for (const auto& name : t.declared) add(enter_type(name));
    for (const auto& name : t.generators) add(yield_type(name));
    if (t.suppress) add(value_type());
    if (t.nullcontext) add(*t.nullcontext);
    if (!t.closing.empty()) {
      vtype closed = of_kind(kind::cm);
      closed.declared = t.closing;
      add(closed);
    }
    if (!t.aclosing.empty()) {
      vtype closed = of_kind(kind::cm);
      closed.declared = t.aclosing;
      add(closed);
    }
    return r ? *r : value_type();
  }

  // Entering/pushing/closing a value of type t may run the methods of these declared cms.
  void add_manager_edges(const vtype& t, source_pos at) {
    if (t.k != kind::cm) return;
    for (const auto& name : t.declared) add_edge(name, at);
    for (const auto& name : t.closing) add_edge(name, at);
    for (const auto& name : t.aclosing) add_edge(name, at);
    for (const auto& name : t.generators) add_edge(name, at);
  }
  void add_edge(const std::string& to, source_pos at) {
    if (!cur().node.empty()) edges_.push_back(edge{cur().node, to, at});
  }

  // The kind of what a declared cm's enter returns; checks the enter block on first use.
  vtype enter_type(const std::string& cm_name) {
    if (auto it = enter_types_.find(cm_name); it != enter_types_.end()) return it->second;
    cm_decl* c = find_cm(cm_name);
    if (!c || !c->enter) return value_type();
    // A cycle (the enter needs its own result) is reported by the recursion rule; meanwhile
    // `value` (which allows less) is a safe answer. Very long chains of cms whose enters use
    // each other get the same answer, which bounds the checker's recursion.
    if (entering_.count(cm_name) || entering_.size() >= 64) return value_type();
    entering_.insert(cm_name);
    std::vector<vtype> returns;
    check_method(*c, *c->enter, "enter", &returns);
    // Falling off the end of enter returns None.
    const block& b = *c->enter;
    const bool falls_off = b.empty() || !(std::holds_alternative<return_stmt>(b.back().node) ||
                                          std::holds_alternative<raise_stmt>(b.back().node));
    if (falls_off) returns.push_back(value_type());
    vtype r = returns.empty() ? value_type() : returns.front();
    for (std::size_t i = 1; i < returns.size(); ++i) r = loose_join(r, returns[i]);
    if (r.k == kind::any) r = value_type();
    entering_.erase(cm_name);
    enter_types_.emplace(cm_name, r);
    return r;
  }

  // The kind of what a @contextmanager function yields (what `with f() as v` binds); checks its
  // body on first use, like enter_type.
  vtype yield_type(const std::string& function_name) {
    if (auto it = yield_types_.find(function_name); it != yield_types_.end()) return it->second;
    function_decl* f = find_function(function_name);
    if (!f || !f->generator) return value_type();
    if (yielding_.count(function_name) || yielding_.size() >= 64) return value_type();
    yielding_.insert(function_name);
    std::vector<vtype> yields;
    check_function_body(*f, &yields);
    if (yields.empty())
      error(f->at, generator_decorator(*f) + " function " + q(f->name) +
                       " has no 'yield' (Python would not make it a generator)");
    vtype r = yields.empty() ? value_type() : yields.front();
    for (std::size_t i = 1; i < yields.size(); ++i) r = loose_join(r, yields[i]);
    if (r.k == kind::any) r = value_type();
    yielding_.erase(function_name);
    yield_types_.emplace(function_name, r);
    return r;
  }

  static std::string generator_decorator(const function_decl& f) {
    return f.is_async ? "@asynccontextmanager" : "@contextmanager";
  }

  // ------------------------------------------------------------------ bodies
  void check_params(const std::vector<param>& ps, source_pos at, bool read_only) {
    std::set<std::string> seen;
    for (const auto& p : ps) {
      if (!seen.insert(p.name).second) {
        error(at, "duplicate parameter " + q(p.name));
        continue;
      }
      const vtype t = p.type == param_type::exception ? exception_type(true, true)
                      : p.type == param_type::stack   ? of_kind(kind::stack)
                                                      : value_type();
      bind(p.name, t, at, true, read_only);
    }
  }

  void check_cm(cm_decl& c) {
    if (c.exit_param.empty() != !c.exit)
      error(c.at, c.exit ? "cm " + q(c.name) + " needs a name for its exit parameter"
                         : "cm " + q(c.name) + " names an exit parameter but has no exit");
    if (c.enter) {
      if (find_cm(c.name) == &c) {
        enter_type(c.name);
      } else {  // a duplicate declaration: check it anyway
        std::vector<vtype> ignored;
        check_method(c, *c.enter, "enter", &ignored);
      }
    }
    if (c.exit) check_method(c, *c.exit, "exit", nullptr);
    if (c.close) check_method(c, *c.close, "close", nullptr);
    if (!c.enter && !c.exit && !c.close) {
      // Still check the parameters once.
      frames_.push_back(frame{frame::where::cm_method, &c, c.name, {}, 0, nullptr});
      push_scope();
      check_params(c.params, c.at, true);
      frames_.pop_back();
    }
  }

  void check_method(cm_decl& c, block& body, std::string_view which, std::vector<vtype>* returns) {
    frames_.push_back(frame{frame::where::cm_method, &c, c.name, {}, 0, returns});
    push_scope();
    // Parameter errors are reported once, with the first method checked.
    const std::size_t before = errors_.size();
    check_params(c.params, c.at, true);
    if (params_reported_.count(&c)) errors_.resize(before);
    params_reported_.insert(&c);
    if (which == "exit" && !c.exit_param.empty()) {
      if (c.exit_param == "typ" || c.exit_param == "tb")
        error(c.at, "cannot name the exit parameter " + q(c.exit_param) +
                        ": the Python export uses typ and tb for __exit__'s other parameters");
      bool clash = std::any_of(c.params.begin(), c.params.end(),
                               [&](const param& p) { return p.name == c.exit_param; });
      if (clash)
        error(c.at, "exit parameter " + q(c.exit_param) + " has the name of a parameter of cm " +
                        q(c.name));
      else
        bind(c.exit_param, exception_or_none_type(), c.at, true);
    }
    cur().async_ok = c.is_async;
    check_block(body, c.at, 2);
    frames_.pop_back();
  }

  void check_function(function_decl& f) {
    if (f.is_async && f.decorator) {
      // AsyncContextDecorator: an acm instance or an @asynccontextmanager generator cm, made
      // once where the function is defined.
      auto* c = std::get_if<call_expr>(&f.decorator->node);
      const cm_decl* cm = c ? find_cm(c->callee) : nullptr;
      const function_decl* g = c ? find_function(c->callee) : nullptr;
      const bool async_cm = (cm && cm->is_async) || (g && g->generator && g->is_async);
      if (!async_cm) {
        error(f.decorator->at,
              "a decorator above an async def must be an acm or an @asynccontextmanager "
              "function (AsyncContextDecorator), found " +
                  (c ? q(c->callee) : std::string("an expression")));
        return;
      }
    }
    if (f.generator) {
      if (f.exit_signature)
        error(f.at, generator_decorator(f) + " function " + q(f.name) +
                        " cannot be an exit function (def NAME(*EXC))");
      if (f.decorator)
        error(f.decorator->at,
              generator_decorator(f) + " function " + q(f.name) + " cannot have another decorator");
      if (find_function(f.name) == &f) {
        yield_type(f.name);
      } else {  // a duplicate declaration: check it anyway
        std::vector<vtype> ignored;
        check_function_body(f, &ignored);
      }
      return;
    }
    if (f.decorator) check_decorator(f);
    check_function_body(f, nullptr);
  }

  // `@NAME(ARGS)`: evaluated where the function is defined (no variables in sight), so what it
  // names must be defined by then; each call of the function runs NAME's cm.
  void check_decorator(function_decl& f) {
    expr& d = *f.decorator;
    auto* c = std::get_if<call_expr>(&d.node);
    if (!c) {
      error(d.at, "a decorator is written @NAME(ARGS)");
      return;
    }
    const function_decl* target = find_function(c->callee);
    if (const cm_decl* cm = find_cm(c->callee); cm && cm->is_async && !f.is_async) {
      error(d.at, "acm " + q(c->callee) + " can only decorate an async def");
      return;
    }
    if (target && target->generator && target->is_async && !f.is_async) {
      error(d.at,
            "@asynccontextmanager function " + q(c->callee) + " can only decorate an async def");
      return;
    }
    if (!find_cm(c->callee) && !(target && target->generator)) {
      error(d.at, "a decorator must be a cm or a @contextmanager function, found " + q(c->callee));
      return;
    }
    frames_.push_back(frame{});  // like main: no variables, no `self`, no recursion edges
    push_scope();
    value_of(d, 1);
    frames_.pop_back();
    defined_before(d, f);
    frames_.push_back(frame{frame::where::function, nullptr, f.name, {}, 0, nullptr});
    add_edge(c->callee, d.at);
    frames_.pop_back();
  }

  // Python evaluates a decorator at the `def`: the functions it uses must be defined above.
  void defined_before(const expr& e, const function_decl& f) {
    auto check = [&](const std::string& name, source_pos at) {
      const function_decl* g = find_function(name);
      if (g && g >= &f)
        error(at, "decorator of " + q(f.name) + " uses " + q(name) +
                      ", which must be defined before it (Python evaluates a decorator where "
                      "the function is defined)");
    };
    if (auto* n = std::get_if<name_ref>(&e.node)) check(n->name, e.at);
    if (auto* c = std::get_if<call_expr>(&e.node)) {
      check(c->callee, e.at);
      for (const auto& a : c->args) defined_before(a, f);
    }
    if (auto* t = std::get_if<tuple_expr>(&e.node))
      for (const auto& a : t->items) defined_before(a, f);
  }

  void check_function_body(function_decl& f, std::vector<vtype>* yields) {
    frames_.push_back(frame{frame::where::function, nullptr, f.name, {}, 0, nullptr, yields});
    push_scope();
    if (f.exit_signature) {
      if (f.params.size() != 1 || f.params[0].type != param_type::value)
        error(f.at, "exit function " + q(f.name) +
                        " must have exactly one parameter of type value (def NAME(*EXC))");
      if (!f.params.empty() && (f.params[0].name == "typ" || f.params[0].name == "tb"))
        error(f.at, "cannot name the exit parameter " + q(f.params[0].name) +
                        ": the Python export uses typ and tb for the other parameters");
      if (f.params.size() == 1) bind(f.params[0].name, exception_or_none_type(), f.at, true);
    } else {
      check_params(f.params, f.at, false);
    }
    cur().async_ok = f.is_async;
    check_block(f.body, f.at, 1);
    frames_.pop_back();
  }

  void check_main() {
    frames_.push_back(frame{});
    if (p_.main.empty())
      error(source_pos{1, 1}, "a program needs at least one top-level statement");
    cur().async_ok = true;  // top-level code may await: the program then runs as a coroutine
    push_scope();
    for (auto& s : p_.main) check_stmt(s, 0);
    frames_.pop_back();
  }

  // A block at nesting `level` (top-level statements are level 0).
  void check_block(block& b, source_pos header, int level) {
    if (level > detail::max_nesting) {
      error(header, "blocks nested too deeply (more than " + std::to_string(detail::max_nesting) +
                        " levels)");
      return;
    }
    if (b.empty()) error(header, "empty block (write 'pass')");
    push_scope();
    for (auto& s : b) check_stmt(s, level);
    pop_scope();
  }

  void check_stmt(stmt& s, int level) {
    std::visit([&](auto& n) { check_node(n, s.at, level); }, s.node);
  }

  void check_node(pass_stmt&, source_pos, int) {}

  void check_node(mark_stmt& m, source_pos at, int) {
    if (m.values.empty()) error(at, "'mark' needs at least one value");
    for (auto& v : m.values) value_of(v, 1);
  }

  void check_node(assign_stmt& a, source_pos at, int) {
    vtype t = value_of(a.value, 1);
    // None fits a variable of kind exception or None (and keeps its kind).
    if (variable* v = lookup(a.target); v && std::holds_alternative<none_literal>(a.value.node) &&
                                        v->type.k == kind::exception_or_none)
      t = exception_or_none_type();
    bind(a.target, t, at);
  }

  void check_node(set_attribute_stmt& s, source_pos at, int) {
    const char* attr = s.attribute == exception_attribute::context ? "__context__"
                       : s.attribute == exception_attribute::cause ? "__cause__"
                                                                   : "__suppress_context__";
    const std::string what = q(s.target + "." + attr);
    if (variable* v = lookup(s.target)) {
      if (v->type.k != kind::any && (v->type.k != kind::exception || v->type.may_be_class))
        error(at, "cannot set " + what + ": " + q(s.target) +
                      (v->type.k == kind::exception
                           ? " may hold an exception class; attributes can be set only on "
                             "exception objects"
                           : " is of kind " + kind_name(v->type.k) + ", not an exception object" +
                                 narrow_hint(v->type)));
    } else if (is_class(s.target)) {
      error(at, "cannot set " + what + ": " + q(s.target) +
                    " is a class; attributes can be set only on exception objects");
    } else {
      resolve_name(s.target, at);  // reports the unknown name
    }
    if (s.attribute == exception_attribute::suppress_context) {
      if (!std::holds_alternative<bool_literal>(s.value.node))
        error(s.value.at, what + " must be set to True or False");
      return;
    }
    if (std::holds_alternative<none_literal>(s.value.node)) return;
    vtype t = value_of(s.value, 1);
    if (t.k != kind::any && t.k != kind::exception_or_none &&
        (t.k != kind::exception || t.may_be_class))
      error(s.value.at, what + " must be set to None or an exception object, found " + describe(t));
  }

  void check_node(raise_stmt& r, source_pos at, int) {
    if (!r.exception) {
      if (r.cause) error(at, "'raise ... from' needs an exception before 'from'");
      if (cur().handlers == 0) error(at, "bare 'raise' is only allowed inside an except handler");
      return;
    }
    vtype t = value_of(*r.exception, 1);
    if (t.k != kind::any && t.k != kind::exception)
      error(r.exception->at,
            "'raise' needs an exception class or object, found " + describe(t) + narrow_hint(t));
    if (r.cause && !std::holds_alternative<none_literal>(r.cause->node)) {
      vtype c = value_of(*r.cause, 1);
      if (c.k != kind::any && c.k != kind::exception && c.k != kind::exception_or_none)
        error(r.cause->at,
              "'from' needs None or an exception class or object, found " + describe(c));
    }
  }

  void check_node(return_stmt& r, source_pos at, int) {
    if (cur().place == frame::where::main)
      error(at, "'return' is only allowed in cm methods and functions");
    if (cur().yields && r.value)
      error(r.value->at,
            "'return' in a @contextmanager function takes no value (the value would travel in "
            "a StopIteration that ctxlib's contextmanager does not carry)");
    vtype t = r.value ? value_of(*r.value, 1) : value_type();
    if (cur().returns) cur().returns->push_back(t);
  }

  void check_node(expr_stmt& e, source_pos at, int) {
    if (auto* mc = std::get_if<method_call>(&e.value.node)) {
      if (mc->method == stack_method::pop_all)
        error(at, "the result of 'pop_all()' must be used (bind it or enter it)");
      method_of(*mc, e.value.at, 1, true);
      return;
    }
    if (auto* c = std::get_if<call_expr>(&e.value.node)) {
      call_of(*c, e.value.at, 1, true);
      return;
    }
    error(at,
          "expected a statement; an expression on its own is only allowed as a call of a "
          "function or of an exit-stack method");
  }

  // Why a manager of type t cannot be entered by `with` (is_async false) or `async with`, or "".
  std::string manager_mismatch(const vtype& t, bool is_async) const {
    if (t.k == kind::any) return "";
    if (t.k == kind::async_stack)
      return is_async ? "" : "an AsyncExitStack is an async context manager (use 'async with')";
    if (t.k == kind::neutral_stack)
      return is_async ? "" : "a NeutralExitStack is an async context manager (use 'async with')";
    if (!is_async) {
      if (!t.aclosing.empty()) return "aclosing is an async context manager (use 'async with')";
      for (const auto& name : t.generators)
        if (const function_decl* f = find_function(name); f && f->is_async)
          return "may be an @asynccontextmanager generator of " + q(name) +
                 " (enter it with 'async with')";
      for (const auto& name : t.declared)
        if (const cm_decl* d = find_cm(name); d && d->is_async)
          return "may be an instance of acm " + q(name) + " (enter it with 'async with')";
      return "";
    }
    if (t.k == kind::stack) return "an ExitStack is not an async context manager";
    if (t.suppress) return "suppress is not an async context manager";
    if (!t.closing.empty()) return "closing is not an async context manager";
    for (const auto& name : t.generators)
      if (const function_decl* f = find_function(name); f && !f->is_async)
        return "may be a @contextmanager generator of " + q(name) +
               ", not an async context manager (use @asynccontextmanager for 'async with')";
    for (const auto& name : t.declared)
      if (const cm_decl* d = find_cm(name); d && !d->is_async)
        return "may be an instance of cm " + q(name) + " (enter it with 'with')";
    return "";
  }

  void check_node(await_stmt& a, source_pos at, int) {
    if (!cur().async_ok)
      error(at, "'await' is only allowed at top level, in async defs and in acm members");
    auto* c = std::get_if<call_expr>(&a.call.node);
    if (!c) {
      error(a.call.at, "'await' needs a call: await NAME(ARGS) or await sleep()");
      return;
    }
    c->kind = call_kind::unresolved;
    if (c->callee == "sleep" && !lookup(c->callee)) {
      c->kind = call_kind::sleep;
      if (!c->args.empty())
        error(a.call.at, "'sleep' takes no arguments (await sleep() suspends once)");
      return;
    }
    const function_decl* f = lookup(c->callee) ? nullptr : find_function(c->callee);
    if (!f || !f->is_async || f->generator || f->exit_signature) {
      error(a.call.at,
            "'await' needs a call of an async def (not an exit function) or sleep(), "
            "found " +
                q(c->callee));
      for (auto& x : c->args) value_of(x, 2);
      return;
    }
    c->kind = call_kind::call_function;
    arguments(c->args, f->params, c->callee, a.call.at, 1);
    add_edge(c->callee, a.call.at);
  }

  void check_node(with_stmt& w, source_pos at, int level) {
    if (w.items.empty()) error(at, "'with' needs at least one item");
    if (w.is_async && !cur().async_ok)
      error(at, "'async with' is only allowed at top level, in async defs and in acm members");
    // The as-names are visible in the later items and in the body, not after the statement:
    // if a later item fails and an earlier one suppresses, they may never have been bound.
    push_scope();
    for (auto& item : w.items) {
      vtype t = value_of(item.manager, 1);
      if (!is_manager(t)) {
        error(item.manager.at, std::string(w.is_async ? "'async with'" : "'with'") +
                                   " needs a context manager, found " + describe(t));
      } else if (std::string why = manager_mismatch(t, w.is_async); !why.empty()) {
        error(item.manager.at,
              std::string(w.is_async ? "'async with'" : "'with'") + ": the manager " + why);
      } else {
        add_manager_edges(t, item.manager.at);
      }
      if (item.as) bind(*item.as, is_manager(t) ? as_type(t) : any_type(), item.manager.at);
    }
    check_block(w.body, at, level + 1);
    pop_scope();
  }

  void check_node(try_stmt& t, source_pos at, int level) {
    if (t.handlers.empty() && !t.final_block)
      error(at, "'try' needs at least one 'except' or a 'finally'");
    check_block(t.body, at, level + 1);
    for (std::size_t i = 0; i < t.handlers.size(); ++i) {
      except_clause& h = t.handlers[i];
      if (h.classes.empty()) {
        if (h.tuple) error(h.at, "'except ()' needs at least one class");
        if (i + 1 != t.handlers.size()) error(h.at, "a bare 'except:' must be the last handler");
      } else if (!h.tuple && h.classes.size() > 1) {
        error(h.at, "several classes in 'except' must be written as a tuple");
      }
      for (const auto& c : h.classes)
        if (!is_class(c)) {
          if (find_cm(c) || find_function(c) || lookup(c))
            error(h.at, "'except' needs exception classes, found " + q(c));
          else
            error(h.at, "unknown exception class " + q(c));
        }
      push_scope();
      if (h.as) bind(*h.as, exception_type(false, true), h.at, true);
      ++cur().handlers;
      check_block(h.body, h.at, level + 1);
      --cur().handlers;
      pop_scope();
    }
    if (t.final_block) check_block(*t.final_block, at, level + 1);
  }

  void check_node(yield_stmt& y, source_pos at, int) {
    vtype t = y.value ? value_of(*y.value, 1) : value_type();
    if (!cur().yields)
      error(at, "'yield' is only allowed in @contextmanager and @asynccontextmanager functions");
    else
      cur().yields->push_back(t);
  }

  // `if NAME:` runs its block when NAME is truthy. A variable of kind exception-or-None is an
  // exception object where it is true: the then-block of `if NAME:`, the else-block of
  // `if not NAME:`. That block sees a narrowed view of it in a scope of its own.
  void check_node(if_stmt& i, source_pos at, int level) {
    vtype t = resolve_name(i.name, i.name_at);
    variable* v = lookup(i.name);
    const bool narrows = v != nullptr && t.k == kind::exception_or_none;
    auto branch = [&](block& b, bool true_branch) {
      push_scope();
      if (narrows && true_branch) {
        variable view = *v;
        view.type = exception_type(false, true);
        view.narrowed = true;
        cur().scopes.back().emplace(i.name, std::move(view));
      }
      check_block(b, at, level + 1);
      pop_scope();
    };
    branch(i.then_block, !i.negated);
    if (i.else_block) branch(*i.else_block, i.negated);
  }

  // ------------------------------------------------------------------ expressions
  static std::string narrow_hint(const vtype& t) {
    return t.k == kind::exception_or_none
               ? " (inside 'if NAME:' a variable of kind exception or None is an exception object)"
               : "";
  }

  static std::string describe(const vtype& t) {
    switch (t.k) {
      case kind::exception:
        return t.may_be_object ? (t.may_be_class ? "an exception" : "an exception object")
                               : "an exception class";
      case kind::exception_or_none:
        return "an exception or None";
      case kind::stack:
        return "an ExitStack";
      case kind::async_stack:
        return "an AsyncExitStack";
      case kind::neutral_stack:
        return "a NeutralExitStack";
      case kind::cm:
        return "a context manager";
      case kind::value:
        return "a value of kind value";
      case kind::any:
        return "an unknown value";
    }
    return "?";
  }

  bool depth_ok(const expr& e, int depth) {
    if (depth <= detail::max_nesting) return true;
    error(e.at, "expression nested too deeply (more than " + std::to_string(detail::max_nesting) +
                    " levels)");
    return false;
  }

  // A name used as a value.
  vtype resolve_name(const std::string& n, source_pos at) {
    if (variable* v = lookup(n)) return v->type;
    if (n == "self") {
      if (cur().place == frame::where::cm_method) return instance_of(cur().cm->name);
      error(at, "'self' is only available inside cm methods");
      return any_type();
    }
    if (is_class(n)) return exception_type(true, false);
    if (find_function(n)) return value_type();
    if (find_cm(n)) {
      error(at,
            "cm " + q(n) + " cannot be used as a value; create an instance with " + n + "(...)");
      return any_type();
    }
    if (detail::is_library_constructor(n)) {
      error(at, q(n) + " must be called: " + n + "(...)");
      return any_type();
    }
    error(at, "unknown name " + q(n) +
                  (cur().place != frame::where::main
                       ? " (functions and cm methods see only their "
                         "parameters, their own variables and declarations)"
                       : ""));
    return any_type();
  }

  // The type of an expression used as a value.
  vtype value_of(expr& e, int depth) {
    if (!depth_ok(e, depth)) return any_type();
    if (std::holds_alternative<none_literal>(e.node) ||
        std::holds_alternative<bool_literal>(e.node) || std::holds_alternative<int_literal>(e.node))
      return value_type();
    if (auto* s = std::get_if<string_literal>(&e.node)) {
      check_string(s->value, e.at);
      return value_type();
    }
    if (auto* n = std::get_if<name_ref>(&e.node)) return resolve_name(n->name, e.at);
    if (auto* c = std::get_if<call_expr>(&e.node)) return call_of(*c, e.at, depth, false);
    if (auto* m = std::get_if<method_call>(&e.node)) return method_of(*m, e.at, depth, false);
    error(e.at, "a parenthesised tuple is only allowed as an argument of suppress");
    return any_type();
  }

  void check_string(const std::string& s, source_pos at) {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 || c >= 0x7f) && c != '\n' && c != '\t') {
        error(at,
              "string literal holds a character the language does not allow (printable "
              "ASCII, \\n and \\t only)");
        return;
      }
    }
  }

  // An argument for a parameter of declared type `pt`.
  void argument(expr& e, param_type pt, const std::string& param_name, const std::string& owner,
                int depth) {
    vtype t = value_of(e, depth);
    if (pt == param_type::exception && t.k != kind::exception && t.k != kind::any)
      error(e.at, "argument for parameter " + q(param_name) + " of " + q(owner) +
                      " must be an exception (class or object), found " + describe(t));
    if (pt == param_type::stack && t.k != kind::stack && t.k != kind::any)
      error(e.at, "argument for parameter " + q(param_name) + " of " + q(owner) +
                      " must be an ExitStack, found " + describe(t));
  }

  void arguments(std::vector<expr>& args, const std::vector<param>& ps, const std::string& owner,
                 source_pos at, int depth, std::size_t skip = 0) {
    const std::size_t given = args.size() - skip;
    if (given != ps.size()) {
      error(at, q(owner) + " takes " + std::to_string(ps.size()) + " argument" +
                    (ps.size() == 1 ? "" : "s") + ", got " + std::to_string(given));
      for (std::size_t i = skip; i < args.size(); ++i) value_of(args[i], depth + 1);
      return;
    }
    for (std::size_t i = 0; i < ps.size(); ++i)
      argument(args[skip + i], ps[i].type, ps[i].name, owner, depth + 1);
  }

  void suppress_argument(expr& e, int depth) {
    if (!depth_ok(e, depth)) return;
    if (auto* t = std::get_if<tuple_expr>(&e.node)) {
      for (auto& item : t->items) suppress_argument(item, depth + 1);
      return;
    }
    vtype t = value_of(e, depth);
    if (t.k != kind::any && (t.k != kind::exception || t.may_be_object))
      error(e.at, "suppress needs exception classes, found " + describe(t));
  }

  vtype call_of(call_expr& c, source_pos at, int depth, bool statement) {
    const std::string& n = c.callee;
    c.kind = call_kind::unresolved;
    if (lookup(n) || n == "self") {
      error(at, q(n) + " is not callable");
      for (auto& a : c.args) value_of(a, depth + 1);
      return any_type();
    }
    const function_decl* callee = find_function(n);
    if (statement && !(callee && !callee->generator)) {
      // Still resolve it so the kind is filled in, then say why it is not a statement.
      vtype ignored = call_of(c, at, depth, false);
      (void)ignored;
      if (c.kind != call_kind::unresolved)
        error(at, "a call statement must call a declared function; the value of " + q(n + "(...)") +
                      " would be unused");
      return any_type();
    }
    if (is_class(n)) {
      c.kind = call_kind::new_exception;
      if (c.args.size() > 1)
        error(at, "exception class " + q(n) + " takes at most one argument, got " +
                      std::to_string(c.args.size()));
      for (auto& a : c.args) {
        if (auto* s = std::get_if<string_literal>(&a.node))
          check_string(s->value, a.at);
        else if (!std::holds_alternative<int_literal>(a.node))
          error(a.at,
                "the argument of exception class " + q(n) + " must be an int or string literal");
      }
      return exception_type(false, true);
    }
    if (const cm_decl* cm = find_cm(n)) {
      c.kind = call_kind::new_cm;
      arguments(c.args, cm->params, n, at, depth);
      return instance_of(n);
    }
    if (const function_decl* f = find_function(n); f && f->generator) {
      c.kind = call_kind::new_generator;
      arguments(c.args, f->params, n, at, depth);
      return generator_of(n);
    }
    if (const function_decl* f = find_function(n)) {
      if (f->exit_signature) {
        error(at, "exit function " + q(n) +
                      " cannot be called directly; register it with "
                      "NAME.push(" +
                      n + ")");
        for (auto& a : c.args) value_of(a, depth + 1);
        return any_type();
      }
      c.kind = call_kind::call_function;
      arguments(c.args, f->params, n, at, depth);
      add_edge(n, at);
      if (f->is_async) error(at, "async def " + q(n) + " must be awaited: await " + n + "(...)");
      if (!statement)
        error(at, "a call of function " + q(n) +
                      " is a statement; its result cannot be used as a value");
      return any_type();
    }
    if (n == "ExitStack") {
      c.kind = call_kind::new_exit_stack;
      if (!c.args.empty())
        error(at, "'ExitStack' takes no arguments, got " + std::to_string(c.args.size()));
      for (auto& a : c.args) value_of(a, depth + 1);
      return of_kind(kind::stack);
    }
    if (n == "AsyncExitStack") {
      c.kind = call_kind::new_async_exit_stack;
      if (!c.args.empty())
        error(at, "'AsyncExitStack' takes no arguments, got " + std::to_string(c.args.size()));
      for (auto& a : c.args) value_of(a, depth + 1);
      return of_kind(kind::async_stack);
    }
    if (n == "NeutralExitStack") {
      c.kind = call_kind::new_neutral_exit_stack;
      if (!c.args.empty())
        error(at, "'NeutralExitStack' takes no arguments, got " + std::to_string(c.args.size()));
      for (auto& a : c.args) value_of(a, depth + 1);
      return of_kind(kind::neutral_stack);
    }
    if (n == "aclosing") {
      c.kind = call_kind::new_aclosing;
      if (c.args.size() != 1) {
        error(at, "'aclosing' takes 1 argument, got " + std::to_string(c.args.size()));
        for (auto& a : c.args) value_of(a, depth + 1);
        return any_type();
      }
      vtype t = value_of(c.args[0], depth + 1);
      if (t.k == kind::any) return any_type();
      // Certainly a direct instance of acms that all declare aclose.
      bool closable = t.k == kind::cm && !t.declared.empty() && t.closing.empty() &&
                      t.aclosing.empty() && !t.suppress && !t.nullcontext && t.generators.empty();
      for (const auto& name : t.declared) {
        const cm_decl* d = find_cm(name);
        if (!d || !d->close || !d->is_async) closable = false;
      }
      if (!closable) {
        error(
            c.args[0].at,
            "'aclosing' needs an instance of an acm that declares 'aclose', found " + describe(t));
        return any_type();
      }
      vtype r = of_kind(kind::cm);
      r.aclosing = t.declared;
      return r;
    }
    if (n == "suppress") {
      c.kind = call_kind::new_suppress;
      for (auto& a : c.args) suppress_argument(a, depth + 1);
      return suppress_type();
    }
    if (n == "nullcontext") {
      c.kind = call_kind::new_nullcontext;
      if (c.args.size() > 1)
        error(at, "'nullcontext' takes at most one argument, got " + std::to_string(c.args.size()));
      vtype inner = value_type();  // nullcontext() binds None
      for (auto& a : c.args) inner = value_of(a, depth + 1);
      if (c.args.size() > 1) inner = value_type();
      return nullcontext_of(inner);
    }
    if (n == "closing") {
      c.kind = call_kind::new_closing;
      if (c.args.size() != 1) {
        error(at, "'closing' takes 1 argument, got " + std::to_string(c.args.size()));
        for (auto& a : c.args) value_of(a, depth + 1);
        return any_type();
      }
      vtype t = value_of(c.args[0], depth + 1);
      if (t.k == kind::any) return any_type();
      // Certainly a direct instance of cms that all declare close.
      bool closable = t.k == kind::cm && !t.declared.empty() && t.closing.empty() &&
                      t.aclosing.empty() && !t.suppress && !t.nullcontext && t.generators.empty();
      for (const auto& name : t.declared) {
        const cm_decl* d = find_cm(name);
        if (!d || !d->close || d->is_async) closable = false;
      }
      if (!closable) {
        error(c.args[0].at,
              "'closing' needs an instance of a cm that declares 'close', found " + describe(t));
        return any_type();
      }
      return closing_of(t);
    }
    error(at, "unknown callee " + q(n));
    for (auto& a : c.args) value_of(a, depth + 1);
    return any_type();
  }

  vtype method_of(method_call& m, source_pos at, int depth, bool statement) {
    const std::string mname = method_name(m.method);
    const bool async_method =
        m.method == stack_method::enter_async_context || m.method == stack_method::aclose ||
        m.method == stack_method::push_async_exit || m.method == stack_method::push_async_callback;
    kind stack_kind = kind::any;
    if (variable* v = lookup(m.object)) stack_kind = v->type.k;
    if (stack_kind == kind::neutral_stack) return neutral_method_of(m, at, depth, statement);
    const bool awaitable =
        m.method == stack_method::enter_async_context || m.method == stack_method::aclose;
    if (variable* v = lookup(m.object)) {
      if (v->type.k == kind::async_stack) {
        if (m.method == stack_method::close)
          error(at, "an AsyncExitStack has no '.close()'; use 'await " + m.object + ".aclose()'");
      } else if (v->type.k == kind::stack && async_method) {
        error(at, q(m.object) + " is an ExitStack; '." + mname + "' needs an AsyncExitStack");
      } else if (v->type.k != kind::stack && v->type.k != kind::any) {
        error(at, q(m.object) + " is not an ExitStack (kind " + kind_name(v->type.k) + "); '." +
                      mname + "' needs a stack-kind variable");
      }
    } else if (m.object == "self" || is_class(m.object) || find_cm(m.object) ||
               find_function(m.object)) {
      error(at, q(m.object) + " is not an ExitStack; '." + mname + "' needs a stack-kind variable");
    } else {
      resolve_name(m.object, at);
    }
    auto arity = [&](std::size_t n) {
      if (m.args.size() == n) return true;
      error(at, "'." + mname + "' takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") +
                    ", got " + std::to_string(m.args.size()));
      for (auto& a : m.args) value_of(a, depth + 1);
      return false;
    };
    if (!statement && (m.method == stack_method::push || m.method == stack_method::callback ||
                       m.method == stack_method::close || m.method == stack_method::aclose ||
                       m.method == stack_method::push_async_exit ||
                       m.method == stack_method::push_async_callback))
      error(at, "'." + mname + "(...)' is a statement; its result cannot be used as a value");
    if (awaitable && !m.awaited)
      error(at, "'." + mname + "(...)' must be awaited: await " + m.object + "." + mname + "(...)");
    if (!awaitable && m.awaited) error(at, "'." + mname + "(...)' cannot be awaited");
    if (m.awaited && !cur().async_ok)
      error(at, "'await' is only allowed at top level, in async defs and in acm members");
    switch (m.method) {
      case stack_method::enter_async_context: {
        if (!arity(1)) return any_type();
        vtype t = value_of(m.args[0], depth + 1);
        if (!is_manager(t)) {
          error(m.args[0].at,
                "'.enter_async_context' needs an async context manager, found " + describe(t));
          return any_type();
        }
        if (std::string why = manager_mismatch(t, true); !why.empty()) {
          error(m.args[0].at, "'.enter_async_context': the manager " + why);
          return any_type();
        }
        add_manager_edges(t, m.args[0].at);
        return as_type(t);
      }
      case stack_method::push_async_exit: {
        if (!arity(1)) return any_type();
        expr& a = m.args[0];
        if (auto* n = std::get_if<name_ref>(&a.node); n && !lookup(n->name)) {
          if (const function_decl* f = find_function(n->name)) {
            if (!f->is_async || !f->exit_signature || f->generator)
              error(a.at,
                    "'.push_async_exit' needs an async exit function (async def NAME(*EXC)) "
                    "or an async context manager, found " +
                        q(n->name));
            else
              add_edge(n->name, a.at);
            return any_type();
          }
        }
        vtype t = value_of(a, depth + 1);
        if (!is_manager(t))
          error(a.at,
                "'.push_async_exit' needs an async context manager or an async exit "
                "function, found " +
                    describe(t));
        else if (std::string why = manager_mismatch(t, true); !why.empty())
          error(a.at, "'.push_async_exit': the manager " + why);
        else
          add_manager_edges(t, a.at);
        return any_type();
      }
      case stack_method::push_async_callback: {
        if (m.args.empty()) {
          error(at, "'.push_async_callback' needs an async def");
          return any_type();
        }
        expr& a = m.args[0];
        auto* n = std::get_if<name_ref>(&a.node);
        const function_decl* f = n && !lookup(n->name) ? find_function(n->name) : nullptr;
        if (!f || !f->is_async || f->exit_signature || f->generator) {
          error(a.at,
                "'.push_async_callback' needs the name of an async def (not an exit "
                "function)");
          for (std::size_t i = 1; i < m.args.size(); ++i) value_of(m.args[i], depth + 1);
          return any_type();
        }
        add_edge(n->name, a.at);
        arguments(m.args, f->params, n->name, at, depth, 1);
        return any_type();
      }
      case stack_method::aclose:
        arity(0);
        return any_type();
      case stack_method::enter_context: {
        if (!arity(1)) return any_type();
        vtype t = value_of(m.args[0], depth + 1);
        if (!is_manager(t)) {
          error(m.args[0].at, "'.enter_context' needs a context manager, found " + describe(t));
          return any_type();
        }
        if (std::string why = manager_mismatch(t, false); !why.empty()) {
          error(m.args[0].at, "'.enter_context': the manager " + why);
          return any_type();
        }
        add_manager_edges(t, m.args[0].at);
        return as_type(t);
      }
      case stack_method::push: {
        if (!arity(1)) return any_type();
        expr& a = m.args[0];
        if (auto* n = std::get_if<name_ref>(&a.node); n && !lookup(n->name)) {
          if (const function_decl* f = find_function(n->name)) {
            if (f->generator)
              error(a.at, "'.push' needs an exit function (def NAME(*EXC)) or a context manager; " +
                              q(n->name) + " is a @contextmanager function (push one of its cms: " +
                              n->name + "(...))");
            else if (f->is_async)
              error(a.at, "'.push' on an ExitStack needs a sync exit function; " + q(n->name) +
                              " is an async def");
            else if (!f->exit_signature)
              error(a.at,
                    "'.push' needs an exit function (def NAME(*EXC)) or a context "
                    "manager; " +
                        q(n->name) + " is a normal function (use '.callback')");
            else
              add_edge(n->name, a.at);
            return any_type();
          }
        }
        vtype t = value_of(a, depth + 1);
        if (!is_manager(t))
          error(a.at, "'.push' needs a context manager or an exit function, found " + describe(t));
        else if (std::string why = manager_mismatch(t, false); !why.empty())
          error(a.at, "'.push': the manager " + why);
        else
          add_manager_edges(t, a.at);
        return any_type();
      }
      case stack_method::callback: {
        if (m.args.empty()) {
          error(at, "'.callback' needs a function");
          return any_type();
        }
        expr& a = m.args[0];
        auto* n = std::get_if<name_ref>(&a.node);
        const function_decl* f = n && !lookup(n->name) ? find_function(n->name) : nullptr;
        if (!f) {
          error(a.at, "'.callback' needs the name of a declared function");
          for (std::size_t i = 1; i < m.args.size(); ++i) value_of(m.args[i], depth + 1);
          return any_type();
        }
        if (f->exit_signature || f->generator) {
          error(a.at, "'.callback' needs a normal function; " + q(n->name) +
                          (f->generator ? " is a @contextmanager function"
                                        : " is an exit function (use '.push')"));
          return any_type();
        }
        if (f->is_async) {
          error(a.at, "'.callback' on an ExitStack needs a sync function; " + q(n->name) +
                          " is an async def");
          return any_type();
        }
        add_edge(n->name, a.at);
        arguments(m.args, f->params, n->name, at, depth, 1);
        return any_type();
      }
      case stack_method::pop_all:
        arity(0);
        return of_kind(stack_kind == kind::async_stack ? kind::async_stack : kind::stack);
      case stack_method::close:
        arity(0);
        return any_type();
    }
    return any_type();
  }

  // Whether a manager of type t is certainly async (true), certainly sync (false), or neither.
  std::optional<bool> entry_is_async(const vtype& t) const {
    const bool fits_sync = manager_mismatch(t, false).empty();
    const bool fits_async = manager_mismatch(t, true).empty();
    if (fits_sync && !fits_async) return false;
    if (fits_async && !fits_sync) return true;
    if (fits_sync && fits_async && t.declared.empty() && t.k != kind::any)
      return false;  // nullcontext: either protocol does the same; CPython's enter_context
    return std::nullopt;
  }

  // A NeutralExitStack (asyncstdlib's): enter_context (awaited), push and callback take sync
  // and async entries; each is checked, and marked for the export, by its static kind.
  vtype neutral_method_of(method_call& m, source_pos at, int depth, bool statement) {
    const std::string mname = method_name(m.method);
    auto arity = [&](std::size_t n) {
      if (m.args.size() == n) return true;
      error(at, "'." + mname + "' takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") +
                    ", got " + std::to_string(m.args.size()));
      for (auto& a : m.args) value_of(a, depth + 1);
      return false;
    };
    const bool awaitable =
        m.method == stack_method::enter_context || m.method == stack_method::aclose;
    if (awaitable && !m.awaited)
      error(at, "'." + mname + "(...)' must be awaited on a NeutralExitStack: await " + m.object +
                    "." + mname + "(...)");
    if (!awaitable && m.awaited) error(at, "'." + mname + "(...)' cannot be awaited");
    if (m.awaited && !cur().async_ok)
      error(at, "'await' is only allowed at top level, in async defs and in acm members");
    if (!statement && m.method != stack_method::enter_context && m.method != stack_method::pop_all)
      error(at, "'." + mname + "(...)' is a statement; its result cannot be used as a value");
    switch (m.method) {
      case stack_method::enter_context:
      case stack_method::push: {
        if (!arity(1)) return any_type();
        expr& a = m.args[0];
        if (auto* n = std::get_if<name_ref>(&a.node);
            n && !lookup(n->name) && m.method == stack_method::push) {
          if (const function_decl* f = find_function(n->name)) {
            if (!f->exit_signature || f->generator)
              error(a.at,
                    "'.push' needs an exit function (def NAME(*EXC) or async def "
                    "NAME(*EXC)) or a context manager, found " +
                        q(n->name));
            else
              add_edge(n->name, a.at);
            m.async_entry = f->is_async;
            return any_type();
          }
        }
        vtype t = value_of(a, depth + 1);
        if (!is_manager(t)) {
          error(a.at, "'." + mname + "' needs a context manager, found " + describe(t));
          return any_type();
        }
        std::optional<bool> is_async = entry_is_async(t);
        if (!is_async) {
          error(a.at, "'." + mname +
                          "' on a NeutralExitStack needs a manager that is certainly "
                          "sync or certainly async");
          return any_type();
        }
        m.async_entry = *is_async;
        add_manager_edges(t, a.at);
        return m.method == stack_method::enter_context ? as_type(t) : any_type();
      }
      case stack_method::callback: {
        if (m.args.empty()) {
          error(at, "'.callback' needs a function");
          return any_type();
        }
        expr& a = m.args[0];
        auto* n = std::get_if<name_ref>(&a.node);
        const function_decl* f = n && !lookup(n->name) ? find_function(n->name) : nullptr;
        if (!f || f->exit_signature || f->generator) {
          error(a.at,
                "'.callback' needs the name of a declared function (sync or async, not an "
                "exit function)");
          for (std::size_t i = 1; i < m.args.size(); ++i) value_of(m.args[i], depth + 1);
          return any_type();
        }
        m.async_entry = f->is_async;
        add_edge(n->name, a.at);
        arguments(m.args, f->params, n->name, at, depth, 1);
        return any_type();
      }
      case stack_method::pop_all:
        arity(0);
        return of_kind(kind::neutral_stack);
      case stack_method::aclose:
        arity(0);
        return any_type();
      default:
        error(at, "a NeutralExitStack has no '." + mname +
                      "' (its methods: enter_context, push, callback, pop_all, aclose)");
        for (auto& a : m.args) value_of(a, depth + 1);
        return any_type();
    }
  }

  // ------------------------------------------------------------------ recursion
  // Functions and cms may not run themselves again, directly or through others: Python would
  // raise RecursionError where C++ would overflow its stack. One error per strongly connected
  // set of the "may run" graph, at its first edge in source order. Iterative, linear time.
  void check_recursion() {
    std::map<std::string, int> id;
    std::vector<std::string> names;
    auto node = [&](const std::string& n) {
      auto [it, added] = id.emplace(n, static_cast<int>(names.size()));
      if (added) names.push_back(n);
      return it->second;
    };
    std::vector<std::pair<int, int>> ends;  // per edge
    for (const auto& e : edges_) ends.emplace_back(node(e.from), node(e.to));
    const int n = static_cast<int>(names.size());
    std::vector<std::vector<int>> out(n), in(n);  // edge indices
    for (int i = 0; i < static_cast<int>(ends.size()); ++i) {
      out[ends[i].first].push_back(i);
      in[ends[i].second].push_back(i);
    }
    // Kosaraju: finish order on the graph, then components on the reversed graph.
    std::vector<int> order;
    std::vector<char> seen(n, 0);
    for (int root = 0; root < n; ++root) {
      if (seen[root]) continue;
      std::vector<std::pair<int, std::size_t>> stack{{root, 0}};
      seen[root] = 1;
      while (!stack.empty()) {
        auto& [v, next] = stack.back();
        if (next < out[v].size()) {
          const int w = ends[out[v][next++]].second;
          if (!seen[w]) {
            seen[w] = 1;
            stack.emplace_back(w, 0);
          }
        } else {
          order.push_back(v);
          stack.pop_back();
        }
      }
    }
    std::vector<int> comp(n, -1);
    int comps = 0;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      if (comp[*it] >= 0) continue;
      std::vector<int> stack{*it};
      comp[*it] = comps;
      while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        for (int e : in[v])
          if (comp[ends[e].first] < 0) {
            comp[ends[e].first] = comps;
            stack.push_back(ends[e].first);
          }
      }
      ++comps;
    }
    // The first edge (in source order) inside each component closes a cycle.
    std::vector<int> first(comps, -1);
    for (int i = 0; i < static_cast<int>(ends.size()); ++i) {
      const auto [u, v] = ends[i];
      if (comp[u] != comp[v]) continue;
      int& f = first[comp[u]];
      const source_pos a = edges_[i].at;
      if (f < 0 || a.line < edges_[f].at.line ||
          (a.line == edges_[f].at.line && a.column < edges_[f].at.column))
        f = i;
    }
    for (int c = 0; c < comps; ++c) {
      if (first[c] < 0) continue;
      const auto [u, v] = ends[first[c]];
      // Shortest way back from v to u inside the component.
      std::vector<int> parent(n, -2);
      std::deque<int> queue{v};
      parent[v] = -1;
      while (!queue.empty() && parent[u] == -2) {
        const int x = queue.front();
        queue.pop_front();
        for (int e : out[x]) {
          const int y = ends[e].second;
          if (comp[y] == c && parent[y] == -2) {
            parent[y] = x;
            queue.push_back(y);
          }
        }
      }
      std::vector<std::string> back;
      for (int x = u; x != -1 && x != -2; x = parent[x]) {
        back.push_back(names[x]);
        if (x == v) break;
      }
      std::reverse(back.begin(), back.end());
      // u -> ... -> u; a long cycle shows its start and its end.
      std::vector<std::string> cycle{names[u]};
      cycle.insert(cycle.end(), back.begin(), back.end());
      std::string chain;
      for (std::size_t i = 0; i < cycle.size(); ++i) {
        if (cycle.size() > 8 && i == 4) {
          chain += " -> ...";
          i = cycle.size() - 4;
        }
        chain += (i ? " -> " : "") + cycle[i];
      }
      error(edges_[first[c]].at,
            "recursion is not allowed: " + q(names[u]) + " can run itself again (" + chain + ")");
    }
  }

  program& p_;
  std::string file_;
  diagnostics errors_;
  // The declared classes that own their name (built-in ones are found in their table).
  std::vector<std::string_view> classes_;
  std::map<std::string, cm_decl*> cms_;
  std::map<std::string, function_decl*> functions_;
  std::deque<frame> frames_;  // a deque: references to outer frames survive pushes
  std::map<std::string, vtype> enter_types_;
  std::set<std::string> entering_;
  std::map<std::string, vtype> yield_types_;
  std::set<std::string> yielding_;
  std::set<const cm_decl*> params_reported_;
  std::vector<edge> edges_;
};

}  // namespace

diagnostics check(program& p, std::string_view file_name) {
  checker c(p, file_name);
  return c.run();
}

}  // namespace ctxmodel
