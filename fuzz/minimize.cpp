// minimize.cpp (ctxfuzz-minimize): reduces a divergent program to a small one that still
// diverges, at the program level (minimizer.hpp says how). --match keeps only reductions whose
// report contains TEXT; --allow-known lets it reduce to a known divergence, and the result then
// says so (triage: the finding is probably that one).
//
//   ctxfuzz-minimize FINDING [-o OUT.ctx] [--match TEXT] [--save DIR] [--allow-known]
//
// FINDING: a program (.ctx, e.g. a finding's program.ctx) or a fuzzer input (anything else,
// decoded with the fuzzer's limits). Prints the minimized program and its divergence; with -o,
// also writes the program there; with --save, writes a finding folder (harness.hpp) for it in DIR.
// Exit status: 0 minimized, 1 the input does not diverge (in this process: a divergence that
// only showed in a long fuzzing process is state leaking between runs), 2 bad input.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "harness.hpp"
#include "minimizer.hpp"

int main(int argc, char** argv) {
  using namespace ctxmodel;
  std::string input, out, match, save;
  bool allow_known = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-o" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--match" && i + 1 < argc)
      match = argv[++i];
    else if (a == "--save" && i + 1 < argc)
      save = argv[++i];
    else if (a == "--allow-known")
      allow_known = true;
    else if (input.empty() && a[0] != '-')
      input = a;
    else
      input.clear(), argc = 0;
  }
  if (input.empty()) {
    std::cerr << "usage: ctxfuzz-minimize FINDING [-o OUT.ctx] [--match TEXT] [--save DIR] "
                 "[--allow-known]\n";
    return 2;
  }
  if (!std::filesystem::is_regular_file(input)) {
    std::cerr << input << ": error: cannot read file\n";
    return 2;
  }
  const std::string bytes = ctxfuzz::read_file(input);
  program p;
  if (std::filesystem::path(input).extension() == ".ctx") {
    load_result r = load(split_corpus_file(bytes).program_text, input);
    if (!r.program) {
      for (const auto& d : r.errors) std::cerr << d.to_string() << '\n';
      return 2;
    }
    p = std::move(*r.program);
  } else {
    byte_choices source(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    p = generate(source, ctxfuzz::limits());
  }
  std::optional<ctxfuzz::minimized> m = ctxfuzz::minimize(p, {match, allow_known});
  if (!m) {
    std::cerr << input << ": does not diverge" << (match.empty() ? "" : " that way") << '\n';
    return 1;
  }
  p = std::move(m->program);
  const ctxfuzz::comparison& last = m->last;
  const std::string text = print(p);
  std::cout << text << "--- " << ctxfuzz::verdict_name(last.verdict)
            << (last.verdict == ctxfuzz::verdict::known ? " divergence " + last.known : "") << " ("
            << m->kept << " of " << m->tried << " edits kept)\n"
            << (last.verdict == ctxfuzz::verdict::oracle_error ||
                        last.verdict == ctxfuzz::verdict::unstable
                    ? last.error + "\n"
                    : side_by_side(last.ctxlib, last.cpython, "ctxlib",
                                   ctxfuzz::cpython_version()));
  if (!out.empty()) {
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file << text;
  }
  if (!save.empty()) ctxfuzz::write_finding(save, last, p);
  return 0;
}
