// diff_target.cpp: the differential fuzz target. Every input decodes (ctxmodel::generate) to a
// valid, bounded program; it runs on ctxlib (ctxrunner) and on the embedded CPython (ctxoracle),
// and any difference between the traces is written down (harness.hpp) before the target aborts,
// so libFuzzer keeps the input too. An oracle error is reported the same way: it is a harness bug.
// Divergences on the known list (fuzz/known-divergences.txt: found, written down, not fixed yet)
// are skipped, so a campaign goes on finding new ones. A divergence the list does not match is
// reduced (minimizer.hpp) allowing known divergences: if that lands on a known one, the finding is
// written down as `reduces-to-known` (with the reduction in triage.txt) and fuzzing goes on, since
// a known bug often shows in disguise (caught by a handler before it reaches the trace).
//
//   ctxfuzz_diff -dict=fuzz/diff.dict CORPUS_DIR SEED_DIR      # fuzz
//   ctxfuzz_diff fuzz/findings/*/input.bin                      # replay saved inputs
//
// CPython starts once, in LLVMFuzzerInitialize, with PYTHONMALLOC=malloc under ASan (unless set
// otherwise) so LeakSanitizer sees Python's allocations, and is never finalized. The lines of
// CPython's contextlib.py each run reaches are extra coverage features (pycoverage.hpp), so the
// fuzzer explores CPython's behaviour too: seen by probes in contextlib's code, or by tracing
// with CTXFUZZ_CONTEXTLIB_COVERAGE=trace (slower); CTXFUZZ_CONTEXTLIB_COVERAGE=0 turns it off.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "harness.hpp"
#include "minimizer.hpp"
#include "pycoverage.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ctxfuzz::choose_python_allocator();
  if (ctxfuzz::cpython_version().empty()) {
    std::fprintf(stderr, "ctxfuzz_diff: the embedded CPython did not start\n");
    std::abort();
  }
  const char* chosen = std::getenv("CTXFUZZ_CONTEXTLIB_COVERAGE");
  const std::string coverage = chosen ? chosen : "";
  using ctxfuzz::contextlib_coverage::method;
  std::string why;
  if (coverage != "0" && !ctxfuzz::contextlib_coverage::start(
                             coverage == "trace" ? method::trace : method::probes, why)) {
    std::fprintf(stderr, "ctxfuzz_diff: no contextlib.py coverage: %s\n", why.c_str());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ctxmodel::byte_choices source(data, size);
  const ctxmodel::program p = ctxmodel::generate(source, ctxfuzz::limits());
  ctxfuzz::comparison c = ctxfuzz::compare(p);
  if (c.verdict == ctxfuzz::verdict::known && c.known == ctxfuzz::cpython_hangs) {
    // Each run of it takes the whole time limit: -1 keeps it out of the corpus, so the fuzzer
    // does not spend seconds a time mutating programs CPython cannot finish (X16).
    return -1;
  }
  if (c.verdict == ctxfuzz::verdict::agree || c.verdict == ctxfuzz::verdict::known) return 0;
  if (c.verdict == ctxfuzz::verdict::diverge) {
    const std::optional<ctxfuzz::minimized> m = ctxfuzz::minimize(p, {"", true});
    if (m && m->last.verdict == ctxfuzz::verdict::known) {
      c.verdict = ctxfuzz::verdict::reduces_to_known;
      c.known = m->last.known;
      const auto dir = ctxfuzz::save_finding(c, p, {data, size});
      std::ofstream(dir / "triage.txt")
          << ctxmodel::print(m->program) << "--- known divergence " << c.known << '\n'
          << ctxmodel::side_by_side(m->last.ctxlib, m->last.cpython, "ctxlib",
                                    ctxfuzz::cpython_version());
      std::fprintf(
          stderr, "ctxfuzz_diff: a divergence that reduces to known divergence %s, written to %s\n",
          c.known.c_str(), dir.c_str());
      return 0;
    }
  }
  const auto dir = ctxfuzz::save_finding(c, p, {data, size});
  std::fprintf(stderr, "ctxfuzz_diff: %s, written to %s\n%s", ctxfuzz::verdict_name(c.verdict),
               dir.c_str(), ctxmodel::print(p).c_str());
  std::abort();
}
