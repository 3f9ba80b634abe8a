// pycoverage.cpp: contextlib.py coverage from the embedded CPython (pycoverage.hpp).
//
// A C-level trace function costs far less than sys.settrace: it runs no Python code. Each line
// event asks whether its code object is contextlib's (the answer is cached per code object, and
// the last one is remembered, as consecutive lines are mostly in one frame); only contextlib's
// lines are counted. (Turning line events off in other frames with f_trace_lines = False was
// slower: setting the attribute on every call costs more than the lines it saves.)
#include "pycoverage.hpp"

#include <Python.h>
#include <frameobject.h>

#include <bitset>
#include <cstdint>
#include <unordered_map>

namespace ctxfuzz::contextlib_coverage {

namespace {

constexpr std::size_t max_lines = 1024;
constexpr std::size_t edge_slots = 4096;

}  // namespace
}  // namespace ctxfuzz::contextlib_coverage

// libFuzzer adds these bytes to its coverage features (cleared before each input): one per
// contextlib.py line, one per hashed (previous line, line) pair.
extern "C" {
__attribute__((used, section("__libfuzzer_extra_counters")))
std::uint8_t ctxfuzz_contextlib_counters[ctxfuzz::contextlib_coverage::max_lines +
                                         ctxfuzz::contextlib_coverage::edge_slots];
}

namespace ctxfuzz::contextlib_coverage {

namespace {

struct state {
  PyObject* filename = nullptr;                   // contextlib.__file__ (kept alive)
  std::unordered_map<const void*, bool> is_ours;  // code object -> is contextlib's
  std::bitset<max_lines> reached;
  std::set<int> reached_set;
  int previous = 0;                 // the last contextlib line traced (0 after a call event)
  const void* last_code = nullptr;  // the last code object looked up, and whether it is ours
  bool last_ours = false;
  std::string file;
};

state& the() {
  static state* s = new state();  // never destroyed, like the interpreter
  return *s;
}

void bump(std::size_t i) {
  std::uint8_t& c = ctxfuzz_contextlib_counters[i];
  if (c != 255) ++c;
}

bool ours(PyFrameObject* frame) {
  state& s = the();
  PyCodeObject* code = PyFrame_GetCode(frame);
  if (code == s.last_code) {
    Py_DECREF(code);
    return s.last_ours;
  }
  auto it = s.is_ours.find(code);
  bool result;
  if (it != s.is_ours.end()) {
    result = it->second;
  } else {
    // contextlib's code objects live as long as the module; other code may be freed and its
    // address reused, but never by contextlib code, so a cached `false` stays right.
    PyObject* name = PyObject_GetAttrString(reinterpret_cast<PyObject*>(code), "co_filename");
    result = name != nullptr && PyUnicode_Compare(name, s.filename) == 0;
    Py_XDECREF(name);
    PyErr_Clear();
    if (s.is_ours.size() > 100000) s.is_ours.clear();
    s.is_ours.emplace(code, result);
  }
  s.last_code = code;
  s.last_ours = result;
  Py_DECREF(code);
  return result;
}

int trace(PyObject*, PyFrameObject* frame, int what, PyObject*) {
  state& s = the();
  if (what == PyTrace_CALL) {
    if (ours(frame)) s.previous = 0;  // a new contextlib frame: its first line has no edge
    return 0;
  }
  if (what != PyTrace_LINE || !ours(frame)) return 0;
  const int line = PyFrame_GetLineNumber(frame);
  if (line <= 0 || static_cast<std::size_t>(line) >= max_lines) return 0;
  bump(static_cast<std::size_t>(line));
  const std::size_t edge =
      (static_cast<std::size_t>(s.previous) * 1031u + static_cast<std::size_t>(line)) % edge_slots;
  bump(max_lines + edge);
  s.previous = line;
  if (!s.reached[static_cast<std::size_t>(line)]) {
    s.reached[static_cast<std::size_t>(line)] = true;
    s.reached_set.insert(line);
  }
  return 0;
}

std::string text_of(PyObject* o) {
  PyObject* str = PyObject_Str(o);
  const char* utf8 = str ? PyUnicode_AsUTF8(str) : nullptr;
  std::string out = utf8 ? utf8 : "";
  Py_XDECREF(str);
  PyErr_Clear();
  return out;
}

// The report, in Python: components from the module's ast, executable lines from the code
// objects of its functions (class bodies and `def` lines run at import, not in programs).
const char* const report_source = R"(
def _ctxfuzz_report(path, reached):
    import ast
    source = open(path).read()
    text = source.splitlines()
    executable = set()
    def walk(code):
        for const in code.co_consts:
            if hasattr(const, 'co_lines'):
                if const.co_flags & 1:  # CO_OPTIMIZED: a function; class bodies run at import
                    executable.update(l for _, _, l in const.co_lines()
                                      if l is not None and l != const.co_firstlineno)
                walk(const)
    walk(compile(source, path, 'exec'))
    out = ['%-32s %9s %7s' % ('contextlib.py component', 'lines', 'reached')]
    total = hit = 0
    details = []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            continue
        lines = sorted(l for l in executable if node.lineno <= l <= node.end_lineno)
        if not lines:
            continue
        got = [l for l in lines if l in reached]
        total += len(lines)
        hit += len(got)
        out.append('%-32s %4d/%-4d %6.1f%%' % (node.name, len(got), len(lines),
                                               100.0 * len(got) / len(lines)))
        missed = [l for l in lines if l not in reached]
        if missed:
            details.append('%s: not reached' % node.name)
            details.extend('  %4d  %s' % (l, text[l - 1].strip()) for l in missed)
    out.append('%-32s %4d/%-4d %6.1f%%' % ('all', hit, total, 100.0 * hit / max(total, 1)))
    return '\n'.join(out + [''] + details) + '\n'
)";

}  // namespace

