// ctxmodel/program.hpp: the program model shared by the runner, the oracle, the fuzzer and the
// properties. A program is a small, statically checked, Python-shaped operation sequence over
// context managers (docs/language.md). One model, never forked: every producer (parser, fuzz
// decoder, RapidCheck generator) builds these structs, every consumer (printer, checker,
// runner, oracle, exporter) reads them.
//
//   ctxmodel::program p = ctxmodel::parse_file("corpus/exit_stack/test_exit_raise.ctx");
//   std::string text = ctxmodel::print(p);          // parse(print(p)) == p
//
// Source positions are carried for error messages and never take part in equality.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ctxmodel {

// Where a node came from (1-based). Equality ignores positions: two programs are equal when
// they mean the same thing, wherever they were written.
struct source_pos {
  int line = 0;
  int column = 0;
  friend bool operator==(const source_pos&, const source_pos&) { return true; }
};

// ---------------------------------------------------------------------------------------------
// Expressions

struct expr;

struct none_literal {
  bool operator==(const none_literal&) const = default;
};
struct bool_literal {
  bool value = false;
  bool operator==(const bool_literal&) const = default;
};
struct int_literal {
  std::int64_t value = 0;
  bool operator==(const int_literal&) const = default;
};
struct string_literal {
  std::string value;
  bool operator==(const string_literal&) const = default;
};
// A variable, parameter, `self`, class name or function name.
struct name_ref {
  std::string name;
  bool operator==(const name_ref&) const = default;
};

// What a call expression constructs or calls; filled in by the checker (`check`), which is
// the one place names are resolved. The parser leaves `unresolved`.
enum class call_kind : std::uint8_t {
  unresolved,
  new_exception,   // CLASS() / CLASS(arg)
  new_cm,          // CMNAME(args...)
  new_exit_stack,  // ExitStack()
  new_suppress,    // suppress(classes...)  (a tuple argument is a `tuple_expr`)
  new_nullcontext,
  new_closing,
  call_function,  // NAME(args...) of a declared non-exit function
  new_generator,  // NAME(args...) of a @contextmanager function: a generator cm
  sleep,          // sleep(): only in `await sleep()` (asyncio.sleep(0) / ctxlib::yield_now())
  new_async_exit_stack,    // AsyncExitStack()
  new_aclosing,            // aclosing(X): X an instance of an acm that declares aclose
  new_neutral_exit_stack,  // NeutralExitStack() (asyncstdlib's async-neutral stack)
};

struct call_expr {
  std::string callee;
  std::vector<expr> args;
  call_kind kind = call_kind::unresolved;
  bool operator==(const call_expr&) const = default;
};

// A parenthesised tuple of classes, as in `suppress((KeyError, IndexError))`.
struct tuple_expr {
  std::vector<expr> items;
  bool operator==(const tuple_expr&) const = default;
};

enum class stack_method : std::uint8_t {
  enter_context,
  push,
  callback,
  pop_all,
  close,
  // AsyncExitStack's own: `await s.enter_async_context(X)`, `s.push_async_exit(X)`,
  // `s.push_async_callback(F, ...)`, `await s.aclose()`.
  enter_async_context,
  push_async_exit,
  push_async_callback,
  aclose,
};

inline const char* method_name(stack_method m) {
  static const char* const names[] = {"enter_context",   "push",
                                      "callback",        "pop_all",
                                      "close",           "enter_async_context",
                                      "push_async_exit", "push_async_callback",
                                      "aclose"};
  return names[static_cast<int>(m)];
}

// `NAME.method(args...)` on an exit stack.
struct method_call {
  std::string object;
  stack_method method = stack_method::close;
  std::vector<expr> args;
  bool awaited = false;  // `await NAME.method(...)`
  // On a NeutralExitStack, set by the checker: the entry is async (an acm, an async def), so
  // CPython's AsyncExitStack takes it with enter_async_context / push_async_exit /
  // push_async_callback.
  bool async_entry = false;
  bool operator==(const method_call&) const = default;
};

using expr_node = std::variant<none_literal, bool_literal, int_literal, string_literal, name_ref,
                               call_expr, tuple_expr, method_call>;

