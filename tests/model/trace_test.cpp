// Traces (text form, side-by-side view), python_repr, and the built-in exception table.
#include "ctxmodel/trace.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ctxmodel/builtins.hpp"

namespace ctxmodel {
namespace {

// Expected values produced by CPython 3.11.7's repr() of each input.
TEST(PythonRepr, MatchesCPython) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "''"},
      {"abc", "'abc'"},
      {"it's", "\"it's\""},
      {"say \"hi\"", "'say \"hi\"'"},
      {"both ' and \"", "'both \\' and \"'"},
      {"back\\slash", "'back\\\\slash'"},
      {"new\nline", "'new\\nline'"},
      {"tab\there", "'tab\\there'"},
      {"cr\rx", "'cr\\rx'"},
      {"\x01"
       "\x1f"
       "\x7f",
       "'\\x01\\x1f\\x7f'"},
      {"''", "\"''\""},
      {"\"\"", "'\"\"'"},
      {"\\'", "\"\\\\'\""},
      {"\\\"", "'\\\\\"'"},
      {"mixed '\"\\\n\t", "'mixed \\'\"\\\\\\n\\t'"},
      {" ", "' '"},
      {"~!@#$%^&*()_+{}|:<>?`-=[];,./", "'~!@#$%^&*()_+{}|:<>?`-=[];,./'"},
      {"division by zero", "'division by zero'"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(python_repr(in), out) << in;
}

TEST(Trace, TextRoundTrip) {
  trace t{{"enter Cm(1)", "mark 'x' 2", "exit Cm(1) None",
           "outcome raised #1 ZeroDivisionError('division by zero')"}};
  const std::string text = t.to_text();
  EXPECT_EQ(text,
            "enter Cm(1)\nmark 'x' 2\nexit Cm(1) None\n"
            "outcome raised #1 ZeroDivisionError('division by zero')\n");
  EXPECT_EQ(trace::from_text(text), t);
  EXPECT_EQ(trace{}.to_text(), "");
  EXPECT_EQ(trace::from_text(""), trace{});
}

TEST(Trace, FromTextSkipsBlankLinesAndCarriageReturns) {
  EXPECT_EQ(trace::from_text("\nmark 1\r\n   \n\noutcome ok"), (trace{{"mark 1", "outcome ok"}}));
  // Other whitespace is part of the event.
  EXPECT_EQ(trace::from_text("mark ' '  \n").events[0], "mark ' '  ");
}

TEST(SideBySide, EqualTraces) {
  trace t{{"mark 1", "outcome ok"}};
  EXPECT_EQ(side_by_side(t, t, "ctxlib", "cpython 3.11.7"),
            "ctxlib       cpython 3.11.7\n"
            "----------   --------------\n"
            "mark 1       mark 1\n"
            "outcome ok   outcome ok\n");
}

TEST(SideBySide, MarksChangesInsertionsAndDeletions) {
  trace left{{"enter A()", "mark 1", "mark 2", "exit A() None", "outcome ok"}};
  trace right{
      {"enter A()", "mark 2", "exit A() None", "close A()", "outcome raised #1 KeyError()"}};
  EXPECT_EQ(side_by_side(left, right, "runner", "oracle"),
            "runner          oracle\n"
            "-------------   ----------------------------\n"
            "enter A()       enter A()\n"
            "mark 1        <\n"
            "mark 2          mark 2\n"
            "exit A() None   exit A() None\n"
            "outcome ok    | close A()\n"
            "              > outcome raised #1 KeyError()\n");
}

TEST(SideBySide, OneSideEmpty) {
  EXPECT_EQ(side_by_side(trace{}, trace{{"outcome ok"}}, "l", "r"),
            "l   r\n"
            "-   ----------\n"
            "  > outcome ok\n");
}

TEST(Builtins, HierarchyMatchesCPython311) {
  // From `python3 -c "print(C.__mro__)"` on CPython 3.11.
  const std::vector<std::pair<std::string, std::vector<std::string>>> mros = {
      {"KeyError", {"LookupError", "Exception", "BaseException"}},
      {"IndexError", {"LookupError", "Exception", "BaseException"}},
      {"ZeroDivisionError", {"ArithmeticError", "Exception", "BaseException"}},
      {"NotImplementedError", {"RuntimeError", "Exception", "BaseException"}},
      {"RecursionError", {"RuntimeError", "Exception", "BaseException"}},
      {"GeneratorExit", {"BaseException"}},
      {"KeyboardInterrupt", {"BaseException"}},
      {"SystemExit", {"BaseException"}},
      {"StopAsyncIteration", {"Exception", "BaseException"}},
      {"StopIteration", {"Exception", "BaseException"}},
      {"OSError", {"Exception", "BaseException"}},
      {"AssertionError", {"Exception", "BaseException"}},
      {"AttributeError", {"Exception", "BaseException"}},
      {"NameError", {"Exception", "BaseException"}},
      {"TypeError", {"Exception", "BaseException"}},
      {"ValueError", {"Exception", "BaseException"}},
      {"ArithmeticError", {"Exception", "BaseException"}},
      {"LookupError", {"Exception", "BaseException"}},
      {"RuntimeError", {"Exception", "BaseException"}},
      {"Exception", {"BaseException"}},
      {"BaseException", {}},
      {"CancelledError", {"BaseException"}},
  };
  EXPECT_EQ(builtin_exception_classes().size(), mros.size());
  for (const auto& [name, bases] : mros) {
    std::vector<std::string> chain;
    const builtin_exception_class* c = find_builtin_exception_class(name);
    ASSERT_NE(c, nullptr) << name;
    for (c = find_builtin_exception_class(c->base); c; c = find_builtin_exception_class(c->base))
      chain.emplace_back(c->name);
    EXPECT_EQ(chain, bases) << name;
  }
  EXPECT_EQ(find_builtin_exception_class("ExceptionGroup"), nullptr);
  EXPECT_EQ(find_builtin_exception_class(""), nullptr);
}

TEST(Builtins, BasesComeFirst) {
  std::vector<std::string_view> seen;
  for (const auto& c : builtin_exception_classes()) {
    if (!c.base.empty()) {
      EXPECT_NE(std::find(seen.begin(), seen.end(), c.base), seen.end()) << c.name;
    }
    seen.push_back(c.name);
  }
}

}  // namespace
}  // namespace ctxmodel
