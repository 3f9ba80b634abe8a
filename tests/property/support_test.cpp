// The properties' own machinery: the trace relations they rely on, the structural reductions,
// and shrinking (a property that fails on generated programs shrinks to the smallest program).
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <string_view>

#include "ctxmodel/parse.hpp"
#include "ctxrunner/runner.hpp"
#include "program_gen.hpp"
#include "reduce.hpp"
#include "trace_relations.hpp"

namespace {

ctxmodel::trace of(std::initializer_list<std::string> events) {
  return ctxmodel::trace{std::vector<std::string>(events)};
}

TEST(ChainLoops, ABackReferenceToTheExceptionItselfIsALoop) {
  EXPECT_EQ(ctxprop::chain_loops(of({"mark 1", "outcome raised #1 KeyError('K') context=(#1)"})),
            std::vector<std::string>{"event 2: #a KeyError -context-> #a KeyError"});
}

TEST(ChainLoops, ALoopThroughSeveralLinksIsReportedWithItsPath) {
  EXPECT_EQ(ctxprop::chain_loops(of({"mark #1 A() cause=(#2 B() context=(#1)) suppress_context"})),
            std::vector<std::string>{"event 1: #a A -cause-> #b B -context-> #a A"});
}

TEST(ChainLoops, ADiamondIsNotALoop) {
  EXPECT_TRUE(ctxprop::chain_loops(of({"mark #1 A() cause=(#2 B()) suppress_context context=(#2)",
                                       "outcome raised #3 C() context=(#4 D() context=(#5 E())) "
                                       "cause=(#5)"}))
                  .empty());
}

TEST(ChainLoops, QuotedTextAndArgumentListsAreNotChains) {
  EXPECT_TRUE(ctxprop::chain_loops(of({"mark 'context=(#1)' #1 KeyError('(#1)')",
                                       "enter C1(#1 KeyError(), #2 A() context=(#1))"}))
                  .empty());
  EXPECT_EQ(
      ctxprop::chain_loops(of({"exit C1('x') #1 A() context=(#2 B(\"it's )\") context=(#1))"})),
      std::vector<std::string>{"event 1: #a A -context-> #b B -context-> #a A"});
}

TEST(WithoutContexts, RemovesContextClausesAndRenumbersInOrderOfAppearance) {
  const ctxmodel::trace t = of({
      "mark #1 KeyError() context=(#2 ValueError('a)b'))",
      "exit C1() #3 IndexError() cause=(#1) suppress_context context=(#1)",
      "outcome raised #3 IndexError() cause=(#1 KeyError() context=(#2 ValueError('a)b'))) "
      "suppress_context context=(#1)",
  });
  EXPECT_EQ(ctxprop::without_contexts(t),
            of({"mark #1 KeyError()", "exit C1() #2 IndexError() cause=(#1) suppress_context",
                "outcome raised #2 IndexError() cause=(#1 KeyError()) suppress_context"}));
}

TEST(WithoutContexts, TracesThatDifferOnlyInContextsCompareEqual) {
  EXPECT_EQ(
      ctxprop::without_contexts(of({"outcome raised #1 IndexError() context=(#2 KeyError())"})),
      ctxprop::without_contexts(of({"outcome raised #1 IndexError()"})));
  EXPECT_NE(ctxprop::without_contexts(of({"outcome raised #1 IndexError() cause=(#2 KeyError())"})),
            ctxprop::without_contexts(of({"outcome raised #1 IndexError()"})));
}

TEST(Reductions, EachRemovesOneThing) {
  const ctxmodel::load_result loaded = ctxmodel::load(R"(class E1(Exception)

cm C1(p1):
    exit(exc):
        mark exc, 1

with C1(1):
    try:
        raise E1
    except KeyError:
        pass
    finally:
        mark suppress((KeyError, IndexError), E1)
)",
                                                      "<reductions>");
  ASSERT_TRUE(loaded.program);
  EXPECT_EQ(ctxprop::statement_count(*loaded.program), 8);
  std::vector<std::string> printed;
  for (const ctxmodel::program& r : ctxprop::reductions(*loaded.program)) {
    EXPECT_NE(r, *loaded.program);
    EXPECT_LE(ctxprop::statement_count(r), ctxprop::statement_count(*loaded.program));
    printed.push_back(ctxmodel::print(r));
  }
  auto has = [&](std::string_view needle) {
    return std::any_of(printed.begin(), printed.end(),
                       [&](const std::string& t) { return t.find(needle) != std::string::npos; });
  };
  EXPECT_TRUE(has("cm C1:\n"));                                  // a parameter
  EXPECT_TRUE(has("cm C1(p1):\n    pass\n"));                    // a member
  EXPECT_TRUE(has("        mark exc\n"));                        // a marked value
  EXPECT_TRUE(has("with C1(1):\n    raise E1\n"));               // try replaced by its body
  EXPECT_TRUE(has("    finally:\n        pass\n"));              // a lone statement: pass
  EXPECT_TRUE(has("mark suppress((KeyError,), E1)"));            // a tuple item
  EXPECT_TRUE(has("mark suppress((KeyError, IndexError))"));     // a suppress() class
  EXPECT_TRUE(has("    try:\n        raise E1\n    finally:"));  // a handler (finally stays)
}

// A listener that keeps RapidCheck quiet: these tests look at the result only.
class quiet final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

// Runs a failing property on generated programs and returns the shrunk counterexample.
ctxmodel::program shrunk_counterexample(
    std::uint64_t seed, const std::function<bool(const ctxmodel::program&)>& holds) {
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = 2000;
  rc::detail::TestMetadata metadata;
  metadata.id = "shrinking";
  quiet listener;
  const rc::detail::TestResult result = rc::detail::checkProperty(rc::detail::toProperty([&] {
                                                                    const ctxmodel::program p =
                                                                        *ctxprop::programs();
                                                                    RC_ASSERT(holds(p));
                                                                  }),
                                                                  metadata, params, listener);
  EXPECT_TRUE(result.is<rc::detail::FailureResult>());
  if (!result.is<rc::detail::FailureResult>()) return {};
  const auto& example = result.get<rc::detail::FailureResult>().counterExample;
  EXPECT_EQ(example.size(), 1u);
  ctxmodel::load_result loaded = ctxmodel::load(example.front().second, "<counterexample>");
  EXPECT_TRUE(loaded.program) << example.front().second;
  return loaded.program.value_or(ctxmodel::program{});
}

TEST(Shrinking, AProgramThatRaisesShrinksToOneRaise) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const ctxmodel::program p = shrunk_counterexample(seed, [](const ctxmodel::program& q) {
      return ctxrunner::run(q).events.back() == "outcome ok";
    });
    EXPECT_EQ(ctxmodel::print(p), "raise Exception\n") << "seed " << seed;
  }
}

TEST(Shrinking, AnExceptionReachingAnExitShrinksToTheSmallestSuchProgram) {
  // Fails when an exception reaches a declared manager's exit: the smallest such program
  // declares a cm and raises inside `with` it.
  for (std::uint64_t seed : {1, 2, 3}) {
    const ctxmodel::program p = shrunk_counterexample(seed, [](const ctxmodel::program& q) {
      for (const std::string& e : ctxrunner::run(q).events)
        if (e.rfind("exit ", 0) == 0 && e.find(" #") != std::string::npos) return false;
      return true;
    });
    EXPECT_EQ(ctxmodel::print(p), "cm C1:\n    pass\n\nwith C1():\n    raise Exception\n")
        << "seed " << seed;
  }
}

}  // namespace
