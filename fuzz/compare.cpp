// compare.cpp: the shared differential comparison (compare.hpp).
#include "compare.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"

namespace ctxfuzz {

const char* verdict_name(verdict v) {
  switch (v) {
    case verdict::agree:
      return "agree";
    case verdict::diverge:
      return "divergence";
    case verdict::oracle_error:
      return "oracle-error";
    case verdict::unstable:
      return "unstable";
    case verdict::known:
      return "known";
    case verdict::reduces_to_known:
      return "reduces-to-known";
  }
  return "?";
}

const char* const cpython_hangs = "cpython-hangs";

const std::string& cpython_version() {
  return ctxoracle::interpreter::instance().version();
}

ctxoracle::interpreter& oracle() {
  static ctxoracle::interpreter& limited = []() -> ctxoracle::interpreter& {
    ctxoracle::interpreter& python = ctxoracle::interpreter::instance();
    python.set_time_limit(oracle_time_limit);
    return python;
  }();
  return limited;
}

namespace {

std::vector<known_divergence> parse_known(const std::string& text, const std::string& origin) {
  std::vector<known_divergence> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    known_divergence k;
    std::string side;
    fields >> k.name >> side;
    std::getline(fields >> std::ws, k.text);
    if (k.name.empty() || (side != "cpython" && side != "ctxlib") || k.text.empty()) {
      std::fprintf(stderr, "%s: ignoring a malformed line: %s\n", origin.c_str(), line.c_str());
      continue;
    }
    k.in_cpython = side == "cpython";
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

const std::vector<known_divergence>& known_divergences() {
  static const std::vector<known_divergence> list = [] {
    const char* configured = std::getenv("CTXFUZZ_KNOWN");
    if (!configured) {
      static const char* const compiled_in =
#include "known_divergences.inc"
          ;
      return parse_known(compiled_in, "fuzz/known-divergences.txt");
    }
    std::ifstream in(configured);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_known(text.str(), configured);
  }();
  return list;
}

comparison compare(const ctxmodel::program& p, bool report_known) {
  comparison c;
  c.ctxlib = ctxrunner::run(p);
  ctxoracle::oracle_result theirs = oracle().run(p);
  if (theirs.timed_out) {
    // CPython looping forever (X16) is a written-down difference, whatever ctxlib did.
    c.verdict = report_known ? verdict::diverge : verdict::known;
    c.known = cpython_hangs;
    c.error = theirs.error;
    return c;
  }
  if (!theirs.trace) {
    c.verdict = verdict::oracle_error;
    c.error = theirs.error;
    return c;
  }
  c.cpython = std::move(*theirs.trace);
  if (c.ctxlib == c.cpython) return c;
  // A difference must survive a second run of both sides: a run that sees what an earlier
  // program left behind (an object collected late, a callback still queued on the event loop)
  // is a harness problem, not a divergence.
  const ctxmodel::trace ours_again = ctxrunner::run(p);
  ctxoracle::oracle_result theirs_again = oracle().run(p);
  if (!theirs_again.trace) {
    c.verdict = verdict::oracle_error;
    c.error = "on the second run: " + theirs_again.error;
  } else if (ours_again != c.ctxlib || *theirs_again.trace != c.cpython) {
    c.verdict = verdict::unstable;
    c.error =
        ours_again != c.ctxlib
            ? "ctxlib's trace differs on a second run:\n" +
                  ctxmodel::side_by_side(c.ctxlib, ours_again, "first run", "second run")
            : "CPython's trace differs on a second run:\n" +
                  ctxmodel::side_by_side(c.cpython, *theirs_again.trace, "first run", "second run");
  } else {
    c.verdict = verdict::diverge;
    if (!report_known) {
      const std::string ours = c.ctxlib.to_text(), theirs = c.cpython.to_text();
      for (const known_divergence& k : known_divergences()) {
        const std::string& with = k.in_cpython ? theirs : ours;
        const std::string& without = k.in_cpython ? ours : theirs;
        if (with.find(k.text) != std::string::npos && without.find(k.text) == std::string::npos) {
          c.verdict = verdict::known;
          c.known = k.name;
          break;
        }
      }
    }
  }
  return c;
}

}  // namespace ctxfuzz
