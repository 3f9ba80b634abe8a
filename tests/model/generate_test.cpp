// The program generator (ctxmodel/generate.hpp): every program it builds checks, prints and
// loads back unchanged, stays within its limits, and shrinks to `pass`; its encoder rebuilds every
// program the generator builds and turns every corpus program into one that checks.
#include "ctxmodel/generate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/parse.hpp"
#include "test_util.hpp"

namespace ctxmodel {
namespace {

// Uniform picks from a seeded engine.
class random_choices final : public choices {
 public:
  explicit random_choices(std::uint64_t seed) : engine_(seed) {}
  std::size_t pick(std::size_t bound) override {
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

class zero_choices final : public choices {
 public:
  std::size_t pick(std::size_t) override { return 0; }
};

// Deepest block nesting below a body (its own statements are at depth 0).
int depth(const block& b) {
  int d = 0;
  for (const auto& s : b) {
    std::visit(
        [&](const auto& n) {
          using N = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<N, with_stmt>) d = std::max(d, 1 + depth(n.body));
          if constexpr (std::is_same_v<N, try_stmt>) {
            d = std::max(d, 1 + depth(n.body));
            for (const auto& h : n.handlers) d = std::max(d, 1 + depth(h.body));
            if (n.final_block) d = std::max(d, 1 + depth(*n.final_block));
          }
          if constexpr (std::is_same_v<N, if_stmt>) {
            d = std::max(d, 1 + depth(n.then_block));
            if (n.else_block) d = std::max(d, 1 + depth(*n.else_block));
          }
        },
        s.node);
  }
  return d;
}

// The constructs of the language, as they print: the generator must reach every one.
const char* const constructs[] = {
    "class ",
    "cm ",
    "acm ",
    "enter:",
    "exit(",
    "close:",
    "aenter:",
    "aexit(",
    "aclose:",
    "def ",
    "async def ",
    "(*exc)",
    "@contextmanager",
    "@C",
    "@A",
    "@g",
    "with ",
    "async with ",
    " as ",
    "try:",
    "except:",
    "except (",
    "finally:",
    "if ",
    "if not ",
    "else:",
    "raise\n",
    " from ",
    "mark ",
    "__context__",
    "__cause__",
    "__suppress_context__",
    "yield\n",
    "yield ",
    "return\n",
    "return ",
    "await sleep()",
    "await af",
    "ExitStack()",
    "AsyncExitStack()",
    "NeutralExitStack()",
    "suppress(",
    "nullcontext(",
    "closing(",
    "aclosing(",
    ".enter_context(",
    ".push(",
    ".callback(",
    ".pop_all()",
    ".close()",
    ".enter_async_context(",
    ".push_async_exit(",
    ".push_async_callback(",
    ".aclose()",
    "CancelledError",
    "StopIteration",
    "GeneratorExit",
    "self",
    "p1: exception",
    "p1: stack",
    "= await ",
    "__context__ = None",
    "@asynccontextmanager",
    "@ag",
    "async with ag",
    "(*exc):\n    if exc:",
};

TEST(Generate, RandomProgramsCheckRoundTripAndStayWithinLimits) {
  generate_limits limits;
  std::map<std::string, int> seen;
  std::map<int, int> sizes;
  for (std::uint64_t seed = 0; seed < 10000; ++seed) {
    random_choices source(seed);
    program p;
    ASSERT_NO_THROW(p = generate(source, limits)) << "seed " << seed;
    const std::string text = print(p);
    load_result again = load(text, "generated.ctx");
    ASSERT_TRUE(again.program) << "seed " << seed << ":\n" << text << test::joined(again.errors);
    ASSERT_EQ(*again.program, p) << "seed " << seed << ":\n" << text;
    ASSERT_EQ(print(*again.program), text);
    const int n = count_statements(p);
    ASSERT_LE(n, limits.max_statements) << text;
    ASSERT_LE(static_cast<int>(p.classes.size()), limits.max_classes);
    ASSERT_LE(static_cast<int>(p.cms.size()), limits.max_cms);
    ASSERT_LE(static_cast<int>(p.functions.size()), limits.max_functions);
    ASSERT_LE(depth(p.main), limits.max_depth) << text;
    for (const auto& f : p.functions) ASSERT_LE(depth(f.body), limits.max_depth) << text;
    ++sizes[n];
    for (const char* c : constructs)
      if (text.find(c) != std::string::npos) ++seen[c];
  }
  // Every construct shows up (a missing one means a branch the generator never takes).
  for (const char* c : constructs) EXPECT_GT(seen[c], 0) << c;
  // Sizes spread over the range rather than sticking to the smallest programs.
  int large = 0;
  for (const auto& [n, programs] : sizes)
    if (n >= limits.max_statements / 2) large += programs;
  EXPECT_GT(large, 1000);
}

TEST(Generate, AllZeroDecisionsGiveTheSmallestProgram) {
  zero_choices zeros;
  program p = generate(zeros);
  EXPECT_EQ(print(p), "pass\n");
  byte_choices empty(nullptr, 0);
  EXPECT_EQ(generate(empty), p);
}

generate_limits sized(int statements, int classes, int cms, int functions, int depth) {
  generate_limits l;
  l.max_statements = statements;
  l.max_classes = classes;
  l.max_cms = cms;
  l.max_functions = functions;
  l.max_depth = depth;
  return l;
}

TEST(Generate, ZeroLimitsStillGiveAValidProgram) {
  const generate_limits tiny = sized(0, 0, 0, 0, 0);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    random_choices source(seed);
    program p = generate(source, tiny);
    EXPECT_EQ(count_statements(p), 1) << print(p);
  }
}

TEST(Generate, SyncOnlyLimitsKeepAsyncOut) {
  generate_limits sync;
  sync.allow_async = false;
  sync.allow_generators = false;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    random_choices source(seed);
    const std::string text = print(generate(source, sync));
    for (const char* word :
         {"async ", "await ", "acm ", "AsyncExitStack", "NeutralExitStack", "aclosing", "yield"})
      ASSERT_EQ(text.find(word), std::string::npos) << word << " in:\n" << text;
  }
}

TEST(Generate, BytesDecodeDeterministically) {
  std::mt19937_64 engine(7);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::uint8_t> bytes(engine() % 300);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(engine());
    byte_choices one(bytes.data(), bytes.size()), two(bytes.data(), bytes.size());
    EXPECT_EQ(generate(one), generate(two));
  }
}

