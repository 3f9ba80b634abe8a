// parser.cpp: recursive descent from tokens to the program tree (docs/language.md), plus load().
//
// The parser stops at the first error: it throws a private `parse_failure` that parse() catches,
// so every rule can simply call fail() and nothing half-built escapes. Depth is capped
// (detail::max_nesting) for blocks and for expressions, so hostile input cannot exhaust the stack.
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "ctxmodel/parse.hpp"
#include "lexer.hpp"
#include "names.hpp"

namespace ctxmodel {

namespace {

using detail::describe;
using detail::token;
using detail::token_kind;

struct parse_failure {};

class parser {
 public:
  parser(std::vector<token> tokens, std::string_view file)
      : toks_(std::move(tokens)), file_(file) {}

  program run() {
    program p;
    skip_stray_newlines();
    // Declarations first, then statements.
    for (;;) {
      const token& t = peek();
      if (t.is_keyword("class"))
        p.classes.push_back(parse_class());
      else if (t.is_keyword("cm") || t.is_keyword("acm"))
        p.cms.push_back(parse_cm());
      else if (t.is_keyword("def") || (t.is_keyword("async") && peek(1).is_keyword("def")))
        p.functions.push_back(parse_def());
      else if (t.is_op('@'))
        p.functions.push_back(parse_decorated());
      else
        break;
    }
    if (peek().kind == token_kind::end)
      fail(peek(), "expected at least one statement, found end of file");
    while (peek().kind != token_kind::end) p.main.push_back(parse_statement(0));
    return p;
  }

  diagnostic error;

