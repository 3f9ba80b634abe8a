// checks.cpp: the properties' assertions and their failure reports (checks.hpp).
#include "checks.hpp"

#include <rapidcheck.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "compare.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"
#include "glue.hpp"
#include "trace_relations.hpp"

namespace ctxprop {

namespace {

std::string version() {
  return ctxoracle::interpreter::instance().version();
}

bool report_known() {
  const char* v = std::getenv("CTXLIB_PROPERTY_REPORT_KNOWN");
  return v && *v && std::string_view(v) != "0";
}

std::string section(std::string_view title, const std::string& text) {
  std::string out = "--- " + std::string(title) + ":\n" + text;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "  " + i + "\n";
  return out.empty() ? "  (none)\n" : out;
}

// What kind of case it was, for the distribution RapidCheck prints: whether a declared
// manager's exit saw an exception, whether one escaped the program.
void classify(const ctxmodel::trace& t) {
  const bool exit_sees_exception = std::any_of(t.events.begin(), t.events.end(), [](const auto& e) {
    return e.rfind("exit ", 0) == 0 && e.find(" #") != std::string::npos;
  });
  const bool raised = !t.events.empty() && t.events.back().rfind("outcome raised", 0) == 0;
  RC_CLASSIFY(exit_sees_exception, "an exit sees an exception");
  RC_CLASSIFY(raised, "an exception escapes");
}

}  // namespace

void check_agreement(const ctxmodel::program& p) {
  const ctxfuzz::comparison c = ctxfuzz::compare(p, report_known());
  classify(c.ctxlib);
  std::string message = section("program", ctxmodel::print(p));
  switch (c.verdict) {
    case ctxfuzz::verdict::agree:
      return;
    case ctxfuzz::verdict::known:
      RC_TAG("known divergence: " + c.known);
      return;
    case ctxfuzz::verdict::oracle_error:
      message += section("the oracle failed (a harness bug, not a divergence)", c.error) +
                 section("ctxlib's trace", c.ctxlib.to_text());
      break;
    case ctxfuzz::verdict::unstable:
      message += section("a side gave another trace when run again", c.error);
      break;
    default:
      if (!c.error.empty()) message += section("the oracle", c.error);
      message += section("DIVERGENCE between ctxlib and " + version(),
                         ctxmodel::side_by_side(c.ctxlib, c.cpython, "ctxlib", version()));
  }
  RC_FAIL(message + save_hint(save_counterexample(p)));
}

void check_law(const law_case& c) {
  const ctxmodel::trace lhs = ctxrunner::run(c.lhs);
  const ctxmodel::trace rhs = ctxrunner::run(c.rhs);
  const bool on_ctxlib = related(c.holds, lhs, rhs);
  classify(lhs);

  ctxoracle::interpreter& python = ctxoracle::interpreter::instance();
  const ctxoracle::oracle_result lhs_python = python.run(c.lhs);
  const ctxoracle::oracle_result rhs_python = python.run(c.rhs);
  if (on_ctxlib && lhs_python.trace && rhs_python.trace &&
      related(c.holds, *lhs_python.trace, *rhs_python.trace))
    return;

  std::string message = "law: " + c.law + " (" + relation_text(c.holds) + ")\n";
  if (!lhs_python.trace || !rhs_python.trace) {
    message += "the oracle failed (a harness bug, not a divergence):\n" +
               (lhs_python.trace ? rhs_python.error : lhs_python.error) + "\n";
  } else if (!on_ctxlib) {
    message += "it does not hold on ctxlib";
    message += related(c.holds, *lhs_python.trace, *rhs_python.trace)
                   ? " (it holds on " + version() + ")\n"
                   : " nor on " + version() + ": the law, not ctxlib, is wrong here\n";
  } else {
    message += "it holds on ctxlib but not on " + version() +
               ": the law (or how the property builds it) is wrong here\n";
  }
  message +=
      section(c.lhs_title, ctxmodel::print(c.lhs)) + section(c.rhs_title, ctxmodel::print(c.rhs));
  auto both = [&](const std::string& who, const ctxmodel::trace& l, const ctxmodel::trace& r) {
    message += section(who + ": " + c.lhs_title + " | " + c.rhs_title,
                       ctxmodel::side_by_side(l, r, c.lhs_title, c.rhs_title));
    if (c.holds == relation::equal_without_contexts)
      message += section(who + ", without __context__",
                         ctxmodel::side_by_side(without_contexts(l), without_contexts(r),
                                                c.lhs_title, c.rhs_title));
  };
  both("ctxlib", lhs, rhs);
  if (lhs_python.trace && rhs_python.trace) both(version(), *lhs_python.trace, *rhs_python.trace);
  const auto lhs_file = save_counterexample(c.lhs, "-lhs");
  const auto rhs_file = save_counterexample(c.rhs, "-rhs");
  RC_FAIL(message + save_hint(lhs_file) + "\n" + save_hint(rhs_file));
}

void check_no_chain_loops(const ctxmodel::program& p) {
  const ctxmodel::trace ours = ctxrunner::run(p);
  const std::vector<std::string> loops = chain_loops(ours);
  if (loops.empty()) return;
  const ctxoracle::oracle_result theirs = ctxoracle::interpreter::instance().run(p);
  if (theirs.trace) {
    std::vector<std::string> unmatched = loops, cpython = chain_loops(*theirs.trace);
    std::erase_if(unmatched, [&](const std::string& loop) {
      auto it = std::find(cpython.begin(), cpython.end(), loop);
      if (it == cpython.end()) return false;
      cpython.erase(it);
      return true;
    });
    if (unmatched.empty()) {
      RC_TAG("chain loops, also in CPython's trace");
      return;
    }
  }
  const auto file = save_counterexample(p);
  std::string message = section("program", ctxmodel::print(p)) +
                        section("chain loops in ctxlib's trace", lines(loops));
  if (!theirs.trace) {
    message += section("the oracle failed (a harness bug, not a divergence)", theirs.error);
  } else {
    message +=
        section("chain loops in " + version() + "'s trace", lines(chain_loops(*theirs.trace)));
    message += section("traces", ctxmodel::side_by_side(ours, *theirs.trace, "ctxlib", version()));
  }
  RC_FAIL(message + save_hint(file));
}

}  // namespace ctxprop
