// oracle_bench: what one oracle run costs, and where the time goes. Not a test (ctest never
// runs it): a measuring tool for the fuzzer's and the harness's speed (issues 5 and 7).
//
//   oracle_bench                        # corpus/ and tests/oracle/bench_programs/, 100 rounds
//   oracle_bench --rounds 50 --cold     # every run as if the program were new (caches cleared)
//   oracle_bench --baseline OLD.py      # also time another ctxwalker.py, interleaved (A/B)
//   oracle_bench --profile              # + cProfile of the oracle's Python side, per group
//   oracle_bench --rss 1000000          # RSS after warm-up and after 1M differential execs
//   oracle_bench --per-program FILE...  # one line per program
//   oracle_bench --generated 2000       # 2000 programs of ctxmodel::generate (the fuzzer's
//                                       # generator) from seeded random bytes, instead of files
//
// Programs run interleaved, round after round, as a fuzzer runs them; each figure is the median
// over the rounds (the machine is shared: medians resist the noise), averaged over a group of
// programs (async / generator / sync; small = at most 10 statements, huge = over 200, kept out
// of the mix). Columns, in µs per program:
//   oracle    ctxoracle::interpreter::run, end to end
//   convert   the program to Python tuples (oracle/src/convert.cpp)
//   python    the Python side (ctxwalker.run on ready tuples)
//   back      the events back to a ctxmodel::trace
//   base      the Python side of the --baseline walker (0 without one)
//   runner    ctxrunner::run (ctxlib)
//   diff      oracle + runner + comparing the traces: one differential exec
//   script    CPython running the program's exported script (startup excluded)
//   program   CPython running only the program's part of that script (declarations and main)
//   eff       the oracle efficiency of issue 7: script / diff (effp: program / diff)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convert.hpp"
#include "ctxmodel/corpus.hpp"
#include "ctxmodel/generate.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "ctxrunner/runner.hpp"
#include "py_ref.hpp"