TEST(Generate, EncodingRebuildsEveryGeneratedProgram) {
  std::mt19937_64 engine(11);
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::uint8_t> bytes(engine() % 400);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(engine());
    byte_choices source(bytes.data(), bytes.size());
    const program p = generate(source);
    const std::vector<std::uint8_t> code = encode(p);
    byte_choices replay(code.data(), code.size());
    const program q = generate(replay);
    ASSERT_EQ(q, p) << "original:\n" << print(p) << "rebuilt:\n" << print(q);
    // Encoding is canonical: the encoding of the rebuilt program is the same bytes.
    ASSERT_EQ(encode(q), code);
  }
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every corpus program encodes to bytes that build a checked program; most are rebuilt
// exactly (up to names), the others come close.
TEST(Generate, CorpusProgramsEncodeToSimilarPrograms) {
  const std::filesystem::path root = std::filesystem::path(CTXLIB_SOURCE_DIR) / "corpus";
  const generate_limits roomy = sized(200, 8, 8, 12, 8);
  int programs = 0, same_size = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".ctx") continue;
    corpus_file file = split_corpus_file(read(entry.path()));
    load_result r = load(file.program_text, entry.path().string());
    ASSERT_TRUE(r.program) << entry.path() << test::joined(r.errors);
    std::vector<std::uint8_t> code;
    ASSERT_NO_THROW(code = encode(*r.program, roomy)) << entry.path();
    byte_choices source(code.data(), code.size());
    program built = generate(source, roomy);
    ++programs;
    if (count_statements(built) == count_statements(*r.program)) ++same_size;
  }
  EXPECT_GT(programs, 100);
  EXPECT_GT(same_size * 2, programs) << same_size << " of " << programs;
}

}  // namespace
}  // namespace ctxmodel
