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

#include "compare.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/program.hpp"
#include "ctxmodel/trace.hpp"

namespace ctxfuzz {

// The generator's limits for the differential target, its seeds and its replays (one place, so
// a saved input decodes to the same program everywhere).
ctxmodel::generate_limits limits();

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

// Call before CPython starts. Under AddressSanitizer, CPython allocates with malloc
// (PYTHONMALLOC=malloc, unless the environment says otherwise) so LeakSanitizer sees its memory;
// without sanitizers it keeps pymalloc, which is faster and has nothing to tell.
void choose_python_allocator();

// A whole file's bytes ("" if it cannot be read).
std::string read_file(const std::filesystem::path& path);

}  // namespace ctxfuzz
