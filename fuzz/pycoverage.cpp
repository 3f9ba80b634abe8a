// pycoverage.cpp: contextlib.py coverage from the embedded CPython (pycoverage.hpp).
//
// Probes: contextlib's functions are recompiled from contextlib.py with a call to a C function
// before each statement, and the live functions are given the new code objects (as atheris does
// for Python fuzzing). Only contextlib's own lines cost anything, ~40 ns each.
//
// Trace: a C-level trace function (no Python code per event). Each line event asks whether its
// code object is contextlib's (cached per code object, and the last one remembered, as
// consecutive lines are mostly in one frame). It sees every line event, so it is the report's
// measure, but CPython's tracing mode slows every Python instruction of the run, the walker's too.
#include "pycoverage.hpp"

#include <Python.h>
#include <frameobject.h>

#include <bitset>
#include <cstdint>
#include <set>
#include <string>
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
  std::bitset<max_lines> reached[2];              // per method: lines seen
  std::set<int> reached_set[2];
  std::set<int> probed;  // the statement lines that carry a probe
  bool started[2] = {false, false};
  int previous = 0;                 // the last contextlib line counted (0 at a frame's start)
  const void* last_code = nullptr;  // the last code object looked up, and whether it is ours
  bool last_ours = false;
  std::string file;
};

state& the() {
  static state* s = new state();  // never destroyed, like the interpreter
  return *s;
}

std::size_t index_of(method how) {
  return how == method::probes ? 0 : 1;
}

void bump(std::size_t i) {
  std::uint8_t& c = ctxfuzz_contextlib_counters[i];
  if (c != 255) ++c;
}

// One line of contextlib.py seen by `how`: its counter, the (previous line, line) edge's, and the
// report's set.
void count(method how, int line) {
  if (line <= 0 || static_cast<std::size_t>(line) >= max_lines) return;
  state& s = the();
  bump(static_cast<std::size_t>(line));
  const std::size_t edge =
      (static_cast<std::size_t>(s.previous) * 1031u + static_cast<std::size_t>(line)) % edge_slots;
  bump(max_lines + edge);
  s.previous = line;
  std::bitset<max_lines>& reached = s.reached[index_of(how)];
  if (!reached[static_cast<std::size_t>(line)]) {
    reached[static_cast<std::size_t>(line)] = true;
    s.reached_set[index_of(how)].insert(line);
  }
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
  if (what == PyTrace_CALL) {
    if (ours(frame)) the().previous = 0;  // a new contextlib frame: its first line has no edge
    return 0;
  }
  if (what == PyTrace_LINE && ours(frame)) count(method::trace, PyFrame_GetLineNumber(frame));
  return 0;
}

// _ctxfuzz_probe(line): what the probes call; a negative line is a frame's first.
PyObject* probe(PyObject*, PyObject* line) {
  long n = PyLong_AsLong(line);
  if (n < 0) {
    the().previous = 0;
    n = -n;
  }
  count(method::probes, static_cast<int>(n));
  Py_RETURN_NONE;
}

PyMethodDef probe_definition = {"_ctxfuzz_probe", probe, METH_O, nullptr};

// Recompiles contextlib.py with a probe call before every statement of its functions (the frame's
// first with a negative line) and at the top of every except clause's body, and gives every
// function of the live module the probed code object of the same name and first line, so every
// existing reference (ExitStack's methods, contextmanager's helper...) runs it. The statements
// themselves are untouched: the same source, the same line numbers. Returns the statement lines.
const char* const probes_source = R"(
def _ctxfuzz_install_probes(module, probe):
    import ast, types
    path = module.__file__
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    statements = set()

    def call(line, where):
        node = ast.Expr(ast.Call(ast.Name('_ctxfuzz_probe', ast.Load()), [ast.Constant(line)], []))
        return ast.copy_location(node, where)

    def block(body, entry=False):
        out = []
        for index, s in enumerate(body):
            if (entry and index == 0 and isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)):
                out.append(s)  # a docstring: no code
                continue
            statements.add(s.lineno)
            out.append(call(-s.lineno if entry else s.lineno, s))
            entry = False
            walk(s)
            out.append(s)
        return out

    def walk(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = block(node.body, entry=True)
            return
        if isinstance(node, ast.ClassDef):
            for s in node.body:  # the class body ran at import; its functions run in programs
                walk(s)
            return
        for field in ('body', 'orelse', 'finalbody'):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, field, block(value))
        for handler in getattr(node, 'handlers', ()):
            handler.body = [call(handler.lineno, handler)] + block(handler.body)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            walk(node)
    probed = {}

    def collect(code):
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                probed[const.co_qualname, const.co_firstlineno] = const
                collect(const)
    collect(compile(ast.fix_missing_locations(tree), path, 'exec'))
    swapped = 0

    def swap(function):
        nonlocal swapped
        code = function.__code__
        if code.co_filename != path:
            return  # imported into contextlib (functools.wraps...), not its own
        function.__code__ = probed[code.co_qualname, code.co_firstlineno]
        swapped += 1
    for value in list(vars(module).values()):
        if isinstance(value, types.FunctionType):
            swap(value)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            for member in vars(value).values():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, types.FunctionType):
                    swap(member)
    module._ctxfuzz_probe = probe
    return sorted(statements), swapped
)";

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

