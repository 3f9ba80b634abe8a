// ctxdiff: the differential harness on the command line.
//
//   ctxdiff run FILE...          run each program on ctxlib and on CPython; on divergence print
//                                both traces side by side and exit 1
//   ctxdiff check PATH...        the conformance run: every .ctx under PATH, one summary line
//   ctxdiff cpp FILE             print ctxlib's trace
//   ctxdiff oracle FILE          print CPython's trace
//   ctxdiff export FILE          print the program as a standalone Python script
//   ctxdiff export-check FILE... run each exported script with python3, in a process of its own,
//                                and compare its output with the oracle's trace (several
//                                scripts: one interpreter forks a process per script,
//                                tools/ctxdiff/export_driver.py)
//   ctxdiff record FILE...       store CPython's trace as the expected trace for its version
//   ctxdiff version              print the embedded CPython's version
//
// Exit status: 0 agree, 1 divergence, 2 bad input (file:line:col errors) or usage, 3 oracle
// failure (a bug on the CPython side, never reported as a divergence).
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ctxmodel/corpus.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"
#include "export_driver.hpp"

namespace {

namespace fs = std::filesystem;

enum exit_code { agree = 0, diverge = 1, bad_input = 2, oracle_failure = 3 };

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes through a temporary file and a rename, so a file is never left half-written.
bool write_file_atomically(const fs::path& path, const std::string& text) {
  fs::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out || !(out << text) || !out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) fs::remove(temporary, ec);
  return !ec;
}

// A corpus file, loaded and checked.
struct loaded {
  ctxmodel::corpus_file file;
  ctxmodel::program program;
};

std::optional<loaded> load(const fs::path& path) {
  std::optional<std::string> text = read_file(path);
  if (!text) {
    std::cerr << path.string() << ": error: cannot read file\n";
    return std::nullopt;
  }
  ctxmodel::corpus_file file = ctxmodel::split_corpus_file(*text);
  ctxmodel::load_result result = ctxmodel::load(file.program_text, path.string());
  if (!result.program) {
    for (const auto& d : result.errors) std::cerr << d.to_string() << '\n';
    return std::nullopt;
  }
  return loaded{std::move(file), std::move(*result.program)};
}

std::optional<ctxmodel::trace> run_oracle(const ctxmodel::program& p, const fs::path& path) {
  ctxoracle::oracle_result r = ctxoracle::interpreter::instance().run(p);
  if (!r.trace) {
    std::cerr << path.string() << ": oracle error (not a divergence):\n" << r.error << '\n';
    return std::nullopt;
  }
  return r.trace;
}

const std::string& version() {
  return ctxoracle::interpreter::instance().version();
}

// Runs both sides and compares, also against the stored expectation for this CPython.
int compare(const fs::path& path, bool quiet) {
  std::optional<loaded> l = load(path);
  if (!l) return bad_input;
  ctxmodel::trace ours = ctxrunner::run(l->program);
  std::optional<ctxmodel::trace> theirs = run_oracle(l->program, path);
  if (!theirs) return oracle_failure;
  int status = agree;
  if (ours != *theirs) {
    std::cout << path.string() << ": DIVERGENCE between ctxlib and " << version() << "\n"
              << ctxmodel::side_by_side(ours, *theirs, "ctxlib", version()) << '\n';
    status = diverge;
  }
  auto expected = l->file.expected.find(version());
  if (expected != l->file.expected.end() && expected->second != *theirs) {
    std::cout << path.string() << ": DIVERGENCE between the recorded expectation and " << version()
              << "\n"
              << ctxmodel::side_by_side(expected->second, *theirs, "expected (" + version() + ")",
                                        version())
              << '\n';
    status = diverge;
  }
  if (status == agree && !quiet) std::cout << path.string() << ": agree (" << version() << ")\n";
  return status;
}