 private:
  // ---- tokens
  const token& peek(std::size_t ahead = 0) const {
    const std::size_t i = pos_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  const token& next() {
    const token& t = peek();
    if (t.kind == token_kind::error) fail_at(t, t.text);
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  [[noreturn]] void fail_at(const token& t, std::string message) {
    error = diagnostic{file_, t.line, t.column, std::move(message)};
    throw parse_failure{};
  }
  // A lexical error always wins: it is the first problem at that point of the text.
  [[noreturn]] void fail(const token& t, std::string message) {
    if (t.kind == token_kind::error) fail_at(t, t.text);
    fail_at(t, std::move(message));
  }
  // "expected X, found Y" at the current token.
  [[noreturn]] void expected(std::string what) {
    fail(peek(), "expected " + what + ", found " + describe(peek()));
  }
  void expect_op(char c, std::string_view context) {
    if (!peek().is_op(c)) expected(std::string("'") + c + "' " + std::string(context));
    next();
  }
  void expect_newline(std::string_view after) {
    if (peek().kind != token_kind::newline) expected("newline after " + std::string(after));
    next();
  }
  std::string expect_name(std::string_view what) {
    if (peek().kind != token_kind::name) expected(std::string(what));
    return next().text;
  }
  static source_pos pos_of(const token& t) { return source_pos{t.line, t.column}; }

  // The lexer can only start with an INDENT if the first line is indented.
  void skip_stray_newlines() {
    if (peek().kind == token_kind::indent) fail(peek(), "unexpected indent");
  }

  // ---- blocks
  // After the header's ':' : NEWLINE INDENT statement+ DEDENT. `level` is the nesting level of
  // the block being opened (top-level statements are level 0).
  template <class Body>
  void suite(std::string_view header, const token& header_tok, int level, Body&& body) {
    if (peek().kind != token_kind::newline)
      expected("newline after ':' (a block starts on the next line)");
    next();
    if (peek().kind != token_kind::indent)
      expected("an indented block after " + std::string(header) + " on line " +
               std::to_string(header_tok.line));
    if (level > detail::max_nesting)
      fail(header_tok, "blocks nested too deeply (more than " +
                           std::to_string(detail::max_nesting) + " levels)");
    next();
    while (peek().kind != token_kind::dedent && peek().kind != token_kind::end) body();
    if (peek().kind == token_kind::dedent) next();
  }

  block parse_block(std::string_view header, const token& header_tok, int level) {
    block b;
    suite(header, header_tok, level, [&] { b.push_back(parse_statement(level)); });
    return b;
  }

  // ---- declarations
  class_decl parse_class() {
    next();  // class
    class_decl d;
    d.at = pos_of(peek());
    d.name = expect_name("a class name after 'class'");
    expect_op('(', "after class name '" + d.name + "' (class NAME(BASE))");
    d.base = expect_name("a base class name");
    expect_op(')', "after base class name");
    if (peek().is_op(':'))
      fail(peek(), "expected newline after class declaration, found ':' (a class has no body)");
    expect_newline("class declaration");
    return d;
  }

  std::vector<param> parse_params(std::string_view owner) {
    std::vector<param> ps;
    while (!peek().is_op(')')) {
      param p;
      p.name = expect_name("a parameter name or ')' in parameters of '" + std::string(owner) + "'");
      if (peek().is_op(':')) {
        next();
        if (peek().kind == token_kind::name && peek().text == "exception")
          p.type = param_type::exception;
        else if (peek().kind == token_kind::name && peek().text == "value")
          p.type = param_type::value;
        else if (peek().kind == token_kind::name && peek().text == "stack")
          p.type = param_type::stack;
        else
          expected("parameter type 'exception', 'stack' or 'value'");
        next();
      }
      ps.push_back(std::move(p));
      if (peek().is_op(',')) {
        next();
        continue;
      }
      if (!peek().is_op(')')) expected("',' or ')' in parameters of '" + std::string(owner) + "'");
    }
    next();  // )
    return ps;
  }

  cm_decl parse_cm() {
    const token& cm_tok = next();
    cm_decl d;
    d.is_async = cm_tok.text == "acm";
    const std::string kw = cm_tok.text;
    // An acm's members are the async methods aenter / aexit / aclose.
    const std::string enter_kw = d.is_async ? "aenter" : "enter";
    const std::string exit_kw = d.is_async ? "aexit" : "exit";
    const std::string close_kw = d.is_async ? "aclose" : "close";
    d.at = pos_of(peek());
    d.name = expect_name("a cm name after '" + kw + "'");
    if (peek().is_op('(')) {
      next();
      d.params = parse_params(d.name);
    }
    if (!peek().is_op(':')) expected("':' after cm header");
    next();
    bool seen_pass = false;
    suite("'" + kw + " " + d.name + "'", cm_tok, 1, [&] {
      const token& t = peek();
      if (t.is_keyword(enter_kw)) {
        if (d.enter) fail(t, "duplicate '" + enter_kw + "' in " + kw + " '" + d.name + "'");
        next();
        expect_op(':', "after '" + enter_kw + "'");
        d.enter = parse_block("'" + enter_kw + "'", t, 2);
      } else if (t.is_keyword(exit_kw)) {
        if (d.exit) fail(t, "duplicate '" + exit_kw + "' in " + kw + " '" + d.name + "'");
        next();
        expect_op('(', "after '" + exit_kw + "' (" + exit_kw + "(NAME):)");
        d.exit_param = expect_name("the exception parameter name in '" + exit_kw + "(...)'");
        expect_op(')', "after the exit parameter");
        expect_op(':', "after '" + exit_kw + "(" + d.exit_param + ")'");
        d.exit = parse_block("'" + exit_kw + "'", t, 2);
      } else if (t.is_keyword(close_kw)) {
        if (d.close) fail(t, "duplicate '" + close_kw + "' in " + kw + " '" + d.name + "'");
        next();
        expect_op(':', "after '" + close_kw + "'");
        d.close = parse_block("'" + close_kw + "'", t, 2);
      } else if (t.is_keyword("pass")) {
        if (seen_pass) fail(t, "duplicate 'pass' in " + kw + " '" + d.name + "'");
        seen_pass = true;
        next();
        expect_newline("'pass'");
      } else {
        expected("'" + enter_kw + ":', '" + exit_kw + "(NAME):', '" + close_kw +
                 ":' or 'pass' in " + kw + " '" + d.name + "'");
      }
    });
    return d;
  }

  function_decl parse_def() {
    function_decl d;
    if (peek().is_keyword("async")) {
      next();
      d.is_async = true;
    }
    const token& def_tok = next();
    d.at = pos_of(peek());
    d.name = expect_name("a function name after 'def'");
    expect_op('(', "after function name '" + d.name + "'");
    if (peek().is_op('*')) {
      next();
      d.exit_signature = true;
      d.params.push_back(
          param{expect_name("the exception parameter name after '*'"), param_type::value});
      expect_op(')', "after the exit function's parameter (def NAME(*EXC):)");
    } else {
      d.params = parse_params(d.name);
    }
    expect_op(':', "after function header");
    d.body = parse_block("'def " + d.name + "'", def_tok, 1);
    return d;
  }

  // `@contextmanager` or `@NAME(ARGS)` on its own line, then the `def`.
  function_decl parse_decorated() {
    const token& at_tok = next();  // @
    bool generator = false;
    bool async_generator = false;
    std::optional<expr> decorator;
    if (peek().kind == token_kind::name &&
        (peek().text == "contextmanager" || peek().text == "asynccontextmanager")) {
      const token& name_tok = next();
      async_generator = name_tok.text == "asynccontextmanager";
      if (peek().is_op('('))
        fail(peek(), "'@" + name_tok.text + "' takes no arguments (write @" + name_tok.text + ")");
      generator = true;
    } else {
      const token& name_tok = peek();
      call_expr c;
      c.callee = expect_name(
          "a decorator after '@' (@contextmanager, @asynccontextmanager or @NAME(ARGS))");
      expect_op('(', "after decorator '" + c.callee +
                         "' (@NAME(ARGS): the cm is made once, where the function is defined)");
      c.args = parse_list(')', "in the arguments of '" + c.callee + "'", 1);
      decorator = expr{std::move(c), pos_of(name_tok)};
    }
    expect_newline("the decorator");
    if (peek().is_op('@'))
      fail(peek(), "a function takes one decorator (@contextmanager or @NAME(ARGS))");
    if (!peek().is_keyword("def") && !(peek().is_keyword("async") && peek(1).is_keyword("def")))
      expected("'def' after the decorator on line " + std::to_string(at_tok.line));
    const token& def_tok = peek();
    function_decl d = parse_def();
    if (generator && async_generator != d.is_async) {
      fail(def_tok, async_generator
                        ? "'@asynccontextmanager' decorates an 'async def' (write async def)"
                        : "'@contextmanager' cannot decorate an 'async def' (use "
                          "@asynccontextmanager)");
    }
    d.generator = generator;
    d.decorator = std::move(decorator);
    return d;
  }

  // ---- statements
  stmt parse_statement(int level) {
    const token& t = peek();
    stmt s;
    s.at = pos_of(t);
    switch (t.kind) {
      case token_kind::indent:
        fail(t, "unexpected indent");
      case token_kind::error:
        fail(t, t.text);
      case token_kind::keyword:
        break;
      case token_kind::name:
        s.node = parse_name_statement();
        return s;
      case token_kind::op:
        if (t.is_op('@'))
          fail(t, level == 0 ? "declarations ('@...') must come before the first statement"
                             : "declarations ('@...') are only allowed at top level");
        expected("a statement");
      default:
        expected("a statement");
    }
    const std::string& k = t.text;
    if (k == "pass") {
      next();
      expect_newline("'pass'");
      s.node = pass_stmt{};
    } else if (k == "mark") {
      next();
      mark_stmt m;
      m.values.push_back(parse_expr("after 'mark'", 1));
      while (peek().is_op(',')) {
        next();
        m.values.push_back(parse_expr("after ',' in 'mark'", 1));
      }
      if (peek().kind != token_kind::newline) expected("',' or newline after a 'mark' value");
      next();
      s.node = std::move(m);
    } else if (k == "raise") {
      next();
      raise_stmt r;
      if (peek().kind != token_kind::newline) {
        r.exception = parse_expr("after 'raise'", 1);
        if (peek().is_keyword("from")) {
          next();
          r.cause = parse_expr("after 'from'", 1);
          if (peek().kind != token_kind::newline) expected("newline after the cause of 'raise'");
        } else if (peek().kind != token_kind::newline) {
          expected("'from' or newline after the operand of 'raise'");
        }
      }
      next();
      s.node = std::move(r);
    } else if (k == "return") {
      next();
      return_stmt r;
      if (peek().kind != token_kind::newline) {
        r.value = parse_expr("after 'return'", 1);
        if (peek().kind != token_kind::newline) expected("newline after the 'return' value");
      }
      next();
      s.node = std::move(r);
    } else if (k == "yield") {
      next();
      yield_stmt y;
      if (peek().kind != token_kind::newline) {
        y.value = parse_expr("after 'yield'", 1);
        if (peek().kind != token_kind::newline) expected("newline after the 'yield' value");
      }
      next();
      s.node = std::move(y);
    } else if (k == "with") {
      s.node = parse_with(level);
    } else if (k == "async" && peek(1).is_keyword("with")) {
      next();
      with_stmt w = parse_with(level);
      w.is_async = true;
      s.node = std::move(w);
    } else if (k == "await") {
      const token& callee = peek(1);
      if (callee.kind == token_kind::name && peek(2).is_op('.')) {
        s.node = expr_stmt{parse_expr("", 1)};  // an awaited stack method
      } else {
        next();
        if (callee.kind != token_kind::name || !peek(1).is_op('('))
          expected("a call after 'await' (await NAME(ARGS) or await sleep())");
        s.node = await_stmt{parse_expr("after 'await'", 1)};
      }
      if (peek().kind != token_kind::newline) expected("newline after the awaited call");
      next();
    } else if (k == "try") {
      s.node = parse_try(level);
    } else if (k == "if") {
      s.node = parse_if(level);
    } else if (k == "except" || k == "finally") {
      fail(t, "'" + k + "' without a matching 'try' at this indentation");
    } else if (k == "else") {
      fail(t, "'else' without a matching 'if' at this indentation");
    } else if (k == "class" || k == "cm" || k == "acm" || k == "def" || k == "async") {
      fail(t, level == 0 ? "declarations ('" + k + "') must come before the first statement"
                         : "declarations ('" + k + "') are only allowed at top level");
    } else if (k == "enter" || k == "exit" || k == "close" || k == "aenter" || k == "aexit" ||
               k == "aclose") {
      fail(t, "expected a statement, found '" + k + "' ('" + k +
                  "' is only allowed as a member of a cm declaration)");
    } else {
      expected("a statement");
    }
    return s;
  }

  // NAME = EXPR | NAME.__attr__ = EXPR | NAME.method(...) | NAME(...)
  stmt_node parse_name_statement() {
    const token& name_tok = peek();
    const token& after = peek(1);
    if (after.is_op('=')) {
      std::string target = next().text;
      next();  // =
      assign_stmt a{std::move(target), parse_expr("after '='", 1)};
      if (peek().kind != token_kind::newline) expected("newline after the assigned value");
      next();
      return a;
    }
    if (after.is_op('.')) {
      const token& attr = peek(2);
      if (attr.kind == token_kind::name &&
          (attr.text == "__context__" || attr.text == "__cause__" ||
           attr.text == "__suppress_context__")) {
        set_attribute_stmt sa;
        sa.target = next().text;
        next();  // .
        const std::string attr_name = next().text;
        sa.attribute = attr_name == "__context__" ? exception_attribute::context
                       : attr_name == "__cause__" ? exception_attribute::cause
                                                  : exception_attribute::suppress_context;
        expect_op('=', "after '" + sa.target + "." + attr_name + "'");
        sa.value = parse_expr("after '='", 1);
        if (peek().kind != token_kind::newline) expected("newline after the assigned value");
        next();
        return sa;
      }
    }
    if (after.is_op('.') || after.is_op('(')) {
      expr e = parse_expr("", 1);
      if (peek().kind != token_kind::newline) expected("newline after the call");
      next();
      return expr_stmt{std::move(e)};
    }
    if (detail::is_python_only_keyword(name_tok.text))
      fail(name_tok, "expected a statement, found '" + name_tok.text +
                         "' (a Python statement that is not part of the language)");
    next();
    expected("'=', '.' or '(' after '" + name_tok.text + "'");
  }

  with_stmt parse_with(int level) {
    const token& with_tok = next();
    with_stmt w;
    for (;;) {
      with_item item{parse_expr("after 'with'", 1), std::nullopt};
      if (peek().is_keyword("as")) {
        next();
        item.as = expect_name("a name after 'as'");
      }
      w.items.push_back(std::move(item));
      if (peek().is_op(',')) {
        next();
        continue;
      }
      if (!peek().is_op(':')) expected("':' after 'with' items");
      next();
      break;
    }
    w.body = parse_block("'with'", with_tok, level + 1);
    return w;
  }

  try_stmt parse_try(int level) {
    const token& try_tok = next();
    try_stmt t;
    expect_op(':', "after 'try'");
    t.body = parse_block("'try'", try_tok, level + 1);
    while (peek().is_keyword("except")) {
      const token& ex_tok = next();
      except_clause c;
      c.at = pos_of(ex_tok);
      if (peek().is_op('(')) {
        next();
        c.tuple = true;
        for (;;) {
          c.classes.push_back(expect_name("an exception class name in 'except (...)'"));
          if (peek().is_op(',')) {
            next();
            if (peek().is_op(')')) break;
            continue;
          }
          if (!peek().is_op(')')) expected("',' or ')' in 'except (...)'");
          break;
        }
        next();  // )
      } else if (peek().kind == token_kind::name) {
        c.classes.push_back(next().text);
      }
      if (peek().is_keyword("as")) {
        next();
        c.as = expect_name("a name after 'as'");
      }
      if (!peek().is_op(':'))
        expected(c.classes.empty() && !c.as ? "an exception class or ':' after 'except'"
                                            : "':' after 'except' clause");
      next();
      c.body = parse_block("'except'", ex_tok, level + 1);
      t.handlers.push_back(std::move(c));
    }
    if (peek().is_keyword("finally")) {
      const token& fin_tok = next();
      expect_op(':', "after 'finally'");
      t.final_block = parse_block("'finally'", fin_tok, level + 1);
    }
    if (t.handlers.empty() && !t.final_block)
      expected("'except' or 'finally' after the 'try' block");
    return t;
  }

  // `if [not] NAME:` BLOCK [`else:` BLOCK]
  if_stmt parse_if(int level) {
    const token& if_tok = next();
    if_stmt i;
    if (peek().is_keyword("not")) {
      next();
      i.negated = true;
    }
    i.name_at = pos_of(peek());
    i.name = expect_name(i.negated ? "a name after 'if not' (if not NAME:)"
                                   : "a name or 'not' after 'if' (if NAME: / if not NAME:)");
    if (!peek().is_op(':'))
      expected("':' after 'if " + std::string(i.negated ? "not " : "") + i.name +
               "' (the condition is a single name)");
    next();
    i.then_block = parse_block("'if'", if_tok, level + 1);
    if (peek().is_keyword("else")) {
      const token& else_tok = next();
      expect_op(':', "after 'else'");
      i.else_block = parse_block("'else'", else_tok, level + 1);
    }
    return i;
  }

  // ---- expressions
  // `context` completes "expected an expression <context>"; `depth` counts nesting (1 at top).
  expr parse_expr(std::string_view context, int depth) {
    const token& t = peek();
    if (depth > detail::max_nesting)
      fail(t, "expression nested too deeply (more than " + std::to_string(detail::max_nesting) +
                  " levels)");
    expr e;
    e.at = pos_of(t);
    if (t.is_keyword("await")) {
      // `await NAME.method(...)`: the awaited methods of an AsyncExitStack.
      next();
      if (peek().kind != token_kind::name || !peek(1).is_op('.'))
        expected("an exit-stack method call after 'await' (await NAME.method(...))");
      e = parse_expr(context, depth);
      std::get<method_call>(e.node).awaited = true;
      return e;
    }
    switch (t.kind) {
      case token_kind::keyword:
        if (t.text == "None")
          e.node = none_literal{};
        else if (t.text == "True")
          e.node = bool_literal{true};
        else if (t.text == "False")
          e.node = bool_literal{false};
        else
          expected("an expression" + spaced(context));
        next();
        return e;
      case token_kind::integer:
        e.node = int_literal{next().value};
        return e;
      case token_kind::string:
        e.node = string_literal{next().text};
        return e;
      case token_kind::op:
        if (t.is_op('(')) {
          next();
          tuple_expr tup;
          tup.items = parse_list(')', "in a tuple", depth);
          e.node = std::move(tup);
          return e;
        }
        expected("an expression" + spaced(context));
      case token_kind::name:
        break;
      default:
        expected("an expression" + spaced(context));
    }
    std::string name = next().text;
    if (peek().is_op('(')) {
      next();
      call_expr c;
      c.callee = std::move(name);
      c.args = parse_list(')', "in the arguments of '" + c.callee + "'", depth);
      e.node = std::move(c);
      return e;
    }
    if (peek().is_op('.')) {
      next();
      const token& m = peek();
      method_call mc;
      mc.object = std::move(name);
      if (m.kind == token_kind::name && m.text == "enter_context")
        mc.method = stack_method::enter_context;
      else if (m.kind == token_kind::name && m.text == "push")
        mc.method = stack_method::push;
      else if (m.kind == token_kind::name && m.text == "callback")
        mc.method = stack_method::callback;
      else if (m.kind == token_kind::name && m.text == "pop_all")
        mc.method = stack_method::pop_all;
      else if (m.is_keyword("close"))
        mc.method = stack_method::close;
      else if (m.kind == token_kind::name && m.text == "enter_async_context")
        mc.method = stack_method::enter_async_context;
      else if (m.kind == token_kind::name && m.text == "push_async_exit")
        mc.method = stack_method::push_async_exit;
      else if (m.kind == token_kind::name && m.text == "push_async_callback")
        mc.method = stack_method::push_async_callback;
      else if (m.is_keyword("aclose"))
        mc.method = stack_method::aclose;
      else
        expected(
            "an exit-stack method (enter_context, push, callback, pop_all, close, "
            "enter_async_context, push_async_exit, push_async_callback, aclose) after '" +
            mc.object + ".'");
      const std::string method_name = next().text;
      expect_op('(', "after '" + mc.object + "." + method_name + "'");
      mc.args = parse_list(')', "in the arguments of '" + method_name + "'", depth);
      e.node = std::move(mc);
      return e;
    }
    e.node = name_ref{std::move(name)};
    return e;
  }

  static std::string spaced(std::string_view context) {
    return context.empty() ? std::string() : " " + std::string(context);
  }

  // After '(' : [expr (',' expr)* [',']] ')'
  std::vector<expr> parse_list(char close, const std::string& where, int depth) {
    std::vector<expr> items;
    while (!peek().is_op(close)) {
      items.push_back(parse_expr(where, depth + 1));
      if (peek().is_op(',')) {
        next();
        continue;
      }
      if (!peek().is_op(close)) expected(std::string("',' or '") + close + "' " + where);
    }
    next();
    return items;
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
  std::string file_;
};

}  // namespace

load_result parse(std::string_view text, std::string_view file_name) {
  load_result r;
  try {
    parser p(detail::lex(text), file_name);
    try {
      r.program = p.run();
    } catch (const parse_failure&) {
      r.errors.push_back(p.error);
    }
  } catch (const std::bad_alloc&) {
    r.program.reset();
    r.errors.push_back(diagnostic{std::string(file_name), 1, 1, "out of memory while parsing"});
  } catch (const std::exception& e) {
    r.program.reset();
    r.errors.push_back(
        diagnostic{std::string(file_name), 1, 1, std::string("internal error: ") + e.what()});
  }
  return r;
}

load_result load(std::string_view text, std::string_view file_name) {
  load_result r = parse(text, file_name);
  if (!r.program) return r;
  try {
    r.errors = check(*r.program, file_name);
  } catch (const std::exception& e) {
    r.errors.push_back(
        diagnostic{std::string(file_name), 1, 1, std::string("internal error: ") + e.what()});
  }
  if (!r.errors.empty()) r.program.reset();
  return r;
}

}  // namespace ctxmodel
