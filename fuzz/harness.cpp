// harness.cpp: the fuzz targets' shared comparison and finding writer (harness.hpp).
#include "harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"

namespace ctxfuzz {

ctxmodel::generate_limits limits() {
  return ctxmodel::generate_limits{};
}

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define CTXFUZZ_ASAN 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
#define CTXFUZZ_ASAN 1
#endif
#endif

void choose_python_allocator() {
#ifdef CTXFUZZ_ASAN
  setenv("PYTHONMALLOC", "malloc", /*overwrite=*/0);
#endif
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path findings_directory() {
  const char* configured = std::getenv("CTXFUZZ_FINDINGS");
  return configured && *configured ? std::filesystem::path(configured)
                                   : std::filesystem::path("ctxfuzz-findings");
}

namespace {

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

std::filesystem::path save_finding(const comparison& c, const ctxmodel::program& p,
                                   std::span<const std::uint8_t> input) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(fnv1a(ctxmodel::print(p))));
  const std::filesystem::path dir =
      findings_directory() / (std::string(verdict_name(c.verdict)) + "-" + hash);
  write_finding(dir, c, p, input);
  return dir;
}

void write_finding(const std::filesystem::path& dir, const comparison& c,
                   const ctxmodel::program& p, std::span<const std::uint8_t> input) {
  const std::string text = ctxmodel::print(p);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string report;
  switch (c.verdict) {
    case verdict::oracle_error:
      report = "oracle error (a harness bug, not a divergence):\n" + c.error + "\n";
      break;
    case verdict::unstable:
      report = c.error + "\n";
      break;
    default:
      report = "DIVERGENCE between ctxlib and " + cpython_version() + "\n" +
               ctxmodel::side_by_side(c.ctxlib, c.cpython, "ctxlib", cpython_version()) + "\n";
  }
  write(dir / "program.ctx", "# fuzz finding: " + std::string(verdict_name(c.verdict)) + " (" +
                                 cpython_version() + ")\n" + text);
  write(dir / "ctxlib.trace", c.ctxlib.to_text());
  write(dir / "cpython.trace", c.cpython.to_text());
  write(dir / "report.txt", report);
  try {
    write(dir / "program.py", ctxoracle::export_python(p));
  } catch (const std::exception& e) {
    write(dir / "program.py", std::string("# cannot export: ") + e.what() + "\n");
  }
  std::vector<std::uint8_t> encoded;
  if (input.empty()) {
    encoded = ctxmodel::encode(p, limits());
    ctxmodel::byte_choices source(encoded.data(), encoded.size());
    if (ctxmodel::generate(source, limits()) == p) input = encoded;
  }
  if (!input.empty())
    write(dir / "input.bin",
          std::string(reinterpret_cast<const char*>(input.data()), input.size()));
}

}  // namespace ctxfuzz
