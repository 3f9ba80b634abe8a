// laws.cpp: building both sides of each metamorphic law (laws.hpp).
//
// The base program comes from ctxmodel::generate; its declarations supply the managers, exit
// functions and callbacks, its top-level statements the body. Everything the law adds is built
// here as program structs with unresolved calls, and ctxmodel::check resolves and validates both
// sides: a side that does not check is a bug of this file and is reported as such.
#include "laws.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "ctxmodel/builtins.hpp"
#include "ctxmodel/parse.hpp"
#include "program_builder.hpp"
#include "trace_relations.hpp"
#include "walk.hpp"

namespace ctxprop {

bool related(relation r, const ctxmodel::trace& lhs, const ctxmodel::trace& rhs) {
  switch (r) {
    case relation::equal:
      return lhs == rhs;
    case relation::equal_without_contexts:
      return without_contexts(lhs) == without_contexts(rhs);
  }
  return false;
}

const char* relation_text(relation r) {
  return r == relation::equal ? "equal traces" : "equal traces once __context__ links are removed";
}

void showValue(const law_case& c, std::ostream& os) {
  os << "\nlaw: " << c.law << " (" << relation_text(c.holds) << ")\n--- " << c.lhs_title << ":\n"
     << ctxmodel::print(c.lhs) << "--- " << c.rhs_title << ":\n"
     << ctxmodel::print(c.rhs);
}

namespace {

using ctxmodel::block;
using ctxmodel::call_kind;
using ctxmodel::expr;
using ctxmodel::param_type;
using ctxmodel::program;
using ctxmodel::stack_method;
using ctxmodel::stmt;

// ---------------------------------------------------------------------------------------------
// Small constructors beyond program_builder.hpp (calls stay unresolved: check resolves them).

expr call(std::string callee, std::vector<expr> args = {}) {
  return build::call(call_kind::unresolved, std::move(callee), std::move(args));
}
expr awaited(expr method_call) {
  std::get<ctxmodel::method_call>(method_call.node).awaited = true;
  return method_call;
}
stmt with_stmt(std::vector<ctxmodel::with_item> items, block body, bool is_async) {
  stmt s = build::with(std::move(items), std::move(body));
  std::get<ctxmodel::with_stmt>(s.node).is_async = is_async;
  return s;
}
stmt await_call(std::string function, std::vector<expr> args) {
  return build::s(ctxmodel::await_stmt{call(std::move(function), std::move(args))});
}

// ---------------------------------------------------------------------------------------------
// Walking programs.

// Every name a program mentions as a class or callee: `from` becomes `to`.
void rename_class(expr& e, std::string_view from, const std::string& to) {
  std::visit(
      [&](auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::name_ref>) {
          if (n.name == from) n.name = to;
        }
        if constexpr (std::is_same_v<N, ctxmodel::call_expr>) {
          if (n.callee == from) n.callee = to;
          for (auto& a : n.args) rename_class(a, from, to);
        }
        if constexpr (std::is_same_v<N, ctxmodel::tuple_expr>)
          for (auto& a : n.items) rename_class(a, from, to);
        if constexpr (std::is_same_v<N, ctxmodel::method_call>)
          for (auto& a : n.args) rename_class(a, from, to);
      },
      e.node);
}
void rename_class(block& top, std::string_view from, const std::string& to) {
  for_each_block(top, [&](block& b) {
    for (stmt& s : b) {
      std::visit(
          [&](auto& n) {
            using N = std::decay_t<decltype(n)>;
            auto fix = [&](expr& e) { rename_class(e, from, to); };
            if constexpr (std::is_same_v<N, ctxmodel::mark_stmt>)
              for (auto& v : n.values) fix(v);
            if constexpr (std::is_same_v<N, ctxmodel::assign_stmt> ||
                          std::is_same_v<N, ctxmodel::set_attribute_stmt>)
              fix(n.value);
            if constexpr (std::is_same_v<N, ctxmodel::raise_stmt>) {
              if (n.exception) fix(*n.exception);
              if (n.cause) fix(*n.cause);
            }
            if constexpr (std::is_same_v<N, ctxmodel::return_stmt> ||
                          std::is_same_v<N, ctxmodel::yield_stmt>)
              if (n.value) fix(*n.value);
            if constexpr (std::is_same_v<N, ctxmodel::expr_stmt>) fix(n.value);
            if constexpr (std::is_same_v<N, ctxmodel::await_stmt>) fix(n.call);
            if constexpr (std::is_same_v<N, ctxmodel::with_stmt>)
              for (auto& i : n.items) fix(i.manager);
            if constexpr (std::is_same_v<N, ctxmodel::try_stmt>)
              for (auto& h : n.handlers)
                for (auto& c : h.classes)
                  if (c == from) c = to;
          },
          s.node);
    }
  });
}
void rename_class(program& p, std::string_view from, const std::string& to) {
  for (auto& c : p.classes)
    if (c.base == from) c.base = to;
  for (auto& c : p.cms)
    for (auto* m : {&c.enter, &c.exit, &c.close})
      if (*m) rename_class(**m, from, to);
  for (auto& f : p.functions) {
    rename_class(f.body, from, to);
    if (f.decorator) rename_class(*f.decorator, from, to);
  }
  rename_class(p.main, from, to);
}

bool is_class_name(const program& p, const std::string& n);

// Exit code that gives the same trace whether it runs inside nested `with` statements or inside
// an ExitStack's unwind (laws.hpp, exit_stack_is_nested_with): it catches nothing (no try, no
// with), runs no other code (no calls, no stack methods, no awaited calls; `await sleep()` is
// fine) and raises only new exceptions, never a variable (a re-raised exception keeps the
// context the stack gave it).
bool transparent(const program& p, const block& b) {
  for (const stmt& s : b) {
    const bool ok = std::visit(
        [&](const auto& n) {
          using N = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<N, ctxmodel::pass_stmt> ||
                        std::is_same_v<N, ctxmodel::mark_stmt> ||
                        std::is_same_v<N, ctxmodel::set_attribute_stmt> ||
                        std::is_same_v<N, ctxmodel::return_stmt> ||
                        std::is_same_v<N, ctxmodel::yield_stmt>)
            return true;
          if constexpr (std::is_same_v<N, ctxmodel::assign_stmt>)
            return !std::holds_alternative<ctxmodel::method_call>(n.value.node);
          if constexpr (std::is_same_v<N, ctxmodel::raise_stmt>) {
            if (!n.exception) return false;
            if (const auto* r = std::get_if<ctxmodel::name_ref>(&n.exception->node))
              return is_class_name(p, r->name);
            return std::holds_alternative<ctxmodel::call_expr>(n.exception->node);
          }
          if constexpr (std::is_same_v<N, ctxmodel::if_stmt>)
            return transparent(p, n.then_block) && (!n.else_block || transparent(p, *n.else_block));
          if constexpr (std::is_same_v<N, ctxmodel::await_stmt>) {
            const auto* c = std::get_if<ctxmodel::call_expr>(&n.call.node);
            return c && c->callee == "sleep";
          }
          return false;
        },
        s.node);
    if (!ok) return false;
  }
  return true;
}

