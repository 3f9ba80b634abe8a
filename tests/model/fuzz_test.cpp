// Robustness: load() never throws or crashes on arbitrary bytes or on mutations of a valid
// program, and whatever loads also survives print/load unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

#include "ctxmodel/parse.hpp"
#include "test_util.hpp"

namespace ctxmodel {
namespace {

const char* const seed_program =
    "class MyErr(KeyError)\n"
    "cm Tracker(name, e: exception):\n"
    "    enter:\n"
    "        mark 'enter', name\n"
    "        return self\n"
    "    exit(exc):\n"
    "        mark exc\n"
    "        return True\n"
    "    close:\n"
    "        mark \"closed\"\n"
    "def cb(a, b: exception):\n"
    "    mark a, b\n"
    "def ex(*exc):\n"
    "    if not exc:\n"
    "        return False\n"
    "    else:\n"
    "        raise exc\n"
    "def more(s: stack):\n"
    "    s.push(ex)\n"
    "@contextmanager\n"
    "def gen(a):\n"
    "    try:\n"
    "        yield a\n"
    "    finally:\n"
    "        mark a\n"
    "@gen(1)\n"
    "def decorated():\n"
    "    pass\n"
    "with ExitStack() as stack:\n"
    "    stack.callback(cb, 1, KeyError)\n"
    "    stack.push(ex)\n"
    "    stack.callback(more, stack)\n"
    "    stack.enter_context(gen(2))\n"
    "    decorated()\n"
    "    t = stack.enter_context(Tracker('u', MyErr))\n"
    "    with t as t2, closing(Tracker('c', KeyError)) as c:\n"
    "        mark t2, c\n"
    "try:\n"
    "    raise MyErr('x') from KeyError\n"
    "except (MyErr, IndexError) as e:\n"
    "    e.__context__ = None\n"
    "    mark e, -5, 'a\\tb'\n"
    "    raise\n"
    "finally:\n"
    "    with suppress(KeyError, (IndexError,)), nullcontext(5) as five:\n"
    "        mark five\n";

// Loads `text`; if it loads, the printed form must load back to the same program.
void exercise(const std::string& text, int& loaded) {
  load_result r;
  ASSERT_NO_THROW(r = load(text, "fuzz.ctx")) << text;
  ASSERT_EQ(r.program.has_value(), r.errors.empty());
  for (const auto& d : r.errors) {
    ASSERT_GE(d.line, 1);
    ASSERT_GE(d.column, 1);
    ASSERT_FALSE(d.message.empty());
  }
  if (!r.program) return;
  ++loaded;
  const std::string printed = print(*r.program);
  load_result again = load(printed, "printed.ctx");
  ASSERT_TRUE(again.program) << test::joined(again.errors) << "original:\n"
                             << text << "printed:\n"
                             << printed;
  ASSERT_EQ(*again.program, *r.program) << printed;
}

TEST(Fuzz, RandomBytes) {
  std::mt19937 rng(12345);
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text(rng() % 200, '\0');
    // Half the inputs draw from program-like bytes so the parser gets past the first token.
    const char alphabet[] =
        "with as try except raise mark if not else yield @ x = ( ) , : . \n    'a\" 1 -";
    for (char& c : text)
      c = (i % 2) ? alphabet[rng() % (sizeof alphabet - 1)] : static_cast<char>(rng() % 256);
    exercise(text, loaded);
    if (HasFatalFailure()) return;
  }
}

TEST(Fuzz, MutatedProgram) {
  std::mt19937 rng(777);
  const std::string seed = seed_program;
  int loaded = 0;
  exercise(seed, loaded);
  ASSERT_EQ(loaded, 1);
  const std::string tokens[] = {"with ",
                                "as ",
                                ":",
                                "\n",
                                "    ",
                                "(",
                                ")",
                                ",",
                                "raise ",
                                "raise\n",
                                "'",
                                "\"",
                                "\\",
                                "\t",
                                "-",
                                "9999999999999999999",
                                "self",
                                "e",
                                "stack",
                                "KeyError",
                                "Tracker(",
                                "from ",
                                "#",
                                "except:\n",
                                "return ",
                                "--- expect x\n",
                                std::string(1, '\0')};
  for (int i = 0; i < 4000; ++i) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 5) {
        case 0:
          text.erase(at, 1 + rng() % 8);
          break;  // delete
        case 1:
          text.insert(at, tokens[rng() % std::size(tokens)]);
          break;  // insert a token
        case 2:
          text[at] = static_cast<char>(rng() % 128);
          break;   // replace a byte
        case 3: {  // duplicate a line
          const std::size_t start = text.rfind('\n', at);
          const std::size_t end = text.find('\n', at);
          const std::size_t s = start == std::string::npos ? 0 : start + 1;
          if (end != std::string::npos) text.insert(s, text.substr(s, end - s + 1));
          break;
        }
        default:  // swap two bytes
          std::swap(text[at], text[rng() % text.size()]);
          break;
      }
    }
    exercise(text, loaded);
    if (HasFatalFailure()) return;
  }
  // Many mutations still load (renamed marks, deleted statements...): the round trip is tested.
  EXPECT_GT(loaded, 100);
  std::printf("mutations that loaded: %d of 4000\n", loaded);
}

}  // namespace
}  // namespace ctxmodel

namespace ctxmodel {
namespace {

// Large flat programs: every phase must stay (near) linear and must not recurse per statement.
TEST(Scale, ManyStatementsVariablesAndDeclarations) {
  std::string text;
  constexpr int n = 5000;
  for (int i = 0; i < n; ++i)  // a chain of functions: f0 calls f1 calls ... (no cycle)
    text += "def f" + std::to_string(i) + "():\n    " +
            (i + 1 < n ? "f" + std::to_string(i + 1) + "()\n" : "pass\n");
  text += "x = nullcontext()\n";
  for (int i = 0; i < n; ++i) {
    text += "v" + std::to_string(i) + " = " + std::to_string(i) + "\n";
    text += "x = nullcontext(x)\n";  // the type of x must not grow with every rebinding
  }
  text += "with x as y:\n    mark y\nf0()\n";
  load_result r = load(text, "big.ctx");
  ASSERT_TRUE(r.program) << test::joined(r.errors);
  EXPECT_EQ(*load(print(*r.program), "printed.ctx").program, *r.program);
  // Closing the chain into a cycle is reported once.
  const std::string cyclic = "def f" + std::to_string(n - 1) + "():\n    pass\n";
  std::string with_cycle = text;
  with_cycle.replace(with_cycle.find(cyclic), cyclic.size(),
                     "def f" + std::to_string(n - 1) + "():\n    f0()\n");
  load_result bad = load(with_cycle, "big.ctx");
  ASSERT_EQ(bad.errors.size(), 1u) << test::joined(bad.errors).substr(0, 2000);
  EXPECT_EQ(bad.errors[0].line, 2);
  EXPECT_EQ(bad.errors[0].message,
            "recursion is not allowed: 'f0' can run itself again (f0 -> f1 -> f2 -> f3 -> ... -> "
            "f4997 -> f4998 -> f4999 -> f0)");
}

}  // namespace
}  // namespace ctxmodel
