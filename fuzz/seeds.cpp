// seeds.cpp (ctxfuzz-seeds): turns the conformance corpus into the fuzz targets' seeds.
//
//   ctxfuzz-seeds CORPUS_DIR --diff OUT_DIR [--dict FILE] [--parse OUT_DIR] [--show]
//
// --diff: each program, encoded (ctxmodel::encode) with the fuzzer's limits into bytes that
//         decode to it (renamed), or to the closest program the generator builds within them.
// --dict: a libFuzzer dictionary for the differential target: the byte sequences (2 to 8 bytes)
//         that recur most across those encodings, i.e. the decision runs that build common
//         constructs.
// --parse: each program's text, for the parser target.
// --show: prints each program as the generator rebuilt it.
//
//   ctxfuzz-seeds --sizes INPUT_DIR...
//
// The distribution of program sizes (statements, ctxmodel::count_statements) over fuzzer inputs,
// e.g. a corpus after a run: what the differential target actually executes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// corpus/TestExitStack/test_close.ctx -> TestExitStack__test_close
std::string flat_name(const fs::path& root, const fs::path& file) {
  std::string n = fs::relative(file, root).replace_extension().generic_string();
  for (char& c : n)
    if (c == '/') c = '_';
  return n;
}

std::string escaped(const std::string& bytes) {
  std::string out;
  char buf[5];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out;
}

// The byte runs worth a dictionary entry: seen in at least three encodings, longest and most
// common first, at most `limit`, none inside another chosen entry.
std::vector<std::string> dictionary(const std::vector<std::string>& encodings, std::size_t limit) {
  std::map<std::string, std::set<std::size_t>> seen;
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    const std::string& e = encodings[i];
    for (std::size_t n = 2; n <= 8; ++n)
      for (std::size_t at = 0; at + n <= e.size(); ++at) seen[e.substr(at, n)].insert(i);
  }
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& [run, where] : seen) {
    if (where.size() < 3 || std::all_of(run.begin(), run.end(), [](char c) { return c == 0; }))
      continue;
    scored.emplace_back(where.size() * run.size(), run);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (const auto& [score, run] : scored) {
    if (out.size() == limit) break;
    const bool inside = std::any_of(out.begin(), out.end(), [&](const std::string& chosen) {
      return chosen.find(run) != std::string::npos;
    });
    if (!inside) out.push_back(run);
  }
  return out;
}

int usage() {
  std::cerr << "usage: ctxfuzz-seeds CORPUS_DIR --diff OUT_DIR [--dict FILE] [--parse OUT_DIR] "
               "[--show]\n       ctxfuzz-seeds --sizes INPUT_DIR...\n";
  return 2;
}

int sizes(const std::vector<fs::path>& dirs) {
  std::map<int, int> histogram;
  long total = 0, programs = 0;
  for (const fs::path& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = ctxfuzz::read_file(entry.path());
      ctxmodel::byte_choices source(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                    bytes.size());
      const int n = ctxmodel::count_statements(ctxmodel::generate(source, ctxfuzz::limits()));
      ++histogram[n];
      total += n;
      ++programs;
    }
  }
  if (programs == 0) return 1;
  std::cout << "statements  programs\n";
  long seen = 0;
  int median = 0;
  for (const auto& [n, count] : histogram) {
    if (seen < programs / 2 && seen + count >= programs / 2) median = n;
    seen += count;
    std::cout << std::setw(10) << n << "  " << std::setw(8) << count << "  "
              << std::string(static_cast<std::size_t>(count * 60 / programs), '#') << '\n';
  }
  std::cout << programs << " programs, mean " << static_cast<double>(total) / programs
            << " statements, median " << median << '\n';
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") return usage();
  if (std::string(argv[1]) == "--sizes") return sizes({argv + 2, argv + argc});
  const fs::path root = argv[1];
  fs::path diff_dir, parse_dir, dict_file;
  bool show = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--show") {
      show = true;
    } else if (i + 1 < argc && (a == "--diff" || a == "--parse" || a == "--dict")) {
      (a == "--diff" ? diff_dir : a == "--parse" ? parse_dir : dict_file) = argv[++i];
    } else {
      return usage();
    }
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().extension() == ".ctx")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& d : {diff_dir, parse_dir})
    if (!d.empty()) fs::create_directories(d);

  std::vector<std::string> encodings;
  int failed = 0;
  for (const fs::path& file : files) {
    const ctxmodel::corpus_file cf = ctxmodel::split_corpus_file(ctxfuzz::read_file(file));
    const std::string name = flat_name(root, file);
    if (!parse_dir.empty()) write(parse_dir / (name + ".ctx"), cf.program_text);
    const ctxmodel::load_result r = ctxmodel::load(cf.program_text, file.string());
    if (!r.program) {
      for (const auto& d : r.errors) std::cerr << d.to_string() << '\n';
      ++failed;
      continue;
    }
    const std::vector<std::uint8_t> code = ctxmodel::encode(*r.program, ctxfuzz::limits());
    const std::string bytes(code.begin(), code.end());
    encodings.push_back(bytes);
    if (!diff_dir.empty()) write(diff_dir / (name + ".bin"), bytes);
    if (show) {
      ctxmodel::byte_choices source(code.data(), code.size());
      const std::string rebuilt = ctxmodel::print(ctxmodel::generate(source, ctxfuzz::limits()));
      std::cout << "== " << file.string() << " (" << code.size() << " bytes)\n" << rebuilt;
    }
  }
  if (!dict_file.empty()) {
    std::ofstream out(dict_file, std::ios::trunc);
    out << "# ctxfuzz_diff dictionary, made by ctxfuzz-seeds from the corpus encodings: the\n"
           "# decision runs that recur most (each byte is one decision of ctxmodel::generate).\n";
    int n = 0;
    for (const std::string& run : dictionary(encodings, 96))
      out << "run" << ++n << "=\"" << escaped(run) << "\"\n";
  }
  std::cerr << "ctxfuzz-seeds: " << encodings.size() << " programs encoded";
  if (failed) std::cerr << ", " << failed << " did not load";
  std::cerr << '\n';
  return failed ? 1 : 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // an unreadable folder, an unwritable output
    std::cerr << "ctxfuzz-seeds: " << e.what() << '\n';
    return 2;
  }
}
