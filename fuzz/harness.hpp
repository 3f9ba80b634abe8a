// fuzz/harness.hpp: what the fuzz targets and tools share — the fuzzer's program limits, the
// differential comparison (ctxlib's trace against the embedded CPython's, as ctxdiff compares),
// and how a finding is written down.
//
//   ctxmodel::byte_choices source(data, size);
//   ctxmodel::program p = ctxmodel::generate(source, ctxfuzz::limits());
//   ctxfuzz::comparison c = ctxfuzz::compare(p);
//   if (c.verdict != ctxfuzz::verdict::agree) ctxfuzz::save_finding(c, p, {data, size});
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ctxmodel/generate.hpp"
#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxfuzz {

// The generator's limits for the differential target, its seeds and its replays (one place, so
// a saved input decodes to the same program everywhere).
ctxmodel::generate_limits limits();

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

// Runs `checked_program` on ctxlib and on CPython and compares the traces. Anything but
// `agree` is re-run once to tell a real divergence from state leaking between runs; a
// divergence on the known list is `known`, unless `report_known`.
comparison compare(const ctxmodel::program& checked_program, bool report_known = false);

// Where findings go: $CTXFUZZ_FINDINGS, else ./ctxfuzz-findings.
std::filesystem::path findings_directory();

// Writes the finding to findings_directory()/<verdict>-<hash of the program>/: program.ctx (the
// program, with the verdict in a comment), ctxlib.trace, cpython.trace, report.txt (side by
// side, or the oracle's error), program.py (ctxoracle::export_python) and, when given,
// input.bin (the fuzzer's bytes). Returns the directory. Never throws.
std::filesystem::path save_finding(const comparison& c, const ctxmodel::program& p,
                                   std::span<const std::uint8_t> input = {});

// The same files in `dir` (created if needed). Without `input`, input.bin is the program's
// encoding (ctxmodel::encode) when that decodes back to exactly this program.
void write_finding(const std::filesystem::path& dir, const comparison& c,
                   const ctxmodel::program& p, std::span<const std::uint8_t> input = {});

// A whole file's bytes ("" if it cannot be read).
std::string read_file(const std::filesystem::path& path);

// The CPython version the oracle embeds ("cpython 3.11.7").
const std::string& cpython_version();

}  // namespace ctxfuzz