std::vector<fs::path> collect(const std::vector<std::string>& args) {
  std::vector<fs::path> files;
  for (const std::string& a : args) {
    fs::path p(a);
    if (fs::is_directory(p)) {
      for (const auto& entry : fs::recursive_directory_iterator(p)) {
        if (entry.is_regular_file() && entry.path().extension() == ".ctx") {
          files.push_back(entry.path());
        }
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

int check(const std::vector<std::string>& args) {
  std::vector<fs::path> files = collect(args);
  int agreed = 0, diverged = 0, errors = 0, unrecorded = 0;
  for (const fs::path& f : files) {
    int status = compare(f, /*quiet=*/true);
    if (status == agree)
      ++agreed;
    else if (status == diverge)
      ++diverged;
    else
      ++errors;
    if (std::optional<std::string> text = read_file(f)) {
      if (!ctxmodel::split_corpus_file(*text).expected.contains(version())) ++unrecorded;
    }
  }
  std::cout << "conformance: " << files.size() << " programs, " << agreed << " agree, " << diverged
            << " diverge, " << errors << " errors; " << unrecorded << " without an expectation for "
            << version() << '\n';
  if (files.empty()) return bad_input;
  return diverged != 0 ? diverge : errors != 0 ? bad_input : agree;
}

int print_trace(const fs::path& path, bool oracle_side) {
  std::optional<loaded> l = load(path);
  if (!l) return bad_input;
  if (!oracle_side) {
    std::cout << ctxrunner::run(l->program).to_text();
    return agree;
  }
  std::optional<ctxmodel::trace> t = run_oracle(l->program, path);
  if (!t) return oracle_failure;
  std::cout << t->to_text();
  return agree;
}

int export_program(const fs::path& path) {
  std::optional<loaded> l = load(path);
  if (!l) return bad_input;
  std::cout << ctxoracle::export_python(l->program);
  return agree;
}

// Ends the report on a batch of programs by naming again those that failed.
void list_failed(const std::vector<fs::path>& failed, std::size_t programs) {
  if (programs < 2 || failed.empty()) return;
  std::cout << failed.size() << " of " << programs << " programs failed:\n";
  for (const fs::path& f : failed) std::cout << "  " << f.string() << '\n';
}

// Quotes text for /bin/sh.
std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// What a command printed on its standard output, and how it exited (-1: it could not be run).
struct command_result {
  int status = -1;
  std::string output;
};

command_result run_command(const std::string& command) {
  command_result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  if (status != -1) status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.status = status;
  return result;
}

// A fresh folder under the system's temporary folder, removed with all it holds when this goes
// out of scope.
class scratch_folder {
 public:
  scratch_folder() {
    std::string pattern = (fs::temp_directory_path() / "ctxdiff-export-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;
  ~scratch_folder() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs exported scripts, each as `python SCRIPT 2>&1` would in a process of its own: a single
// script just so, several through export_driver.py, which starts the interpreter once and forks
// a child per script (each child writes what its script prints to SCRIPT.out).
std::vector<command_result> run_scripts(const std::string& python,
                                        const std::vector<fs::path>& scripts,
                                        const fs::path& folder) {
  if (scripts.size() == 1) {
    return {run_command(shell_quote(python) + " " + shell_quote(scripts[0].string()) + " 2>&1")};
  }
  std::vector<command_result> results(scripts.size());
  fs::path driver_script = folder / "export_driver.py";
  if (!write_file_atomically(driver_script, export_driver_source)) {
    for (command_result& r : results) r.output = driver_script.string() + ": cannot write\n";
    return results;
  }
  std::string command = shell_quote(python) + " " + shell_quote(driver_script.string());
  for (const fs::path& s : scripts) command += " " + shell_quote(s.string());
  // The driver prints one exit status a line, a script's after its child has ended; its own
  // errors go to standard error, which is ctxdiff's.
  command_result driver = run_command(command);
  std::istringstream statuses(driver.output);
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    fs::path output = scripts[i];
    output += ".out";
    results[i].output = read_file(output).value_or("");
    if (!(statuses >> results[i].status)) {
      results[i].status = -1;
      results[i].output +=
          "<export_driver.py gave no exit status for this script: it exited with " +
          std::to_string(driver.status) + ">\n";
    }
  }
  return results;
}

// Exports each program, runs every script (see run_scripts) and compares what it printed with
// the oracle's trace.
int export_check(const std::vector<std::string>& args, const std::string& python) {
  scratch_folder folder;
  if (folder.path().empty()) {
    std::cerr << "ctxdiff: error: cannot make a temporary folder\n";
    return bad_input;
  }
  std::vector<fs::path> programs = collect(args);
  std::vector<fs::path> scripts;
  std::vector<ctxmodel::trace> traces;
  for (const fs::path& path : programs) {
    std::optional<loaded> l = load(path);
    if (!l) return bad_input;
    std::optional<ctxmodel::trace> t = run_oracle(l->program, path);
    if (!t) return oracle_failure;
    traces.push_back(std::move(*t));
    std::string name = std::to_string(scripts.size()) + "-" + path.stem().string() + ".py";
    scripts.push_back(folder.path() / name);
    if (!write_file_atomically(scripts.back(), ctxoracle::export_python(l->program))) {
      std::cerr << scripts.back().string() << ": error: cannot write\n";
      return bad_input;
    }
  }
  std::vector<command_result> runs = run_scripts(python, scripts, folder.path());
  std::vector<fs::path> failed;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    bool ran = runs[i].status == 0;
    ctxmodel::trace exported =
        ctxmodel::trace::from_text(ran ? runs[i].output : std::string("<python3 failed>\n"));
    if (ran && exported == traces[i]) {
      std::cout << programs[i].string() << ": exported script agrees\n";
      continue;
    }
    std::cout << programs[i].string() << ": the exported script disagrees with the oracle\n";
    if (!ran) {
      std::cout << "python exited with status " << runs[i].status << "; it printed:\n"
                << runs[i].output << '\n';
    }
    std::cout << ctxmodel::side_by_side(exported, traces[i], "exported script (" + python + ")",
                                        version())
              << '\n';
    failed.push_back(programs[i]);
  }
  list_failed(failed, programs.size());
  return failed.empty() ? agree : diverge;
}

int record(const std::vector<std::string>& args) {
  for (const fs::path& path : collect(args)) {
    std::optional<loaded> l = load(path);
    if (!l) return bad_input;
    std::optional<ctxmodel::trace> t = run_oracle(l->program, path);
    if (!t) return oracle_failure;
    l->file.expected[version()] = *t;
    if (!write_file_atomically(path, ctxmodel::join_corpus_file(l->file))) {
      std::cerr << path.string() << ": error: cannot write\n";
      return bad_input;
    }
    std::cout << path.string() << ": recorded " << version() << '\n';
  }
  return agree;
}

int usage() {
  std::cerr << "usage: ctxdiff run FILE... | check PATH... | cpp FILE | oracle FILE | export FILE"
               " | export-check [--python PATH] PATH... | record PATH... | version\n";
  return bad_input;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  std::string command = args.front();
  args.erase(args.begin());
  if (command == "version") {
    std::cout << version() << '\n';
    return agree;
  }
  if (command == "check") return args.empty() ? usage() : check(args);
  if (command == "record") return args.empty() ? usage() : record(args);
  if (command == "export-check") {
    std::string python = CTXDIFF_PYTHON;
    if (args.size() >= 2 && args[0] == "--python") {
      python = args[1];
      args.erase(args.begin(), args.begin() + 2);
    }
    return args.empty() ? usage() : export_check(args, python);
  }
  if (command == "run") {
    if (args.empty()) return usage();
    int worst = agree;
    std::vector<fs::path> files = collect(args), failed;
    for (const fs::path& f : files) {
      int status = compare(f, false);
      if (status != agree) failed.push_back(f);
      worst = std::max(worst, status);
    }
    list_failed(failed, files.size());
    return worst;
  }
  if (args.size() != 1) return usage();
  if (command == "cpp") return print_trace(args[0], false);
  if (command == "oracle") return print_trace(args[0], true);
  if (command == "export") return export_program(args[0]);
  return usage();
}