struct expr {
  expr_node node;
  source_pos at;
  bool operator==(const expr&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Statements

struct stmt;
using block = std::vector<stmt>;

struct pass_stmt {
  bool operator==(const pass_stmt&) const = default;
};
struct mark_stmt {
  std::vector<expr> values;
  bool operator==(const mark_stmt&) const = default;
};
struct assign_stmt {
  std::string target;
  expr value;
  bool operator==(const assign_stmt&) const = default;
};
enum class exception_attribute : std::uint8_t { context, cause, suppress_context };
// `NAME.__context__ = EXPR` and friends.
struct set_attribute_stmt {
  std::string target;
  exception_attribute attribute = exception_attribute::context;
  expr value;
  bool operator==(const set_attribute_stmt&) const = default;
};
// `raise`, `raise X`, `raise X from Y`.
struct raise_stmt {
  std::optional<expr> exception;  // empty: bare re-raise
  std::optional<expr> cause;      // present only with `from`
  bool operator==(const raise_stmt&) const = default;
};
struct return_stmt {
  std::optional<expr> value;
  bool operator==(const return_stmt&) const = default;
};
struct expr_stmt {
  expr value;  // a method_call or a call_function call_expr
  bool operator==(const expr_stmt&) const = default;
};
struct with_item {
  expr manager;
  std::optional<std::string> as;
  bool operator==(const with_item&) const = default;
};
struct with_stmt {
  std::vector<with_item> items;  // several items nest, left to right (W3)
  block body;
  bool is_async = false;  // `async with` (W11)
  bool operator==(const with_stmt&) const = default;
};
struct except_clause {
  std::vector<std::string> classes;  // empty: bare `except:`
  bool tuple = false;                // written as `except (A, B):` (even with one class)
  std::optional<std::string> as;
  block body;
  source_pos at;
  bool operator==(const except_clause&) const = default;
};
struct try_stmt {
  block body;
  std::vector<except_clause> handlers;
  std::optional<block> final_block;
  bool operator==(const try_stmt&) const = default;
};

// `yield` / `yield EXPR`: only in @contextmanager functions.
struct yield_stmt {
  std::optional<expr> value;
  bool operator==(const yield_stmt&) const = default;
};

// `if NAME:` / `if not NAME:` with an optional `else:`; Python truthiness of the named value.
struct if_stmt {
  std::string name;
  bool negated = false;  // `if not NAME:`
  block then_block;
  std::optional<block> else_block;
  source_pos name_at;
  bool operator==(const if_stmt&) const = default;
};

// `await NAME(ARGS)`: awaits a call of an async function, or `await sleep()` (a real
// suspension point). Only in async code: top level, async defs, acm members.
struct await_stmt {
  expr call;  // a call_expr of kind call_function (an async def) or sleep
  bool operator==(const await_stmt&) const = default;
};

using stmt_node =
    std::variant<pass_stmt, mark_stmt, assign_stmt, set_attribute_stmt, raise_stmt, return_stmt,
                 expr_stmt, with_stmt, try_stmt, if_stmt, yield_stmt, await_stmt>;

struct stmt {
  stmt_node node;
  source_pos at;
  bool operator==(const stmt&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Declarations

enum class param_type : std::uint8_t { value, exception, stack };

struct param {
  std::string name;
  param_type type = param_type::value;
  bool operator==(const param&) const = default;
};

// `class NAME(BASE)`: an exception class.
struct class_decl {
  std::string name;
  std::string base;
  source_pos at;
  bool operator==(const class_decl&) const = default;
};

// `cm NAME(PARAMS): enter / exit(EXC) / close`, or with `is_async` `acm NAME(PARAMS):` whose
// members are written `aenter` / `aexit(EXC)` / `aclose` (async methods: they may await).
struct cm_decl {
  std::string name;
  std::vector<param> params;
  std::optional<block> enter;
  std::string exit_param;  // name bound to the received exception; meaningful when exit is set
  std::optional<block> exit;
  std::optional<block> close;
  source_pos at;
  bool is_async = false;  // `acm`
  bool operator==(const cm_decl&) const = default;
};

// `def NAME(PARAMS):` or, with `exit_signature`, `def NAME(*EXC):` (an exit function: its only
// parameter receives the exception, like __exit__). Above it, `@contextmanager` (`generator`:
// calling it makes a generator cm, its body yields) or `@NAME(ARGS)` (`decorator`: a call
// expression of a cm or @contextmanager function, evaluated once at the definition; each call of
// the function runs inside that cm, as Python's ContextDecorator does).
struct function_decl {
  std::string name;
  std::vector<param> params;
  bool exit_signature = false;
  block body;
  source_pos at;
  bool generator = false;
  std::optional<expr> decorator;
  bool is_async = false;  // `async def`
  bool operator==(const function_decl&) const = default;
};

struct program {
  std::vector<class_decl> classes;  // in declaration order (bases first)
  std::vector<cm_decl> cms;
  std::vector<function_decl> functions;
  block main;  // the top-level statements
  bool operator==(const program&) const = default;
};

// Whether CPython awaits this call. On a NeutralExitStack, whose reference is CPython's
// AsyncExitStack, entering a sync manager is AsyncExitStack.enter_context: a plain call, though
// the program awaits the neutral stack's enter_context.
inline bool python_awaits(const method_call& m) {
  return m.awaited && (m.async_entry || m.method != stack_method::enter_context);
}

// Whether the Python code of a statement (a block) awaits, anywhere in it (nested blocks
// included): an `await`, an `async with`, or a stack method CPython awaits. Top-level code that
// awaits runs as a coroutine, and only then does PEP 479 turn a StopIteration escaping it into
// RuntimeError; the oracle runs a statement that does not await without a coroutine.
bool python_awaits(const stmt& s);
bool python_awaits(const block& b);

// Whether the program's code awaits, anywhere in the statement (the block), as the language
// reads it: an `await`, an `async with`, or an awaited stack method. Code that does must be
// async (an async def, an acm method, or top level). It differs from python_awaits only where a
// NeutralExitStack enters a sync manager.
bool awaits(const stmt& s);
bool awaits(const block& b);

}  // namespace ctxmodel
