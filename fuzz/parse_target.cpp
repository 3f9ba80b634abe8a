// parse_target.cpp: fuzzes the program-text front end (ctxmodel::load) with arbitrary bytes.
// It must never crash or hang; every rejection is a diagnostic `fuzz.ctx:LINE:COL: error: ...`
// with a position inside the text; whatever loads prints to text that loads back to the same
// program and prints the same again.
//
//   ctxfuzz_parse -dict=fuzz/parse.dict CORPUS_DIR SEED_DIR
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ctxmodel/parse.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "ctxfuzz_parse: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ctxmodel::load_result r = ctxmodel::load(text, "fuzz.ctx");
  if (r.program.has_value() == !r.errors.empty())
    fail("a load result must have either a program or errors", "");
  // The end of the text is reported on the line after the last newline (also when the last line
  // has no newline of its own), so a position may be one line past the text's lines.
  std::size_t lines = 2;
  for (char c : text) lines += c == '\n';
  for (const auto& d : r.errors) {
    const std::string shown = d.to_string();
    const std::string prefix =
        "fuzz.ctx:" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": error: ";
    if (d.file != "fuzz.ctx" || d.line < 1 || d.column < 1 || d.message.empty() ||
        static_cast<std::size_t>(d.line) > lines || shown.rfind(prefix, 0) != 0)
      fail("a diagnostic without file:line:col and a message", shown);
  }
  if (!r.program) return 0;
  const std::string printed = ctxmodel::print(*r.program);
  const ctxmodel::load_result again = ctxmodel::load(printed, "printed.ctx");
  if (!again.program) {
    std::string errors;
    for (const auto& d : again.errors) errors += d.to_string() + "\n";
    fail("a loaded program prints to text that does not load", printed + errors);
  }
  if (!(*again.program == *r.program)) fail("print/load changed the program", printed);
  if (ctxmodel::print(*again.program) != printed) fail("printing is not stable", printed);
  return 0;
}