// The expression makes an exception object (CLASS(...) anywhere in it).
bool makes_exceptions(const program& p, const expr& e) {
  return std::visit(
      [&](const auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::call_expr>)
          return is_class_name(p, n.callee) ||
                 std::any_of(n.args.begin(), n.args.end(),
                             [&](const expr& a) { return makes_exceptions(p, a); });
        if constexpr (std::is_same_v<N, ctxmodel::tuple_expr>)
          return std::any_of(n.items.begin(), n.items.end(),
                             [&](const expr& a) { return makes_exceptions(p, a); });
        return false;
      },
      e.node);
}

// ---------------------------------------------------------------------------------------------
// What the base program offers to stacks and `with`.

// The classes arguments and suppress() name (besides the program's own).
constexpr std::array<std::string_view, 10> argument_classes = {
    "Exception",    "KeyError",      "IndexError",    "ValueError",        "LookupError",
    "RuntimeError", "StopIteration", "GeneratorExit", "KeyboardInterrupt", "BaseException"};

bool is_class_name(const program& p, const std::string& n) {
  if (ctxmodel::find_builtin_exception_class(n)) return true;
  return std::any_of(p.classes.begin(), p.classes.end(),
                     [&](const auto& c) { return c.name == n; });
}

enum class role : std::uint8_t { manager, exit_function, callback };

