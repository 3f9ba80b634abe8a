// Corpus files: program text plus `--- expect <version>` sections.
#include "ctxmodel/corpus.hpp"

#include <gtest/gtest.h>

#include "ctxmodel/parse.hpp"

namespace ctxmodel {
namespace {

const char* const well_formed =
    "# ports: TestExitStack.test_exit_raise\n"
    "# catalogue: X19\n"
    "with ExitStack() as stack:\n"
    "    raise ZeroDivisionError('division by zero')\n"
    "\n"
    "--- expect cpython 3.11.2\n"
    "outcome raised #1 ZeroDivisionError('division by zero')\n"
    "--- expect cpython 3.11.7\n"
    "mark 'x'\n"
    "outcome raised #1 ZeroDivisionError('division by zero')\n";

TEST(Corpus, Split) {
  corpus_file f = split_corpus_file(well_formed);
  EXPECT_EQ(f.program_text,
            "# ports: TestExitStack.test_exit_raise\n"
            "# catalogue: X19\n"
            "with ExitStack() as stack:\n"
            "    raise ZeroDivisionError('division by zero')\n"
            "\n");
  ASSERT_EQ(f.expected.size(), 2u);
  EXPECT_EQ(f.expected.at("cpython 3.11.2").events,
            std::vector<std::string>{"outcome raised #1 ZeroDivisionError('division by zero')"});
  EXPECT_EQ(f.expected.at("cpython 3.11.7").events.size(), 2u);
  // The program part is exactly what the parser reads.
  EXPECT_TRUE(load(well_formed, "c.ctx").program);
  EXPECT_EQ(*load(well_formed, "c.ctx").program, *load(f.program_text, "c.ctx").program);
}

TEST(Corpus, JoinRoundTrips) {
  EXPECT_EQ(join_corpus_file(split_corpus_file(well_formed)), well_formed);
  const std::string no_sections = "mark 1\n# no trailing newline";
  EXPECT_EQ(join_corpus_file(split_corpus_file(no_sections)), no_sections);
  EXPECT_EQ(join_corpus_file(split_corpus_file("")), "");
}

TEST(Corpus, JoinOrdersVersionsNaturally) {
  corpus_file f;
  f.program_text = "mark 1";  // no final newline: join adds one before the first section
  f.expected["cpython 3.11.10"] = trace{{"outcome ok"}};
  f.expected["cpython 3.11.2"] = trace{{"mark 1", "outcome ok"}};
  const std::string text = join_corpus_file(f);
  EXPECT_EQ(text,
            "mark 1\n"
            "--- expect cpython 3.11.2\n"
            "mark 1\n"
            "outcome ok\n"
            "--- expect cpython 3.11.10\n"
            "outcome ok\n");
  corpus_file again = split_corpus_file(text);
  EXPECT_EQ(again.expected, f.expected);
  EXPECT_EQ(again.program_text, "mark 1\n");
}

TEST(Corpus, Details) {
  // CRLF, blank lines inside sections, trailing spaces after the version, an empty section.
  corpus_file f = split_corpus_file(
      "mark 1\r\n"
      "--- expect cpython 3.11.7  \r\n"
      "\r\n"
      "mark 1\r\n"
      "outcome ok\r\n"
      "--- expect other\n");
  EXPECT_EQ(f.program_text, "mark 1\r\n");
  EXPECT_EQ(f.expected.at("cpython 3.11.7").events,
            (std::vector<std::string>{"mark 1", "outcome ok"}));
  EXPECT_TRUE(f.expected.at("other").events.empty());
  // A repeated version keeps its first section.
  corpus_file g = split_corpus_file("--- expect v\noutcome ok\n--- expect v\nmark 2\n");
  EXPECT_EQ(g.program_text, "");
  EXPECT_EQ(g.expected.at("v").events, std::vector<std::string>{"outcome ok"});
}

}  // namespace
}  // namespace ctxmodel
