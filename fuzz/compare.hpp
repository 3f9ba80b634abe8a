// fuzz/compare.hpp: the differential comparison the fuzz targets and the property tests share:
// a program run on ctxlib and on the embedded CPython, a difference confirmed by a second run of
// each side, and the divergences already written down (fuzz/known-divergences.txt).
//
//   ctxfuzz::comparison c = ctxfuzz::compare(checked_program);
//   if (c.verdict == ctxfuzz::verdict::diverge) report(c.ctxlib, c.cpython);
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxoracle {
class interpreter;
}

namespace ctxfuzz {

enum class verdict {
  agree,
  diverge,           // the traces differ, the same way on a second run of each side
  oracle_error,      // the oracle failed (a harness bug, never a divergence)
  unstable,          // a side gave a different trace when run again (state leaking between runs)
  known,             // a divergence that matches an open entry of the known-divergence list
  reduces_to_known,  // a divergence the list does not match, but whose reduction it does
};

const char* verdict_name(verdict v);

struct comparison {
  ctxfuzz::verdict verdict = ctxfuzz::verdict::agree;
  ctxmodel::trace ctxlib;   // ctxrunner::run
  ctxmodel::trace cpython;  // the oracle (empty on oracle_error)
  std::string error;        // oracle_error: the oracle's message; unstable: which side, and how
  std::string known;        // known, reduces_to_known: the name of the matching entry
};

// A divergence already found and written down (fuzz/known-divergences.txt), skipped by the
// fuzz targets until ctxlib is fixed: it matches when `text` occurs in one side's trace and not
// in the other's.
struct known_divergence {
  std::string name;
  bool in_cpython = true;  // where `text` occurs: CPython's trace (else ctxlib's)
  std::string text;
};

// The list in the file $CTXFUZZ_KNOWN (set but empty, or a missing file: none), else
// fuzz/known-divergences.txt as it was when the target was configured. Lines:
// `NAME cpython|ctxlib TEXT`; `#` starts a comment.
const std::vector<known_divergence>& known_divergences();

// The `known` name of a program CPython did not finish (the oracle's time limit interrupted
// it): CPython can loop forever where ctxlib stops (docs/differences.md, X16).
extern const char* const cpython_hangs;

// Runs `checked_program` on ctxlib and on CPython and compares the traces. Anything but
// `agree` is re-run once to tell a real divergence from state leaking between runs; a
// divergence on the known list, or CPython not finishing (`cpython_hangs`), is `known`, unless
// `report_known` (then a divergence, with the oracle's message in `error`).
comparison compare(const ctxmodel::program& checked_program, bool report_known = false);

// The CPython version the oracle embeds ("cpython 3.11.7").
const std::string& cpython_version();

// How long the fuzz tools let CPython run one program. Programs take milliseconds; CPython
// looping forever (X16: a campaign's corpus keeps such inputs) is cut off after this, well
// inside libFuzzer's -timeout, where the oracle's own default is a minute per program.
inline constexpr std::chrono::seconds oracle_time_limit{2};

// The embedded CPython as every fuzz tool runs it (compare() included): with that time limit.
ctxoracle::interpreter& oracle();

}  // namespace ctxfuzz