// A manager, exit function or callback the program can make; arguments are drawn when used.
struct candidate {
  role r = role::manager;
  bool is_async = false;
  bool transparent = true;         // its exit code is transparent (managers only)
  bool neutral_kind_known = true;  // certainly sync or certainly async (NeutralExitStack)
  std::string name;                // declaration or "suppress" / "nullcontext" / "ExitStack"
  std::vector<ctxmodel::param> params;
  std::string wrapper;  // "closing" / "aclosing" around name(args)
};

class parts {
 public:
  parts(ctxmodel::choices& source, const program& base, bool exception_objects)
      : source_(source), base_(base), exception_objects_(exception_objects) {
    auto no_stack = [](const std::vector<ctxmodel::param>& ps) {
      return std::none_of(ps.begin(), ps.end(),
                          [](const auto& q) { return q.type == param_type::stack; });
    };
    for (const auto& c : base.cms) {
      if (!no_stack(c.params)) continue;
      const bool close_ok = !c.close || transparent(base, *c.close);
      const bool exit_ok = !c.exit || transparent(base, *c.exit);
      candidates_.push_back({role::manager, c.is_async, exit_ok, true, c.name, c.params, ""});
      if (c.close)
        candidates_.push_back({role::manager, c.is_async, close_ok, true, c.name, c.params,
                               c.is_async ? "aclosing" : "closing"});
    }
    for (const auto& f : base.functions) {
      if (!no_stack(f.params)) continue;
      if (f.generator)
        candidates_.push_back(
            {role::manager, f.is_async, transparent(base, f.body), true, f.name, f.params, ""});
      else if (f.exit_signature)
        candidates_.push_back({role::exit_function, f.is_async, true, true, f.name, {}, ""});
      else
        candidates_.push_back({role::callback, f.is_async, true, true, f.name, f.params, ""});
    }
    candidates_.push_back({role::manager, false, true, true, "suppress", {}, ""});
    candidates_.push_back({role::manager, false, true, false, "nullcontext", {}, ""});
    candidates_.push_back({role::manager, false, true, true, "ExitStack", {}, ""});
  }

  std::size_t pick(std::size_t bound) { return source_.pick(bound); }

  // Whether a list that has `n` items gets another: always below `least`, never from `most`,
  // else one pick, 0 (the simplest) ending the list. Each item's picks follow its own "another"
  // pick, so shrinking can drop any item with its picks and keep the others as they were.
  bool another(std::size_t n, std::size_t least, std::size_t most) {
    if (n < least) return true;
    return n < most && pick(2) == 1;
  }
  const program& base() const { return base_; }

  std::vector<const candidate*> where(const std::function<bool(const candidate&)>& pred) const {
    std::vector<const candidate*> out;
    for (const auto& c : candidates_)
      if (pred(c)) out.push_back(&c);
    return out;
  }
  const candidate* choose(const std::vector<const candidate*>& from) {
    return from.empty() ? nullptr : from[pick(from.size())];
  }

  std::string class_name() {
    std::vector<std::string> names(argument_classes.begin(), argument_classes.end());
    for (const auto& c : base_.classes) names.push_back(c.name);
    return names[pick(names.size())];
  }

  expr exception_argument() {
    if (exception_objects_ && pick(2) == 1) return call(class_name());
    return build::name(class_name());
  }

  expr value() {
    switch (pick(6)) {
      case 1:
        return build::num(1);
      case 2:
        return build::str("a");
      case 3:
        return build::boolean(true);
      case 4:
        return build::name(class_name());
      case 5:
        return exception_objects_ ? call(class_name()) : build::num(2);
      default:
        return build::none();
    }
  }

  std::vector<expr> arguments(const std::vector<ctxmodel::param>& ps) {
    std::vector<expr> args;
    for (const auto& q : ps)
      args.push_back(q.type == param_type::exception ? exception_argument() : value());
    return args;
  }

  // The expression that makes a manager.
  expr manager(const candidate& c) {
    if (c.name == "suppress") {
      std::vector<expr> classes;
      while (another(classes.size(), 0, 2)) classes.push_back(build::name(class_name()));
      return call("suppress", std::move(classes));
    }
    if (c.name == "nullcontext")
      return pick(2) ? call("nullcontext", {value()}) : call("nullcontext");
    if (c.name == "ExitStack") return call("ExitStack");
    expr made = call(c.name, arguments(c.params));
    return c.wrapper.empty() ? made : call(c.wrapper, {std::move(made)});
  }