namespace {

namespace fs = std::filesystem;
using ctxoracle::detail::checked;
using gil = ctxoracle::detail::gil_guard;
using ctxoracle::detail::py_ref;
using ctxoracle::detail::python_error;
using clock_type = std::chrono::steady_clock;

double microseconds(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

struct options {
  int rounds = 100;
  bool cold = false;
  bool profile = false;
  bool per_program = false;
  long rss_execs = 0;
  int generated = 0;
  std::string baseline;
  std::vector<fs::path> paths;
};

enum metric { oracle, convert, python, back, base, runner, diff, script, program_part, metrics };
constexpr std::array<const char*, metrics> metric_names = {
    "oracle", "convert", "python", "back", "base", "runner", "diff", "script", "program"};

struct measured {
  fs::path path;
  ctxmodel::program program;
  std::string kind;  // async, generator, sync
  long statements = 0;
  std::array<std::vector<double>, metrics> samples;
  std::array<double, metrics> value{};  // medians
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die_with_python_error(const std::string& what) {
  std::fprintf(stderr, "oracle_bench: %s:\n", what.c_str());
  PyErr_Print();
  std::exit(1);
}

// The new reference, or the Python error printed and exit.
py_ref or_die(PyObject* new_reference, const std::string& what) {
  if (new_reference == nullptr) die_with_python_error(what);
  return py_ref::steal(new_reference);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "oracle_bench: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return text.str();
}

std::vector<measured> load_programs(const std::vector<fs::path>& paths) {
  std::vector<fs::path> files;
  for (const fs::path& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(p)) {
      if (entry.is_regular_file() && entry.path().extension() == ".ctx") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<measured> programs;
  for (const fs::path& file : files) {
    ctxmodel::corpus_file corpus = ctxmodel::split_corpus_file(read_text(file));
    ctxmodel::load_result r = ctxmodel::load(corpus.program_text, file.string());
    if (!r.program) {
      for (const auto& d : r.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
      std::exit(2);
    }
    measured m;
    m.path = file;
    m.program = std::move(*r.program);
    programs.push_back(std::move(m));
  }
  return programs;
}

// A Python file loaded as a module under the given name.
py_ref load_module(const char* name, const std::string& path) {
  std::string text = read_text(path);
  py_ref code = or_die(Py_CompileString(text.c_str(), path.c_str(), Py_file_input), path);
  return or_die(PyImport_ExecCodeModule(name, code.get()), path);
}

// Programs as the differential fuzzer makes them: ctxmodel::generate on random bytes (16 to 512
// of them, the sizes libFuzzer's inputs grow to), seeded so every run measures the same ones.
std::vector<measured> generate_programs(int count) {
  std::mt19937 random(12345);
  std::uniform_int_distribution<std::size_t> size(16, 512);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<measured> programs;
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> bytes(size(random));
    for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(byte(random));
    ctxmodel::byte_choices source(bytes.data(), bytes.size());
    measured m;
    m.path = "generated-" + std::to_string(i);
    m.program = ctxmodel::generate(source);
    programs.push_back(std::move(m));
  }
  return programs;
}

std::vector<std::string> to_events(PyObject* list) {
  std::vector<std::string> events;
  Py_ssize_t size = PyList_GET_SIZE(list);
  events.reserve(static_cast<std::size_t>(size));
  for (Py_ssize_t i = 0; i < size; ++i) {
    Py_ssize_t length = 0;
    const char* data = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(list, i), &length);
    if (data == nullptr) throw python_error{};
    events.emplace_back(data, static_cast<std::size_t>(length));
  }
  return events;
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "oracle_bench: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--rounds") {
      o.rounds = std::max(1, std::atoi(next("--rounds").c_str()));
    } else if (arg == "--cold") {
      o.cold = true;
    } else if (arg == "--profile") {
      o.profile = true;
    } else if (arg == "--per-program") {
      o.per_program = true;
    } else if (arg == "--rss") {
      o.rss_execs = std::atol(next("--rss").c_str());
    } else if (arg == "--generated") {
      o.generated = std::max(0, std::atoi(next("--generated").c_str()));
    } else if (arg == "--baseline") {
      o.baseline = next("--baseline");
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr,
                   "usage: oracle_bench [--rounds N] [--cold] [--baseline WALKER.py] [--profile] "
                   "[--per-program] [--rss EXECS] [--generated N] [PATH...]\n");
      std::exit(2);
    } else {
      o.paths.emplace_back(arg);
    }
  }
  if (o.paths.empty() && o.generated == 0) {
    o.paths = {CTXORACLE_BENCH_CORPUS, CTXORACLE_BENCH_PROGRAMS};
  }
  return o;
}

// The Python objects the bench keeps, released under the GIL whichever way main returns.
struct python_objects {
  py_ref helper, walker_run, baseline_run, clear_caches;
  std::vector<py_ref> tuples;
  python_objects() = default;
  python_objects(const python_objects&) = delete;
  python_objects& operator=(const python_objects&) = delete;
  ~python_objects() {
    gil g;
    helper = {};
    walker_run = {};
    baseline_run = {};
    clear_caches = {};
    tuples.clear();
  }
};

// RSS over many differential execs (oracle + runner + compare), the programs round-robin.
void measure_rss(const std::vector<measured>& programs, long execs) {
  ctxoracle::interpreter& python = ctxoracle::interpreter::instance();
  long warm_up = std::max(execs / 10, std::min(execs, 10000L));
  long before = 0;
  auto start = clock_type::now();
  for (long i = 0; i < execs; ++i) {
    if (i == warm_up) before = rss_kib();
    const ctxmodel::program& p = programs[static_cast<std::size_t>(i) % programs.size()].program;
    ctxoracle::oracle_result r = python.run(p);
    ctxmodel::trace ours = ctxrunner::run(p);
    if (!r.trace) {
      std::fprintf(stderr, "oracle_bench: oracle error: %s\n", r.error.c_str());
      std::exit(1);
    }
    volatile bool same = *r.trace == ours;
    (void)same;
  }
  double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  long after = rss_kib();
  std::printf(
      "RSS: %ld KiB after %ld warm-up execs, %ld KiB after %ld execs (%+.2f%%); "
      "%.0f execs/s\n",
      before, warm_up, after, execs,
      100.0 * static_cast<double>(after - before) / static_cast<double>(before),
      static_cast<double>(execs) / seconds);
}