bool start(std::string& why) {
  if (!Py_IsInitialized()) {
    why = "CPython is not running";
    return false;
  }
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject* module = PyImport_ImportModule("contextlib");
  PyObject* file = module ? PyObject_GetAttrString(module, "__file__") : nullptr;
  Py_XDECREF(module);
  if (file == nullptr || !PyUnicode_Check(file)) {
    why = "cannot find contextlib.__file__";
    PyErr_Clear();
    Py_XDECREF(file);
    PyGILState_Release(gil);
    return false;
  }
  the().filename = file;
  the().file = text_of(file);
  PyEval_SetTrace(trace, nullptr);
  PyGILState_Release(gil);
  return true;
}

const std::set<int>& lines_reached() {
  return the().reached_set;
}

const std::string& file() {
  return the().file;
}

void report(std::ostream& out) {
  PyGILState_STATE gil = PyGILState_Ensure();
  // Not traced itself: its own lines are not contextlib's, but it must not count either way.
  PyEval_SetTrace(nullptr, nullptr);
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* defined = PyRun_String(report_source, Py_file_input, globals, globals);
  PyObject* function = PyDict_GetItemString(globals, "_ctxfuzz_report");  // borrowed
  PyObject* reached = PySet_New(nullptr);
  for (int line : the().reached_set) {
    PyObject* n = PyLong_FromLong(line);
    PySet_Add(reached, n);
    Py_DECREF(n);
  }
  PyObject* text = defined && function
                       ? PyObject_CallFunctionObjArgs(function, the().filename, reached, nullptr)
                       : nullptr;
  if (text != nullptr) {
    out << text_of(text);
  } else {
    out << "contextlib coverage: the report failed\n";
    PyErr_Print();
  }
  Py_XDECREF(text);
  Py_XDECREF(reached);
  Py_XDECREF(defined);
  Py_DECREF(globals);
  if (the().filename) PyEval_SetTrace(trace, nullptr);
  PyGILState_Release(gil);
}

}  // namespace ctxfuzz::contextlib_coverage