 private:
  ctxmodel::choices& source_;
  const program& base_;
  bool exception_objects_;
  std::vector<candidate> candidates_;
};

// ---------------------------------------------------------------------------------------------
// Stacks.

enum class stack_kind : std::uint8_t { sync, async, neutral };

const char* stack_class(stack_kind k) {
  return k == stack_kind::sync    ? "ExitStack"
         : k == stack_kind::async ? "AsyncExitStack"
                                  : "NeutralExitStack";
}

// An entry operation as a statement on stack `s` of kind `k`; nullopt if the program offers
// nothing for it. `neutral_as_async` writes, for a NeutralExitStack's entry, the AsyncExitStack
// method of the entry's kind instead (the neutral law's right side).
struct entry_op {
  role r = role::manager;
  const candidate* c = nullptr;
  expr argument;            // the manager or the function's name
  std::vector<expr> extra;  // a callback's arguments
};

std::optional<entry_op> draw_entry(parts& parts, stack_kind k, bool sync_only) {
  auto usable = [&](const candidate& c) {
    if (k == stack_kind::sync || sync_only) return !c.is_async;
    if (k == stack_kind::neutral) return c.neutral_kind_known;
    return true;
  };
  std::vector<role> roles;
  for (role r : {role::manager, role::exit_function, role::callback})
    if (!parts.where([&](const candidate& c) { return c.r == r && usable(c); }).empty())
      roles.push_back(r);
  if (roles.empty()) return std::nullopt;
  const role r = roles[parts.pick(roles.size())];
  const candidate* c =
      parts.choose(parts.where([&](const candidate& x) { return x.r == r && usable(x); }));
  entry_op op{r, c, {}, {}};
  if (r == role::manager) {
    op.argument = parts.manager(*c);
  } else {
    op.argument = build::name(c->name);
    if (r == role::callback) op.extra = parts.arguments(c->params);
  }
  return op;
}

// `s.enter_context(X)`, `s.push(X)`, `s.callback(F, ...)` and their async forms.
stmt entry_statement(const std::string& s, stack_kind k, const entry_op& op, bool neutral_as_async,
                     bool pushed) {
  const bool is_async = op.c->is_async;
  std::vector<expr> args{op.argument};
  args.insert(args.end(), op.extra.begin(), op.extra.end());
  stack_method m = stack_method::enter_context;
  bool await_it = false;
  const bool as_async_stack =
      k == stack_kind::async || (k == stack_kind::neutral && neutral_as_async);
  if (op.r == role::manager && !pushed) {
    if (k == stack_kind::neutral && !neutral_as_async) {
      await_it = true;
    } else if (as_async_stack && is_async) {
      m = stack_method::enter_async_context;
      await_it = true;
    }
  } else if (op.r == role::callback) {
    m = as_async_stack && is_async ? stack_method::push_async_callback : stack_method::callback;
  } else {
    m = as_async_stack && is_async ? stack_method::push_async_exit : stack_method::push;
  }
  expr call = build::method(s, m, std::move(args));
  return build::run(await_it ? awaited(std::move(call)) : std::move(call));
}

// A manager entry is entered or, one time in four, only pushed (its exit runs, its enter not).
std::vector<stmt> entries(parts& parts, const std::string& s, stack_kind k, std::size_t most,
                          bool sync_only, bool neutral_as_async_too, std::vector<stmt>* as_async) {
  std::vector<stmt> out;
  while (parts.another(out.size(), 0, most)) {
    std::optional<entry_op> op = draw_entry(parts, k, sync_only);
    if (!op) break;
    const bool pushed = op->r == role::manager && parts.pick(4) == 0;
    out.push_back(entry_statement(s, k, *op, false, pushed));
    if (neutral_as_async_too) as_async->push_back(entry_statement(s, k, *op, true, pushed));
  }
  return out;
}

stmt close_statement(const std::string& s, stack_kind k) {
  return build::run(k == stack_kind::sync ? build::method(s, stack_method::close)
                                          : awaited(build::method(s, stack_method::aclose)));
}

stmt stack_with(stack_kind k, block body) {
  return with_stmt({build::item(call(stack_class(k)), "s")}, std::move(body),
                   k != stack_kind::sync);
}

// The statements inside the handler of an unrelated exception, so the stack runs while an
// exception that is not its own is being handled (X15).
block handled(block statements) {
  return {build::try_({build::raise(call("KeyError", {build::str("handled")}))},
                      {build::handler({}, std::nullopt, std::move(statements))})};
}