// contextlib, imported, its path kept in the state; or nullptr and why.
PyObject* import_contextlib(std::string& why) {
  PyObject* module = PyImport_ImportModule("contextlib");
  PyObject* file = module ? PyObject_GetAttrString(module, "__file__") : nullptr;
  if (file == nullptr || !PyUnicode_Check(file)) {
    why = "cannot find contextlib.__file__";
    PyErr_Clear();
    Py_XDECREF(file);
    Py_XDECREF(module);
    return nullptr;
  }
  state& s = the();
  if (s.filename == nullptr) {
    s.filename = file;
    s.file = text_of(file);
  } else {
    Py_DECREF(file);
  }
  return module;
}

bool install_probes(PyObject* module, std::string& why) {
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* defined = PyRun_String(probes_source, Py_file_input, globals, globals);
  PyObject* install = PyDict_GetItemString(globals, "_ctxfuzz_install_probes");  // borrowed
  PyObject* function = PyCFunction_New(&probe_definition, nullptr);
  PyObject* result = defined && install && function
                         ? PyObject_CallFunctionObjArgs(install, module, function, nullptr)
                         : nullptr;
  PyObject* lines = nullptr;
  Py_ssize_t swapped = 0;
  if (result != nullptr && PyArg_ParseTuple(result, "On", &lines, &swapped)) {
    for (Py_ssize_t i = 0; i < PyList_Size(lines); ++i)
      the().probed.insert(static_cast<int>(PyLong_AsLong(PyList_GetItem(lines, i))));
  }
  const bool ok = result != nullptr && !PyErr_Occurred() && swapped > 0;
  if (!ok) {
    why = "cannot put probes into contextlib.py";
    if (PyErr_Occurred()) {
      PyObject *type, *value, *traceback;
      PyErr_Fetch(&type, &value, &traceback);
      if (value != nullptr) why += ": " + text_of(value);
      Py_XDECREF(type);
      Py_XDECREF(value);
      Py_XDECREF(traceback);
    }
  }
  Py_XDECREF(result);
  Py_XDECREF(function);
  Py_XDECREF(defined);
  Py_DECREF(globals);
  return ok;
}

}  // namespace

bool start(method how, std::string& why) {
  if (!Py_IsInitialized()) {
    why = "CPython is not running";
    return false;
  }
  state& s = the();
  if (s.started[index_of(how)]) return true;
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject* module = import_contextlib(why);
  bool ok = module != nullptr;
  if (ok && how == method::probes) ok = install_probes(module, why);
  if (ok && how == method::trace) PyEval_SetTrace(trace, nullptr);
  Py_XDECREF(module);
  s.started[index_of(how)] = ok;
  PyGILState_Release(gil);
  return ok;
}

const std::set<int>& lines_reached(method how) {
  return the().reached_set[index_of(how)];
}

const std::set<int>& probed_lines() {
  return the().probed;
}

const std::string& file() {
  return the().file;
}

void report(std::ostream& out, method how) {
  PyGILState_STATE gil = PyGILState_Ensure();
  // Not traced itself: its own lines are not contextlib's, but it must not count either way.
  const bool tracing = the().started[index_of(method::trace)];
  if (tracing) PyEval_SetTrace(nullptr, nullptr);
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* defined = PyRun_String(report_source, Py_file_input, globals, globals);
  PyObject* function = PyDict_GetItemString(globals, "_ctxfuzz_report");  // borrowed
  PyObject* reached = PySet_New(nullptr);
  for (int line : lines_reached(how)) {
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
  if (tracing) PyEval_SetTrace(trace, nullptr);
  PyGILState_Release(gil);
}

}  // namespace ctxfuzz::contextlib_coverage
