// pycov.cpp (ctxfuzz-pycov): which lines of CPython's contextlib.py programs reach, per
// component (class or function), and which lines none of them reach.
//
//   ctxfuzz-pycov PATH...
//
// PATH: a .ctx program or a folder of them (e.g. corpus/), or a folder or file of fuzzer inputs
// (no extension or .bin: decoded with the fuzzer's limits, e.g. a campaign's corpus or seeds).
// Every program runs on the oracle with contextlib.py traced (pycoverage.hpp); the report covers
// them all.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "harness.hpp"
#include "pycoverage.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ctxfuzz-pycov PATH...   (.ctx programs, folders of them, fuzzer inputs)\n";
    return 2;
  }
  ctxfuzz::choose_python_allocator();
  if (ctxfuzz::cpython_version().empty()) {
    std::cerr << "ctxfuzz-pycov: the embedded CPython did not start\n";
    return 2;
  }
  std::string why;
  if (!ctxfuzz::contextlib_coverage::start(why)) {
    std::cerr << "ctxfuzz-pycov: " << why << '\n';
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p = argv[i];
    if (!fs::exists(p)) {
      std::cerr << p.string() << ": error: no such file or folder\n";
      return 2;
    }
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  int programs = 0, failed = 0;
  for (const fs::path& f : files) {
    const std::string bytes = ctxfuzz::read_file(f);
    ctxmodel::program p;
    if (f.extension() == ".ctx") {
      ctxmodel::load_result r =
          ctxmodel::load(ctxmodel::split_corpus_file(bytes).program_text, f.string());
      if (!r.program) {
        for (const auto& d : r.errors) std::cerr << d.to_string() << '\n';
        ++failed;
        continue;
      }
      p = std::move(*r.program);
    } else if (f.extension().empty() || f.extension() == ".bin") {
      ctxmodel::byte_choices source(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                    bytes.size());
      p = ctxmodel::generate(source, ctxfuzz::limits());
    } else {
      continue;  // neither a program nor a fuzzer input (e.g. a corpus tool script)
    }
    if (!ctxoracle::interpreter::instance().run(p).trace) ++failed;
    ++programs;
  }
  std::cout << "contextlib coverage of " << programs << " programs (" << ctxfuzz::cpython_version()
            << ", " << ctxfuzz::contextlib_coverage::file() << ")\n";
  ctxfuzz::contextlib_coverage::report(std::cout);
  if (failed) std::cerr << "ctxfuzz-pycov: " << failed << " programs did not load or run\n";
  return failed ? 1 : 0;
}