void append(block& to, block more) {
  to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

// ---------------------------------------------------------------------------------------------

// Both sides checked; a side that does not check is this file's bug.
law_case finish(law_case c) {
  for (auto* side : {&c.lhs, &c.rhs}) {
    ctxmodel::diagnostics errors = ctxmodel::check(*side, "<law>");
    if (errors.empty()) continue;
    std::string message =
        "law '" + c.law + "' built a program that does not check:\n" + ctxmodel::print(*side);
    for (const auto& d : errors) message += d.to_string() + "\n";
    throw std::logic_error(message);
  }
  return c;
}

bool checks(program p) {
  return ctxmodel::check(p, "<law>").empty();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<law_case> exit_stack_is_nested_with(ctxmodel::program base, ctxmodel::choices& source,
                                                  const ctxmodel::generate_limits& limits,
                                                  bool exact) {
  parts parts(source, base, !exact);
  const bool is_async = limits.allow_async && parts.pick(2) == 1;
  auto usable = [&](const candidate& c) {
    return c.r == role::manager && (is_async || !c.is_async) && (!exact || c.transparent);
  };
  const auto managers = parts.where(usable);
  std::vector<std::pair<const candidate*, expr>> entered;
  while (parts.another(entered.size(), 1, 4)) {
    const candidate* c = parts.choose(managers);
    entered.emplace_back(c, parts.manager(*c));
  }
  block body = base.main;
  if (exact) body.push_back(build::raise(call("Exception", {build::str("end of body")})));

  law_case c;
  c.law = std::string(is_async ? "AsyncExitStack" : "ExitStack") + " entering managers = nested " +
          (is_async ? "async with" : "with") +
          (exact ? " (transparent exits, raising body)" : " (any managers and body)");
  c.lhs_title = is_async ? "AsyncExitStack" : "ExitStack";
  c.rhs_title = "nested with";
  c.holds = exact ? relation::equal : relation::equal_without_contexts;
  c.lhs = c.rhs = base;

  block stack_body;
  for (const auto& [m, e] : entered) {
    expr enter = build::method(
        "s", m->is_async ? stack_method::enter_async_context : stack_method::enter_context, {e});
    stack_body.push_back(build::run(m->is_async ? awaited(std::move(enter)) : std::move(enter)));
  }
  append(stack_body, body);
  c.lhs.main = {stack_with(is_async ? stack_kind::async : stack_kind::sync, std::move(stack_body))};

  block nested = std::move(body);
  for (auto it = entered.rbegin(); it != entered.rend(); ++it)
    nested = {with_stmt({build::item(it->second)}, std::move(nested), it->first->is_async)};
  c.rhs.main = std::move(nested);
  if (is_async) {
    // With sync managers only, the nested side is sync code: a StopIteration escaping it stays
    // one, while the stack side is a coroutine that turns it into a RuntimeError.
    rename_class(c.lhs, "StopIteration", "Exception");
    rename_class(c.rhs, "StopIteration", "Exception");
  }
  return finish(std::move(c));
}

std::optional<law_case> pop_all_then_close(ctxmodel::program base, ctxmodel::choices& source,
                                           const ctxmodel::generate_limits& limits) {
  parts parts(source, base, true);
  const auto k = static_cast<stack_kind>(limits.allow_async ? parts.pick(3) : 0);
  block before = entries(parts, "s", k, 4, false, false, nullptr);
  block after = entries(parts, "s", k, 2, false, false, nullptr);

  law_case c;
  c.law = std::string(stack_class(k)) + ": t = s.pop_all(), then closing t = closing s";
  c.lhs_title = "pop_all, close the new stack";
  c.rhs_title = "close the stack";
  c.lhs = c.rhs = base;
  const bool in_handler = parts.pick(2) == 1;
  auto side = [&](block closing) {
    block body = before;
    append(body, in_handler ? handled(std::move(closing)) : std::move(closing));
    append(body, after);
    append(body, base.main);
    return block{stack_with(k, std::move(body))};
  };
  c.lhs.main = side(
      {build::assign("t", build::method("s", stack_method::pop_all)), close_statement("t", k)});
  c.rhs.main = side({close_statement("s", k)});
  return finish(std::move(c));
}

std::optional<law_case> decorated_call(ctxmodel::program base, ctxmodel::choices& source,
                                       const ctxmodel::generate_limits& /*limits*/) {
  // The function: one of the program's (not a generator, no exit signature, no stack
  // parameter) or a new one whose body is the program's top-level statements.
  std::vector<std::size_t> functions;
  for (std::size_t i = 0; i < base.functions.size(); ++i) {
    const auto& f = base.functions[i];
    if (!f.generator && !f.exit_signature &&
        std::none_of(f.params.begin(), f.params.end(),
                     [](const auto& q) { return q.type == param_type::stack; }))
      functions.push_back(i);
  }
  std::size_t which = source.pick(functions.size() + 1);
  if (which == functions.size()) {
    // An async def when the statements await, or when only async managers could decorate it.
    auto decorates = [&](bool is_async) {
      return std::any_of(base.cms.begin(), base.cms.end(),
                         [&](const auto& c) { return c.is_async == is_async; }) ||
             std::any_of(base.functions.begin(), base.functions.end(),
                         [&](const auto& g) { return g.generator && g.is_async == is_async; });
    };
    ctxmodel::function_decl made;
    made.name = "body";
    made.body = base.main;
    made.is_async = ctxmodel::awaits(base.main) || (!decorates(false) && decorates(true));
    base.functions.push_back(std::move(made));
    which = base.functions.size() - 1;
  } else {
    which = functions[which];
  }
  // Exception objects in the decorator's arguments are made once where the function is defined,
  // but again for each `with`: the two sides would differ in identities.
  parts parts(source, base, /*exception_objects=*/false);
  ctxmodel::function_decl& f = base.functions[which];

  // The decorator: the function's own, or a manager of its kind (an acm or an
  // @asynccontextmanager function for an async def), that does not make the program recursive.
  std::vector<expr> decorators;
  if (f.decorator && !makes_exceptions(base, *f.decorator)) decorators.push_back(*f.decorator);
  for (const candidate* m : parts.where([&](const candidate& x) {
         return x.r == role::manager && x.wrapper.empty() && x.is_async == f.is_async &&
                x.name != "suppress" && x.name != "nullcontext" && x.name != "ExitStack";
       })) {
    decorators.push_back(parts.manager(*m));
  }
  std::vector<block> calls;
  while (parts.another(calls.size(), 1, 2))
    calls.push_back({f.is_async ? await_call(f.name, parts.arguments(f.params))
                                : build::call_function(f.name, parts.arguments(f.params))});
  const bool in_handler = parts.pick(2) == 1;
  for (std::size_t tries = decorators.size(); tries > 0; --tries) {
    const std::size_t d = parts.pick(decorators.size());
    law_case c;
    c.law = "a decorated call = the undecorated call inside " +
            std::string(f.is_async ? "async with" : "with");
    c.lhs_title = "decorated";
    c.rhs_title = "inside with";
    c.lhs = c.rhs = base;
    c.lhs.functions[which].decorator = decorators[d];
    c.rhs.functions[which].decorator.reset();
    block lhs_main, rhs_main;
    for (const block& one : calls) {
      append(lhs_main, one);
      rhs_main.push_back(with_stmt({build::item(decorators[d])}, one, f.is_async));
    }
    if (in_handler) {
      lhs_main = handled(std::move(lhs_main));
      rhs_main = handled(std::move(rhs_main));
    }
    c.lhs.main = std::move(lhs_main);
    c.rhs.main = std::move(rhs_main);
    if (checks(c.lhs)) return finish(std::move(c));
    decorators.erase(decorators.begin() + static_cast<std::ptrdiff_t>(d));
  }
  return std::nullopt;
}

std::optional<law_case> transparent_managers(ctxmodel::program base, ctxmodel::choices& source,
                                             const ctxmodel::generate_limits& /*limits*/) {
  parts parts(source, base, true);
  law_case c;
  c.law =
      "with nullcontext(V) / suppress() / async with nullcontext(V) around statements changes "
      "nothing";
  c.lhs_title = "as generated";
  c.rhs_title = "wrapped";
  c.lhs = base;
  c.rhs = base;
  // The blocks that can be wrapped, in program order, each with whether it is async code that
  // CPython already runs as a coroutine (so `async with` there does not turn a plain call into
  // a coroutine, where PEP 479 would wrap an escaping StopIteration). The main block is one only
  // when it awaits in Python: a NeutralExitStack entering a sync manager awaits in the language
  // but is a plain call in CPython (ctxmodel::python_awaits).
  auto wrappable = [](program& p) {
    std::vector<std::pair<block*, bool>> out;
    auto add = [&](block& top, bool async_ok) {
      for_each_block(top, [&](block& b) { out.emplace_back(&b, async_ok); });
    };
    for (auto& cm : p.cms)
      for (auto* m : {&cm.enter, &cm.exit, &cm.close})
        if (*m) add(**m, cm.is_async);
    for (auto& f : p.functions) add(f.body, f.is_async);
    add(p.main, ctxmodel::python_awaits(p.main));
    return out;
  };
  for (std::size_t wraps = 0; parts.another(wraps, 1, 3); ++wraps) {
    program attempt = c.rhs;
    auto targets = wrappable(attempt);
    auto [b, async_ok] = targets[parts.pick(targets.size())];
    const std::size_t from = parts.pick(b->size());
    const std::size_t form = parts.pick(async_ok ? 3 : 2);
    expr manager = form == 1       ? call("suppress")
                   : parts.pick(2) ? call("nullcontext", {parts.value()})
                                   : call("nullcontext");
    block wrapped(b->begin() + static_cast<std::ptrdiff_t>(from), b->end());
    b->erase(b->begin() + static_cast<std::ptrdiff_t>(from), b->end());
    b->push_back(with_stmt({build::item(std::move(manager))}, std::move(wrapped), form == 2));
    // A wrap can hide an enter's final return from the checker's static typing (what `with
    // ... as` binds): such a wrap is skipped, the law is about run time.
    if (checks(attempt)) c.rhs = std::move(attempt);
  }
  return finish(std::move(c));
}

std::optional<law_case> async_stack_with_sync_entries(ctxmodel::program base,
                                                      ctxmodel::choices& source,
                                                      const ctxmodel::generate_limits& /*limits*/) {
  rename_class(base, "StopIteration", "Exception");
  parts parts(source, base, true);
  block ops = entries(parts, "s", stack_kind::sync, 4, true, false, nullptr);
  const bool close = parts.pick(2) == 1;
  const bool in_handler = close && parts.pick(2) == 1;
  law_case c;
  c.law = "AsyncExitStack with sync entries only = ExitStack";
  c.lhs_title = "ExitStack";
  c.rhs_title = "AsyncExitStack";
  c.lhs = c.rhs = base;
  auto side = [&](stack_kind k) {
    block body = ops;
    append(body, base.main);
    if (close) {
      block closing{close_statement("s", k)};
      append(body, in_handler ? handled(std::move(closing)) : std::move(closing));
    }
    return block{stack_with(k, std::move(body))};
  };
  c.lhs.main = side(stack_kind::sync);
  c.rhs.main = side(stack_kind::async);
  rename_class(c.lhs, "StopIteration", "Exception");
  rename_class(c.rhs, "StopIteration", "Exception");
  return finish(std::move(c));
}

std::optional<law_case> neutral_stack_is_async_stack(ctxmodel::program base,
                                                     ctxmodel::choices& source,
                                                     const ctxmodel::generate_limits& limits) {
  if (!limits.allow_async) return std::nullopt;
  parts parts(source, base, true);
  std::vector<stmt> as_async;
  block ops = entries(parts, "s", stack_kind::neutral, 5, false, true, &as_async);
  const std::size_t ending = parts.pick(3);  // 0 nothing, 1 aclose, 2 pop_all then aclose
  law_case c;
  c.law = "NeutralExitStack = AsyncExitStack with each entry's own method";
  c.lhs_title = "NeutralExitStack";
  c.rhs_title = "AsyncExitStack";
  c.lhs = c.rhs = base;
  auto side = [&](stack_kind k, block body) {
    append(body, base.main);
    if (ending == 1) body.push_back(close_statement("s", stack_kind::async));
    if (ending == 2) {
      body.push_back(build::assign("t", build::method("s", stack_method::pop_all)));
      body.push_back(close_statement("t", stack_kind::async));
    }
    return block{stack_with(k, std::move(body))};
  };
  c.lhs.main = side(stack_kind::neutral, std::move(ops));
  c.rhs.main = side(stack_kind::async, std::move(as_async));
  return finish(std::move(c));
}

}  // namespace ctxprop
