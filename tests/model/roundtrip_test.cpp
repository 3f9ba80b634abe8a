// Printer: canonical text, and the round-trip property load(print(p)).program == p.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctxmodel/parse.hpp"
#include "test_util.hpp"

namespace ctxmodel {
namespace {

using test::joined;
using test::must_load;

const std::vector<std::string>& rich_programs() {
  static const std::vector<std::string> programs = {
      // Everything at once, written loosely (comments, blank lines, odd spacing, trailing commas).
      "# ports: TestExitStack.test_exit_raise\n"
      "# catalogue: X19\n"
      "def cb(a,b:exception,):   # trailing comma\n"
      "  mark a,b\n"
      "class MyErr(KeyError)\n"
      "cm   Tracker( name , e : exception ) :\n"
      "      close:\n"
      "         mark \"it's closed\"\n"
      "      exit(exc):\n"
      "         mark exc\n"
      "         return True\n"
      "      enter:\n"
      "         mark 'enter', name\n"
      "         return self\n"
      "class Sub(MyErr)\n"
      "def ex(*exc):\n"
      "  mark exc\n"
      "  return False\n"
      "cm Plain():\n"
      "  pass\n"
      "with ExitStack() as stack:\n"
      "    stack.callback(cb, 1, KeyError)\n"
      "    stack.push(ex)\n"
      "    stack.push(Tracker('t', MyErr()))\n"
      "    t = stack.enter_context(Tracker('u', Sub))\n"
      "    with t as t2, closing(Tracker('c', KeyError)) as c, Plain():\n"
      "        mark t2, c\n"
      "    s2 = stack.pop_all()\n"
      "    s2.close()\n"
      "try:\n"
      "    raise Sub('x') from KeyError\n"
      "except (MyErr, IndexError) as e:\n"
      "    e.__context__ = None\n"
      "    e.__cause__ = e\n"
      "    e.__suppress_context__ = True\n"
      "    mark e, -5, 9223372036854775807, -9223372036854775808, 'a\\tb\\n\\'\"\\\\', \"'\"\n"
      "    try:\n"
      "        raise\n"
      "    except (KeyError):\n"
      "        pass\n"
      "    except:\n"
      "        raise e from None\n"
      "finally:\n"
      "    mark None, True, False\n"
      "with suppress(KeyError, (IndexError, (ValueError,)), ()), nullcontext(5) as five, "
      "nullcontext():\n"
      "    mark five\n",
      // A program with only a statement.
      "pass\n",
      // Declarations of every kind, no extras.
      "class A(Exception)\n"
      "class B(A)\n"
      "class C(BaseException)\n"
      "cm M(x):\n"
      "    enter:\n"
      "        return x\n"
      "def f():\n"
      "    raise B(\"b\")\n"
      "def g(*e):\n"
      "    return e\n"
      "with M(C) as m:\n"
      "    mark m\n",
      // if / if not / else, narrowing, stack parameters; loosely written.
      "def push_more(s:stack,v,):\n"
      "  s.callback(leaf,v)\n"
      "def leaf(v):\n"
      "  if   not v :\n"
      "      pass\n"
      "  else:\n"
      "      mark v\n"
      "cm Reraise(s: stack):\n"
      "  exit(exc):\n"
      "    if exc:\n"
      "        if exc:\n"
      "          raise exc\n"
      "    else:\n"
      "        push_more(s, exc)\n"
      "with ExitStack() as stack:\n"
      "    stack.callback(push_more, stack, 1)\n"
      "    with Reraise(stack):\n"
      "        if stack:\n"
      "            raise KeyError\n",
      // Generators and decorators, loosely written.
      "cm Guard(tag):\n"
      "  exit(exc):\n"
      "    return True\n"
      "@contextmanager\n"
      "def gen(a,e:exception,):\n"
      "  try:\n"
      "      yield   a\n"
      "  except KeyError as k:\n"
      "      yield\n"
      "  finally:\n"
      "      with ExitStack() as s:\n"
      "          if not a:\n"
      "              yield s\n"
      "  return\n"
      "@gen( 1 , KeyError('x'), )\n"
      "def f(x):\n"
      "  mark x\n"
      "@Guard(gen)\n"
      "def on_exit(*exc):\n"
      "  pass\n"
      "with gen(2, KeyError) as v:\n"
      "    f(v)\n"
      "with ExitStack() as stack:\n"
      "    stack.push(gen(0, KeyError))\n"
      "    stack.push(on_exit)\n"
      "    stack.callback(f, 3)\n",
      // Async generator managers, as a context manager, a decorator and a stack entry.
      "@asynccontextmanager\n"
      "async def agen(tag):\n"
      "  await sleep()\n"
      "  try:\n"
      "    yield tag\n"
      "  except KeyError as k:\n"
      "    await sleep()\n"
      "    yield\n"
      "@agen('d')\n"
      "async def f(x):\n"
      "  mark x\n"
      "async with agen(1) as v, AsyncExitStack() as s:\n"
      "    w = await s.enter_async_context(agen(2))\n"
      "    s.push_async_exit(agen(3))\n"
      "    await f(v)\n"
      "async with NeutralExitStack() as n:\n"
      "    await n.enter_context(agen(4))\n",
      // Deep but legal nesting.
      [] {
        std::string s;
        for (int i = 0; i < 40; ++i)
          s += std::string(static_cast<std::size_t>(i) * 2, ' ') + "try:\n";
        s += std::string(80, ' ') + "raise ZeroDivisionError('division by zero')\n";
        for (int i = 39; i >= 0; --i) {
          s += std::string(static_cast<std::size_t>(i) * 2, ' ') + "except ZeroDivisionError as e" +
               std::to_string(i) + ":\n";
          s += std::string(static_cast<std::size_t>(i) * 2 + 2, ' ') + "raise\n";
        }
        return s;
      }(),
  };
  return programs;
}

TEST(RoundTrip, RichPrograms) {
  for (const auto& text : rich_programs()) {
    program p = must_load(text);
    const std::string printed = print(p);
    load_result again = load(printed, "printed.ctx");
    ASSERT_TRUE(again.program) << joined(again.errors) << printed;
    EXPECT_EQ(*again.program, p) << printed;
    EXPECT_EQ(print(*again.program), printed);  // canonical text is a fixed point
  }
}

TEST(RoundTrip, CanonicalText) {
  program p = must_load(rich_programs()[0]);
  EXPECT_EQ(
      print(p),
      "class MyErr(KeyError)\n"
      "class Sub(MyErr)\n"
      "\n"
      "cm Tracker(name, e: exception):\n"
      "    enter:\n"
      "        mark 'enter', name\n"
      "        return self\n"
      "    exit(exc):\n"
      "        mark exc\n"
      "        return True\n"
      "    close:\n"
      "        mark \"it's closed\"\n"
      "\n"
      "cm Plain:\n"
      "    pass\n"
      "\n"
      "def cb(a, b: exception):\n"
      "    mark a, b\n"
      "\n"
      "def ex(*exc):\n"
      "    mark exc\n"
      "    return False\n"
      "\n"
      "with ExitStack() as stack:\n"
      "    stack.callback(cb, 1, KeyError)\n"
      "    stack.push(ex)\n"
      "    stack.push(Tracker('t', MyErr()))\n"
      "    t = stack.enter_context(Tracker('u', Sub))\n"
      "    with t as t2, closing(Tracker('c', KeyError)) as c, Plain():\n"
      "        mark t2, c\n"
      "    s2 = stack.pop_all()\n"
      "    s2.close()\n"
      "try:\n"
      "    raise Sub('x') from KeyError\n"
      "except (MyErr, IndexError) as e:\n"
      "    e.__context__ = None\n"
      "    e.__cause__ = e\n"
      "    e.__suppress_context__ = True\n"
      "    mark e, -5, 9223372036854775807, -9223372036854775808, 'a\\tb\\n\\'\"\\\\', \"'\"\n"
      "    try:\n"
      "        raise\n"
      "    except (KeyError,):\n"
      "        pass\n"
      "    except:\n"
      "        raise e from None\n"
      "finally:\n"
      "    mark None, True, False\n"
      "with suppress(KeyError, (IndexError, (ValueError,)), ()), nullcontext(5) as five, "
      "nullcontext():\n"
      "    mark five\n");
}

TEST(RoundTrip, PositionsDoNotTakePartInEquality) {
  program a = must_load("mark 1\n");
  program b = must_load("\n\n   # moved\nmark   1\n");
  EXPECT_EQ(a, b);
  EXPECT_NE(a.main[0].at.line, b.main[0].at.line);
  EXPECT_NE(a, must_load("mark 2\n"));
}

TEST(RoundTrip, BuiltProgram) {
  // A program assembled in code (as the fuzz decoder and generators do), then checked.
  auto e = [](expr_node n) { return expr{std::move(n), {}}; };
  auto s = [](stmt_node n) { return stmt{std::move(n), {}}; };
  program p;
  p.classes.push_back(class_decl{"Boom", "RuntimeError", {}});
  p.functions.push_back(function_decl{
      "f", {{"x", param_type::value}}, false, {s(mark_stmt{{e(name_ref{"x"})}})}, {}, false, {}});
  with_stmt w;
  w.items.push_back(with_item{e(call_expr{"ExitStack", {}, {}}), "stack"});
  w.body.push_back(s(expr_stmt{e(method_call{
      "stack", stack_method::callback, {e(name_ref{"f"}), e(string_literal{"a'b\"c\\"})}})}));
  w.body.push_back(s(raise_stmt{e(call_expr{"Boom", {e(int_literal{-7})}, {}}), std::nullopt}));
  p.main.push_back(s(std::move(w)));
  diagnostics ds = check(p, "built");
  ASSERT_TRUE(ds.empty()) << joined(ds);
  load_result r = load(print(p), "printed");
  ASSERT_TRUE(r.program) << joined(r.errors) << print(p);
  EXPECT_EQ(*r.program, p);
}

}  // namespace
}  // namespace ctxmodel