// One round of every measurement on one program.
void measure_once(measured& m, PyObject* tuple, python_objects& py, bool cold) {
  ctxoracle::interpreter& interpreter = ctxoracle::interpreter::instance();
  auto forget_caches = [&] {
    if (!cold) return;
    gil g;
    or_die(PyObject_CallNoArgs(py.clear_caches.get()), "clear_caches");
  };
  forget_caches();
  auto t0 = clock_type::now();
  ctxoracle::oracle_result r = interpreter.run(m.program);
  auto t1 = clock_type::now();
  ctxmodel::trace ours = ctxrunner::run(m.program);
  auto t2 = clock_type::now();
  volatile bool same = r.trace && *r.trace == ours;
  (void)same;
  auto t3 = clock_type::now();
  m.samples[oracle].push_back(microseconds(t1 - t0));
  m.samples[runner].push_back(microseconds(t2 - t1));
  m.samples[diff].push_back(microseconds(t3 - t0));

  forget_caches();
  gil g;
  try {
    auto c0 = clock_type::now();
    py_ref converted = ctxoracle::detail::to_python(m.program);
    auto c1 = clock_type::now();
    py_ref events = checked(PyObject_CallOneArg(py.walker_run.get(), tuple));
    auto c2 = clock_type::now();
    std::vector<std::string> back_events = to_events(events.get());
    auto c3 = clock_type::now();
    m.samples[convert].push_back(microseconds(c1 - c0));
    m.samples[python].push_back(microseconds(c2 - c1));
    m.samples[back].push_back(microseconds(c3 - c2));
    if (py.baseline_run) {
      auto b0 = clock_type::now();
      py_ref baseline_events = checked(PyObject_CallOneArg(py.baseline_run.get(), tuple));
      m.samples[base].push_back(microseconds(clock_type::now() - b0));
    }
  } catch (const python_error&) {
    die_with_python_error(m.path.string());
  }
}

void print_header() {
  std::printf("%-24s %4s", "µs per program (median)", "n");
  for (const char* name : metric_names) std::printf(" %8s", name);
  std::printf(" %5s %5s\n", "eff", "effp");
}

