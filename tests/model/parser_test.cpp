// Lexer and parser: every construct of docs/language.md parses to the expected tree, and
// malformed text fails at the right place with a message saying what was expected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctxmodel/parse.hpp"
#include "test_util.hpp"

namespace ctxmodel {
namespace {

using test::joined;

program parsed(std::string_view text) {
  load_result r = parse(text, "t.ctx");
  EXPECT_TRUE(r.errors.empty()) << joined(r.errors);
  return r.program ? *r.program : program{};
}

template <class T>
const T& node(const stmt& s) {
  EXPECT_TRUE(std::holds_alternative<T>(s.node));
  return std::get<T>(s.node);
}
template <class T>
const T& node(const expr& e) {
  EXPECT_TRUE(std::holds_alternative<T>(e.node));
  return std::get<T>(e.node);
}

TEST(Parser, Declarations) {
  program p = parsed(
      "class E(KeyError)\n"
      "class F(E)\n"
      "cm Plain:\n"
      "    pass\n"
      "cm Empty():\n"
      "    pass\n"
      "cm Full(a, b: exception, c: value):\n"
      "    close:\n"
      "        pass\n"
      "    exit(exc):\n"
      "        return True\n"
      "    enter:\n"
      "        return self\n"
      "def f():\n"
      "    pass\n"
      "def g(x, y: exception,):\n"
      "    mark x\n"
      "def h(*exc):\n"
      "    mark exc\n"
      "mark 1\n");
  ASSERT_EQ(p.classes.size(), 2u);
  EXPECT_EQ(p.classes[0].name, "E");
  EXPECT_EQ(p.classes[0].base, "KeyError");
  EXPECT_EQ(p.classes[1].base, "E");
  EXPECT_EQ(p.classes[0].at.line, 1);
  ASSERT_EQ(p.cms.size(), 3u);
  EXPECT_TRUE(p.cms[0].params.empty());
  EXPECT_FALSE(p.cms[0].enter || p.cms[0].exit || p.cms[0].close);
  EXPECT_TRUE(p.cms[1].params.empty());
  const cm_decl& full = p.cms[2];
  ASSERT_EQ(full.params.size(), 3u);
  EXPECT_EQ(full.params[0].type, param_type::value);
  EXPECT_EQ(full.params[1].type, param_type::exception);
  EXPECT_EQ(full.params[2].type, param_type::value);
  ASSERT_TRUE(full.enter && full.exit && full.close);
  EXPECT_EQ(full.exit_param, "exc");
  EXPECT_EQ(node<name_ref>(*node<return_stmt>((*full.enter)[0]).value).name, "self");
  ASSERT_EQ(p.functions.size(), 3u);
  EXPECT_TRUE(p.functions[0].params.empty());
  EXPECT_EQ(p.functions[1].params.size(), 2u);
  EXPECT_FALSE(p.functions[1].exit_signature);
  EXPECT_TRUE(p.functions[2].exit_signature);
  ASSERT_EQ(p.functions[2].params.size(), 1u);
  EXPECT_EQ(p.functions[2].params[0].name, "exc");
  ASSERT_EQ(p.main.size(), 1u);
}

TEST(Parser, SimpleStatements) {
  program p = parsed(
      "pass\n"
      "mark 1, -2, 'a', \"b\", None, True, False, x\n"
      "x = KeyError('boom')\n"
      "x.__context__ = None\n"
      "x.__cause__ = y\n"
      "x.__suppress_context__ = True\n"
      "raise\n"
      "raise KeyError\n"
      "raise KeyError() from None\n"
      "return\n"
      "return 5\n"
      "f(1, 2)\n"
      "s.close()\n");
  ASSERT_EQ(p.main.size(), 13u);
  node<pass_stmt>(p.main[0]);
  const auto& m = node<mark_stmt>(p.main[1]);
  ASSERT_EQ(m.values.size(), 8u);
  EXPECT_EQ(node<int_literal>(m.values[0]).value, 1);
  EXPECT_EQ(node<int_literal>(m.values[1]).value, -2);
  EXPECT_EQ(node<string_literal>(m.values[2]).value, "a");
  EXPECT_EQ(node<string_literal>(m.values[3]).value, "b");
  node<none_literal>(m.values[4]);
  EXPECT_TRUE(node<bool_literal>(m.values[5]).value);
  EXPECT_FALSE(node<bool_literal>(m.values[6]).value);
  EXPECT_EQ(node<name_ref>(m.values[7]).name, "x");
  EXPECT_EQ(m.values[7].at.column, 42);
  const auto& a = node<assign_stmt>(p.main[2]);
  EXPECT_EQ(a.target, "x");
  const auto& c = node<call_expr>(a.value);
  EXPECT_EQ(c.callee, "KeyError");
  EXPECT_EQ(c.kind, call_kind::unresolved);  // parse leaves names unresolved
  EXPECT_EQ(node<set_attribute_stmt>(p.main[3]).attribute, exception_attribute::context);
  EXPECT_EQ(node<set_attribute_stmt>(p.main[4]).attribute, exception_attribute::cause);
  EXPECT_EQ(node<set_attribute_stmt>(p.main[5]).attribute, exception_attribute::suppress_context);
  EXPECT_FALSE(node<raise_stmt>(p.main[6]).exception);
  EXPECT_TRUE(node<raise_stmt>(p.main[7]).exception);
  EXPECT_FALSE(node<raise_stmt>(p.main[7]).cause);
  EXPECT_TRUE(node<raise_stmt>(p.main[8]).cause);
  EXPECT_FALSE(node<return_stmt>(p.main[9]).value);
  EXPECT_TRUE(node<return_stmt>(p.main[10]).value);
  EXPECT_EQ(node<call_expr>(node<expr_stmt>(p.main[11]).value).args.size(), 2u);
  EXPECT_EQ(node<method_call>(node<expr_stmt>(p.main[12]).value).method, stack_method::close);
  EXPECT_EQ(p.main[12].at.line, 13);
}

TEST(Parser, Expressions) {
  program p = parsed(
      "mark ExitStack(), suppress(), suppress(KeyError, (IndexError, (ValueError,)), ())\n"
      "mark nullcontext(), nullcontext(1), closing(C()), C(1, 'x')\n"
      "mark s.enter_context(C()), s.pop_all()\n"
      "s.push(f)\n"
      "s.callback(f, 1, 2,)\n"
      "mark (A)\n");
  const auto& m0 = node<mark_stmt>(p.main[0]);
  const auto& sup = node<call_expr>(m0.values[2]);
  ASSERT_EQ(sup.args.size(), 3u);
  const auto& tup = node<tuple_expr>(sup.args[1]);
  ASSERT_EQ(tup.items.size(), 2u);
  EXPECT_EQ(node<tuple_expr>(tup.items[1]).items.size(), 1u);
  EXPECT_TRUE(node<tuple_expr>(sup.args[2]).items.empty());
  const auto& m2 = node<mark_stmt>(p.main[2]);
  EXPECT_EQ(node<method_call>(m2.values[0]).method, stack_method::enter_context);
  EXPECT_EQ(node<method_call>(m2.values[1]).method, stack_method::pop_all);
  EXPECT_EQ(node<method_call>(node<expr_stmt>(p.main[3]).value).method, stack_method::push);
  const auto& cb = node<method_call>(node<expr_stmt>(p.main[4]).value);
  EXPECT_EQ(cb.method, stack_method::callback);
  EXPECT_EQ(cb.args.size(), 3u);  // trailing comma allowed
  // A parenthesised name is a one-element tuple (the language has no other parentheses).
  EXPECT_EQ(node<tuple_expr>(node<mark_stmt>(p.main[5]).values[0]).items.size(), 1u);
}

TEST(Parser, WithAndTry) {
  program p = parsed(
      "with A() as a, B(), C() as c:\n"
      "    with s:\n"
      "        pass\n"
      "try:\n"
      "    pass\n"
      "except:\n"
      "    pass\n"
      "try:\n"
      "    pass\n"
      "except KeyError:\n"
      "    pass\n"
      "except (KeyError,) as e:\n"
      "    raise\n"
      "except (IndexError, ValueError) as e:\n"
      "    pass\n"
      "finally:\n"
      "    pass\n"
      "try:\n"
      "    pass\n"
      "finally:\n"
      "    pass\n");
  ASSERT_EQ(p.main.size(), 4u);
  const auto& w = node<with_stmt>(p.main[0]);
  ASSERT_EQ(w.items.size(), 3u);
  EXPECT_EQ(w.items[0].as, "a");
  EXPECT_FALSE(w.items[1].as);
  EXPECT_EQ(w.items[2].as, "c");
  ASSERT_EQ(w.body.size(), 1u);
  EXPECT_EQ(node<with_stmt>(w.body[0]).body.size(), 1u);
  const auto& t0 = node<try_stmt>(p.main[1]);
  ASSERT_EQ(t0.handlers.size(), 1u);
  EXPECT_TRUE(t0.handlers[0].classes.empty());
  EXPECT_FALSE(t0.final_block);
  const auto& t1 = node<try_stmt>(p.main[2]);
  ASSERT_EQ(t1.handlers.size(), 3u);
  EXPECT_FALSE(t1.handlers[0].tuple);
  EXPECT_TRUE(t1.handlers[1].tuple);
  EXPECT_EQ(t1.handlers[1].classes, std::vector<std::string>{"KeyError"});
  EXPECT_EQ(t1.handlers[1].as, "e");
  EXPECT_EQ(t1.handlers[2].classes.size(), 2u);
  EXPECT_EQ(t1.handlers[2].at.line, 14);
  EXPECT_TRUE(t1.final_block);
  const auto& t2 = node<try_stmt>(p.main[3]);
  EXPECT_TRUE(t2.handlers.empty());
  EXPECT_TRUE(t2.final_block);
}

TEST(Parser, IfAndStackParameters) {
  program p = parsed(
      "def push_more(s: stack, x):\n"
      "    pass\n"
      "if exc:\n"
      "    raise exc\n"
      "if not  exc :\n"
      "    pass\n"
      "else:\n"
      "    if x:\n"
      "        mark x\n"
      "    else:\n"
      "        pass\n"
      "mark 1\n");
  ASSERT_EQ(p.functions.size(), 1u);
  EXPECT_EQ(p.functions[0].params[0].type, param_type::stack);
  EXPECT_EQ(p.functions[0].params[1].type, param_type::value);
  ASSERT_EQ(p.main.size(), 3u);
  const auto& i0 = node<if_stmt>(p.main[0]);
  EXPECT_EQ(i0.name, "exc");
  EXPECT_FALSE(i0.negated);
  EXPECT_EQ(i0.then_block.size(), 1u);
  EXPECT_FALSE(i0.else_block);
  EXPECT_EQ(i0.name_at.column, 4);
  const auto& i1 = node<if_stmt>(p.main[1]);
  EXPECT_TRUE(i1.negated);
  EXPECT_EQ(i1.name_at.column, 9);
  ASSERT_TRUE(i1.else_block);
  const auto& inner = node<if_stmt>((*i1.else_block)[0]);
  EXPECT_EQ(inner.name, "x");
  EXPECT_TRUE(inner.else_block);
  node<mark_stmt>(p.main[2]);
}

TEST(Parser, GeneratorsAndDecorators) {
  program p = parsed(
      "@contextmanager\n"
      "def gen(a, b: exception):\n"
      "    yield\n"
      "    try:\n"
      "        yield a\n"
      "    finally:\n"
      "        return\n"
      "@gen(1, 'x',)\n"
      "def f():\n"
      "    pass\n"
      "@Guard()\n"
      "def g(*exc):\n"
      "    pass\n"
      "mark 1\n");
  ASSERT_EQ(p.functions.size(), 3u);
  const function_decl& gen = p.functions[0];
  EXPECT_TRUE(gen.generator);
  EXPECT_FALSE(gen.decorator);
  EXPECT_EQ(gen.at.line, 2);
  EXPECT_FALSE(node<yield_stmt>(gen.body[0]).value);
  const auto& t = node<try_stmt>(gen.body[1]);
  EXPECT_EQ(node<name_ref>(*node<yield_stmt>(t.body[0]).value).name, "a");
  const function_decl& f = p.functions[1];
  EXPECT_FALSE(f.generator);
  ASSERT_TRUE(f.decorator);
  const auto& d = node<call_expr>(*f.decorator);
  EXPECT_EQ(d.callee, "gen");
  EXPECT_EQ(d.args.size(), 2u);
  EXPECT_EQ(d.kind, call_kind::unresolved);
  EXPECT_EQ(f.decorator->at.line, 8);
  EXPECT_EQ(f.decorator->at.column, 2);
  EXPECT_TRUE(p.functions[2].exit_signature);
  EXPECT_EQ(node<call_expr>(*p.functions[2].decorator).callee, "Guard");
}

TEST(Parser, AsyncConstructs) {
  const std::string text =
      "acm A(n):\n"
      "    aenter:\n"
      "        await sleep()\n"
      "        return n\n"
      "    aexit(exc):\n"
      "        return True\n"
      "    aclose:\n"
      "        pass\n"
      "\n"
      "async def f(x):\n"
      "    await sleep()\n"
      "\n"
      "async def g(*exc):\n"
      "    pass\n"
      "\n"
      "async with A(1) as v, nullcontext():\n"
      "    await f(v)\n"
      "with nullcontext():\n"
      "    pass\n";
  program p = parsed(text);
  ASSERT_EQ(p.cms.size(), 1u);
  EXPECT_TRUE(p.cms[0].is_async);
  EXPECT_TRUE(p.cms[0].enter && p.cms[0].exit && p.cms[0].close);
  EXPECT_EQ(p.cms[0].exit_param, "exc");
  ASSERT_EQ(p.functions.size(), 2u);
  EXPECT_TRUE(p.functions[0].is_async);
  EXPECT_TRUE(p.functions[1].is_async);
  EXPECT_TRUE(p.functions[1].exit_signature);
  EXPECT_TRUE(node<with_stmt>(p.main[0]).is_async);
  EXPECT_FALSE(node<with_stmt>(p.main[1]).is_async);
  const auto& a = node<await_stmt>(node<with_stmt>(p.main[0]).body[0]);
  EXPECT_EQ(node<call_expr>(a.call).callee, "f");
  EXPECT_EQ(print(p), text);
}

TEST(Lexer, CommentsBlankLinesAndLineEnds) {
  program p = parsed(
      "# ports: TestExitStack.test_exit_raise\r\n"
      "# catalogue: X19 \xc3\xa9 (UTF-8 and\ttabs are fine in comments)\n"
      "\n"
      "with A():   # trailing comment\r\n"
      "\n"
      "        # a comment at any indentation\n"
      "    mark 1\n"
      "      \n"
      "mark 2");  // no final newline
  ASSERT_EQ(p.main.size(), 2u);
  EXPECT_EQ(p.main[1].at.line, 9);
}

TEST(Lexer, StringEscapes) {
  program p = parsed("mark 'a\\\\b\\'c\\\"d\\ne\\tf', \"it's\", '', \"\"\n");
  const auto& m = node<mark_stmt>(p.main[0]);
  EXPECT_EQ(node<string_literal>(m.values[0]).value, "a\\b'c\"d\ne\tf");
  EXPECT_EQ(node<string_literal>(m.values[1]).value, "it's");
  EXPECT_EQ(node<string_literal>(m.values[2]).value, "");
  EXPECT_EQ(node<string_literal>(m.values[3]).value, "");
}

TEST(Lexer, IntegerLimits) {
  program p = parsed("mark 9223372036854775807, -9223372036854775808, 0, -0\n");
  const auto& m = node<mark_stmt>(p.main[0]);
  EXPECT_EQ(node<int_literal>(m.values[0]).value, INT64_MAX);
  EXPECT_EQ(node<int_literal>(m.values[1]).value, INT64_MIN);
  EXPECT_EQ(node<int_literal>(m.values[2]).value, 0);
  EXPECT_EQ(node<int_literal>(m.values[3]).value, 0);
}

TEST(Lexer, StopsAtExpectSection) {
  program p = parsed(
      "mark 1\n"
      "--- expect cpython 3.11.7\n"
      "mark 'x'\n"
      "outcome ok\n"
      "this is not @ program text\n");
  EXPECT_EQ(p.main.size(), 1u);
  // Only at the start of a line.
  load_result r = parse("mark 1  # --- expect\n --- expect\n", "t.ctx");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(Lexer, KeywordsAreNotNames) {
  load_result r = parse("with = 1\n", "t.ctx");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "expected an expression after 'with', found '='");
  r = parse("close = 1\n", "t.ctx");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("expected a statement, found 'close'"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Malformed input: exact position and a message substring.

struct malformed {
  const char* name;
  std::string text;
  int line;
  int column;
  const char* message;
};

void PrintTo(const malformed& m, std::ostream* os) {
  *os << m.name;
}

std::string deep_with(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += std::string(static_cast<std::size_t>(i) * 4, ' ') + "with A():\n";
  return s + std::string(static_cast<std::size_t>(n) * 4, ' ') + "pass\n";
}

std::string deep_expr(int n) {
  std::string s = "mark ";
  for (int i = 0; i < n; ++i) s += "nullcontext(";
  s += "1";
  for (int i = 0; i < n; ++i) s += ")";
  return s + "\n";
}

std::string deep_tuple(int n) {
  return "mark " + std::string(static_cast<std::size_t>(n), '(') + "\n";
}

const std::vector<malformed>& malformed_inputs() {
  static const std::vector<malformed> cases = {
      {"empty_file", "", 1, 1, "expected at least one statement, found end of file"},
      {"only_comments", "# a\n\n# b\n", 4, 1, "expected at least one statement"},
      {"only_declarations", "class E(Exception)\n", 2, 1, "expected at least one statement"},
      {"missing_colon_with", "with A() as x\n    pass\n", 1, 14,
       "expected ':' after 'with' items, found newline"},
      {"missing_colon_try", "try\n    pass\n", 1, 4, "expected ':' after 'try', found newline"},
      {"missing_colon_except", "try:\n    pass\nexcept KeyError\n    pass\n", 3, 16,
       "expected ':' after 'except' clause, found newline"},
      {"missing_colon_def", "def f()\n    pass\nmark 1\n", 1, 8,
       "expected ':' after function header, found newline"},
      {"missing_colon_cm", "cm A\n    pass\nmark 1\n", 1, 5,
       "expected ':' after cm header, found newline"},
      {"body_on_same_line", "with A(): pass\n", 1, 11, "expected newline after ':'"},
      {"missing_block", "with A():\nmark 1\n", 2, 1,
       "expected an indented block after 'with' on line 1, found 'mark'"},
      {"missing_block_at_eof", "with A():\n", 2, 1, "expected an indented block"},
      {"unexpected_indent", "mark 1\n    mark 2\n", 2, 5, "unexpected indent"},
      {"indented_first_line", "  mark 1\n", 1, 3, "unexpected indent"},
      {"bad_dedent", "with A():\n        mark 1\n    mark 2\n", 3, 5,
       "unindent does not match any outer indentation level"},
      {"tab_indent", "with A():\n\tmark 1\n", 2, 1, "tab character"},
      {"tab_after_spaces", "with A():\n    \tmark 1\n", 2, 5, "tab character"},
      {"tab_between_tokens", "mark\t1\n", 1, 5, "tab character"},
      {"tab_in_string", "mark 'a\tb'\n", 1, 8, "tab character in a string literal"},
      {"unterminated_string", "mark 'abc\n", 1, 6, "unterminated string literal"},
      {"unterminated_at_eof", "mark \"abc", 1, 6, "unterminated string literal"},
      {"unterminated_escape", "mark 'abc\\\n", 1, 6, "unterminated string literal"},
      {"bad_escape", "mark 'a\\x41'\n", 1, 8, "unknown escape sequence '\\x'"},
      {"int_overflow", "mark 9223372036854775808\n", 1, 6, "does not fit in 64 bits"},
      {"int_underflow", "mark -9223372036854775809\n", 1, 6, "does not fit in 64 bits"},
      {"leading_zero", "mark 007\n", 1, 6, "leading zeros"},
      {"digits_then_letters", "mark 12ab\n", 1, 6, "invalid integer literal"},
      {"lone_minus", "mark - 1\n", 1, 6, "unexpected character '-'"},
      {"unknown_statement", "foo 1\n", 1, 5,
       "expected '=', '.' or '(' after 'foo', found integer 1"},
      {"python_statement", "while x:\n    pass\n", 1, 1, "'while' (a Python statement"},
      {"elif", "if x:\n    pass\nelif y:\n    pass\n", 3, 1, "'elif' (a Python statement"},
      {"if_without_name", "if:\n    pass\n", 1, 3,
       "expected a name or 'not' after 'if' (if NAME: / if not NAME:), found ':'"},
      {"if_not_without_name", "if not None:\n    pass\n", 1, 8,
       "expected a name after 'if not' (if not NAME:), found 'None'"},
      {"if_expression", "if x.y:\n    pass\n", 1, 5,
       "expected ':' after 'if x' (the condition is a single name), found '.'"},
      {"if_call", "if f():\n    pass\n", 1, 5, "expected ':' after 'if f'"},
      {"if_same_line", "if x: pass\n", 1, 7, "expected newline after ':'"},
      {"else_without_if", "mark 1\nelse:\n    pass\n", 2, 1,
       "'else' without a matching 'if' at this indentation"},
      {"else_after_try", "try:\n    pass\nexcept:\n    pass\nelse:\n    pass\n", 5, 1,
       "'else' without a matching 'if'"},
      {"else_without_colon", "if x:\n    pass\nelse\n    pass\n", 3, 5,
       "expected ':' after 'else', found newline"},
      {"not_as_statement", "not x\n", 1, 1, "expected a statement, found 'not'"},
      {"contextmanager_with_arguments", "@contextmanager()\ndef f():\n    yield\nmark 1\n", 1, 16,
       "'@contextmanager' takes no arguments"},
      {"decorator_without_call", "@Guard\ndef f():\n    pass\nmark 1\n", 1, 7,
       "expected '(' after decorator 'Guard' (@NAME(ARGS)"},
      {"decorator_not_a_name", "@1\ndef f():\n    pass\nmark 1\n", 1, 2,
       "expected a decorator after '@' (@contextmanager, @asynccontextmanager or @NAME(ARGS)), "
       "found integer 1"},
      {"contextmanager_async_def", "@contextmanager\nasync def g():\n    yield\nmark 1\n", 2, 1,
       "'@contextmanager' cannot decorate an 'async def' (use @asynccontextmanager)"},
      {"asynccontextmanager_sync_def", "@asynccontextmanager\ndef g():\n    yield\nmark 1\n", 2, 1,
       "'@asynccontextmanager' decorates an 'async def' (write async def)"},
      {"asynccontextmanager_arguments",
       "@asynccontextmanager()\nasync def g():\n    yield\nmark 1\n", 1, 21,
       "'@asynccontextmanager' takes no arguments"},
      {"decorator_before_cm", "@contextmanager\ncm A:\n    pass\nmark 1\n", 2, 1,
       "expected 'def' after the decorator on line 1, found 'cm'"},
      {"two_decorators", "@contextmanager\n@Guard()\ndef f():\n    yield\nmark 1\n", 2, 1,
       "a function takes one decorator (@contextmanager or @NAME(ARGS))"},
      {"decorator_same_line", "@contextmanager def f():\n    yield\nmark 1\n", 1, 17,
       "expected newline after the decorator, found 'def'"},
      {"decorator_after_statement", "mark 1\n@contextmanager\ndef f():\n    yield\n", 2, 1,
       "declarations ('@...') must come before the first statement"},
      {"decorator_nested", "with A():\n    @contextmanager\n", 2, 5,
       "declarations ('@...') are only allowed at top level"},
      {"yield_twice", "yield yield\n", 1, 7, "expected an expression after 'yield', found 'yield'"},
      {"yield_two_values", "yield 1 2\n", 1, 9, "expected newline after the 'yield' value"},
      {"literal_statement", "None\n", 1, 1, "expected a statement, found 'None'"},
      {"bad_raise_two_operands", "raise KeyError IndexError\n", 1, 16,
       "expected 'from' or newline after the operand of 'raise', found 'IndexError'"},
      {"bad_raise_from_nothing", "raise KeyError from\n", 1, 20,
       "expected an expression after 'from', found newline"},
      {"bad_raise_keyword", "raise with\n", 1, 7,
       "expected an expression after 'raise', found 'with'"},
      {"try_without_handler", "try:\n    pass\nmark 1\n", 3, 1,
       "expected 'except' or 'finally' after the 'try' block, found 'mark'"},
      {"except_without_try", "except:\n    pass\n", 1, 1, "'except' without a matching 'try'"},
      {"finally_without_try", "mark 1\nfinally:\n    pass\n", 2, 1,
       "'finally' without a matching 'try'"},
      {"empty_except_tuple", "try:\n    pass\nexcept ():\n    pass\n", 3, 9,
       "expected an exception class name in 'except (...)', found ')'"},
      {"declaration_after_statement", "mark 1\ncm A:\n    pass\n", 2, 1,
       "declarations ('cm') must come before the first statement"},
      {"nested_declaration", "with A():\n    def f():\n        pass\n", 2, 5,
       "declarations ('def') are only allowed at top level"},
      {"enter_outside_cm", "enter:\n    pass\n", 1, 1, "only allowed as a member of a cm"},
      {"class_with_colon", "class E(Exception):\n    pass\n", 1, 19, "a class has no body"},
      {"class_without_base", "class E\nmark 1\n", 1, 8, "expected '(' after class name 'E'"},
      {"cm_bad_member", "cm A:\n    mark 1\n", 2, 5, "expected 'enter:', 'exit(NAME):'"},
      {"cm_duplicate_member", "cm A:\n    close:\n        pass\n    close:\n        pass\nmark 1\n",
       4, 5, "duplicate 'close' in cm 'A'"},
      {"exit_without_param", "cm A:\n    exit:\n        pass\nmark 1\n", 2, 9,
       "expected '(' after 'exit'"},
      {"bad_param_type", "def f(a: int):\n    pass\nmark 1\n", 1, 10,
       "expected parameter type 'exception', 'stack' or 'value', found 'int'"},
      {"exit_function_two_params", "def f(*a, b):\n    pass\nmark 1\n", 1, 9,
       "expected ')' after the exit function's parameter"},
      {"mark_without_value", "mark\n", 1, 5, "expected an expression after 'mark', found newline"},
      {"mark_trailing_comma", "mark 1,\n", 1, 8, "expected an expression after ',' in 'mark'"},
      {"unclosed_call", "mark A(1\nmark 2\n", 1, 9,
       "expected ',' or ')' in the arguments of 'A', found newline"},
      {"unclosed_tuple", "mark (1, 2\n", 1, 11, "expected ',' or ')' in a tuple, found newline"},
      {"bad_method", "mark s.foo()\n", 1, 8, "expected an exit-stack method"},
      {"method_without_call", "mark s.pop_all\n", 1, 15, "expected '(' after 's.pop_all'"},
      {"attribute_without_value", "e.__cause__\n", 1, 12, "expected '=' after 'e.__cause__'"},
      {"with_as_keyword", "with A() as None:\n    pass\n", 1, 13, "expected a name after 'as'"},
      {"garbage_punctuation", "mark 1 ; mark 2\n", 1, 8, "unexpected character ';'"},
      {"garbage_bracket", "mark [1]\n", 1, 6, "unexpected character '['"},
      {"nul_byte", std::string("mark 1\0\n", 8), 1, 7, "unexpected NUL byte"},
      {"nul_in_comment", std::string("# a\0b\nmark 1\n", 12), 1, 4, "unexpected NUL byte"},
      {"nul_in_string", std::string("mark 'a\0'\n", 10), 1, 8, "NUL byte"},
      {"non_ascii", "mark \xc3\xa9\n", 1, 6, "unexpected byte 0xC3"},
      {"non_ascii_in_string", "mark 'caf\xc3\xa9'\n", 1, 10,
       "byte 0xC3 is not allowed in a string"},
      {"utf8_bom", "\xef\xbb\xbfmark 1\n", 1, 1, "unexpected byte 0xEF"},
      {"control_char", "mark \x01\n", 1, 6, "unexpected control character 0x01"},
      {"lone_carriage_return", "mark 1\rmark 2\n", 1, 7, "unexpected carriage return"},
      {"deep_blocks", deep_with(250), 201, 801, "blocks nested too deeply"},
      {"deep_expression", deep_expr(250), 1, 2406, "expression nested too deeply"},
      {"deep_tuple", deep_tuple(100000), 1, 206, "expression nested too deeply"},
      {"lexer_error_after_parse_error", "mark 1 2\nmark 'unterminated\n", 1, 8,
       "expected ',' or newline after a 'mark' value, found integer 2"},
  };
  return cases;
}

class Malformed : public testing::TestWithParam<malformed> {};

TEST_P(Malformed, FailsAtThePlaceWithTheMessage) {
  const malformed& m = GetParam();
  load_result r = load(m.text, "bad.ctx");
  EXPECT_FALSE(r.program.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
  const diagnostic& d = r.errors[0];
  EXPECT_EQ(d.file, "bad.ctx");
  EXPECT_EQ(d.line, m.line) << d.to_string();
  EXPECT_EQ(d.column, m.column) << d.to_string();
  EXPECT_NE(d.message.find(m.message), std::string::npos) << d.to_string();
}

INSTANTIATE_TEST_SUITE_P(Table, Malformed, testing::ValuesIn(malformed_inputs()),
                         [](const testing::TestParamInfo<malformed>& i) { return i.param.name; });

TEST(Parser, NestingAtTheLimitIsAccepted) {
  // 200 nested blocks and 200 nested expressions are fine; one more is not.
  EXPECT_TRUE(parse(deep_with(200), "t.ctx").program);
  EXPECT_FALSE(parse(deep_with(201), "t.ctx").program);
  EXPECT_TRUE(parse(deep_expr(199), "t.ctx").program);  // mark's operand is level 1
  EXPECT_FALSE(parse(deep_expr(200), "t.ctx").program);
}

TEST(Diagnostics, ToString) {
  diagnostic d{"corpus/x.ctx", 3, 14, "expected ':' after 'with' items, found newline"};
  EXPECT_EQ(d.to_string(),
            "corpus/x.ctx:3:14: error: expected ':' after 'with' items, found newline");
}

}  // namespace
}  // namespace ctxmodel