void print_row(const std::string& label, const std::vector<const measured*>& group) {
  std::array<double, metrics> mean{};
  for (const measured* m : group) {
    for (int i = 0; i < metrics; ++i)
      mean[static_cast<std::size_t>(i)] += m->value[static_cast<std::size_t>(i)];
  }
  for (double& v : mean) v /= static_cast<double>(std::max<std::size_t>(group.size(), 1));
  std::printf("%-24s %4zu", label.c_str(), group.size());
  for (double v : mean) std::printf(" %8.1f", v);
  double d = mean[diff];
  std::printf(" %5.2f %5.2f\n", d > 0 ? mean[script] / d : 0.0,
              d > 0 ? mean[program_part] / d : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse_options(argc, argv);
  std::vector<measured> programs =
      o.generated > 0 ? generate_programs(o.generated) : load_programs(o.paths);
  if (programs.empty()) {
    std::fprintf(stderr, "oracle_bench: no programs\n");
    return 2;
  }
  ctxoracle::interpreter& interpreter = ctxoracle::interpreter::instance();
  if (interpreter.version().empty()) {
    std::fprintf(stderr, "oracle_bench: %s\n", interpreter.run(ctxmodel::program{}).error.c_str());
    return 1;
  }
  std::printf("%s, %zu programs, %d rounds%s%s%s\n", interpreter.version().c_str(), programs.size(),
              o.rounds, o.cold ? ", cold (caches cleared before every run)" : "",
              o.baseline.empty() ? "" : ", baseline ", o.baseline.c_str());

  python_objects py;
  {
    gil g;
    py.helper = load_module("oracle_bench", CTXORACLE_BENCH_HELPER);
    py_ref walker = or_die(PyImport_ImportModule("ctxwalker"), "import ctxwalker");
    py.walker_run = or_die(PyObject_GetAttrString(walker.get(), "run"), "ctxwalker.run");
    py.clear_caches = or_die(PyObject_GetAttrString(py.helper.get(), "clear_caches"), "helper");
    if (!o.baseline.empty()) {
      py_ref baseline = load_module("ctxwalker_baseline", o.baseline);
      py.baseline_run = or_die(PyObject_GetAttrString(baseline.get(), "run"), "baseline run");
    }
    for (measured& m : programs) {
      try {
        py.tuples.push_back(ctxoracle::detail::to_python(m.program));
      } catch (const python_error&) {
        die_with_python_error(m.path.string());
      }
      py_ref d =
          or_die(PyObject_CallMethod(py.helper.get(), "describe", "(O)", py.tuples.back().get()),
                 "describe");
      m.kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(d.get(), 0));
      m.statements = PyLong_AsLong(PyTuple_GET_ITEM(d.get(), 1));
    }
  }

  // Warm-up and a sanity check: every program runs on both sides.
  std::size_t diverging = 0;
  for (measured& m : programs) {
    ctxoracle::oracle_result r = interpreter.run(m.program);
    if (!r.trace) {
      std::fprintf(stderr, "oracle_bench: oracle error on %s:\n%s\n", m.path.c_str(),
                   r.error.c_str());
      return 1;
    }
    if (*r.trace != ctxrunner::run(m.program)) ++diverging;
  }

  if (o.rss_execs > 0) {
    measure_rss(programs, o.rss_execs);
    return 0;
  }

  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t i = 0; i < programs.size(); ++i) {
      measure_once(programs[i], py.tuples[i].get(), py, o.cold);
    }
  }
  {
    gil g;
    py_ref list = or_die(PyList_New(0), "a list");
    for (const py_ref& t : py.tuples) PyList_Append(list.get(), t.get());
    py_ref times = or_die(PyObject_CallMethod(py.helper.get(), "plain_times", "Oi", list.get(),
                                              std::max(3, o.rounds / 4)),
                          "plain_times");
    for (std::size_t i = 0; i < programs.size(); ++i) {
      PyObject* pair = PyList_GET_ITEM(times.get(), static_cast<Py_ssize_t>(i));
      programs[i].samples[script].push_back(PyFloat_AsDouble(PyTuple_GET_ITEM(pair, 0)));
      programs[i].samples[program_part].push_back(PyFloat_AsDouble(PyTuple_GET_ITEM(pair, 1)));
    }
  }
  for (measured& m : programs) {
    for (std::size_t i = 0; i < metrics; ++i) m.value[i] = median(m.samples[i]);
  }

  print_header();
  if (o.per_program) {
    for (const measured& m : programs) print_row(m.path.filename().string(), {&m});
  }
  std::map<std::string, std::vector<const measured*>> groups;
  std::vector<const measured*> mix;
  for (const measured& m : programs) {
    std::string size = m.statements <= 10 ? "small" : m.statements <= 200 ? "medium" : "huge";
    groups[m.kind + " " + size].push_back(&m);
    if (size == "huge") continue;
    groups[m.kind].push_back(&m);
    groups[size].push_back(&m);
    mix.push_back(&m);
  }
  for (const auto& [name, group] : groups) print_row(name, group);
  print_row("mix (not huge)", mix);
  if (diverging > 0) std::printf("(%zu programs diverge: their traces differ)\n", diverging);

  if (o.profile) {
    gil g;
    for (const auto& [name, group] : groups) {
      if (name.find(' ') == std::string::npos) continue;  // the kind x size groups only
      py_ref list = or_die(PyList_New(0), "a list");
      for (const measured* m : group) {
        PyList_Append(list.get(), py.tuples[static_cast<std::size_t>(m - programs.data())].get());
      }
      py_ref text = or_die(PyObject_CallMethod(py.helper.get(), "profile", "Oiii", list.get(),
                                               std::max(1, o.rounds / 4), o.cold ? 1 : 0, 25),
                           "profile");
      std::printf("\n== cProfile, %s programs\n%s", name.c_str(), PyUnicode_AsUTF8(text.get()));
    }
  }
  return 0;
}
