// The embedded CPython for the benchmarks (see cpython.hpp).
#define PY_SSIZE_T_CLEAN
#include "cpython.hpp"

#include <Python.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "ctxoracle/oracle.hpp"

namespace ctxbench::cpython {
namespace {

struct decref {
  void operator()(PyObject* object) const noexcept { Py_XDECREF(object); }
};
using owned = std::unique_ptr<PyObject, decref>;

// The pending Python exception as text (traceback included), cleared.
std::string take_error() {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  owned t(type), v(value), tb(traceback);
  if (!t) return "no Python error set";
  owned module(PyImport_ImportModule("traceback"));
  owned lines(module ? PyObject_CallMethod(module.get(), "format_exception", "OOO", t.get(),
                                           v ? v.get() : Py_None, tb ? tb.get() : Py_None)
                     : nullptr);
  owned empty(PyUnicode_FromString(""));
  owned text(lines && empty ? PyUnicode_Join(empty.get(), lines.get()) : nullptr);
  const char* utf8 = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
  std::string result = utf8 != nullptr ? utf8 : "(the Python error could not be formatted)";
  PyErr_Clear();
  return result;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ":\n" + take_error());
}

PyObject* checked(PyObject* result, const char* what) {
  if (result == nullptr) fail(what);
  return result;
}

// bench/cpython_ops.py, imported once (under the GIL) as module `ctxbench_ops`.
PyObject* ops_module() {
  static PyObject* const module = [] {
    std::ifstream in(CTXBENCH_OPS_PY);
    if (!in) throw std::runtime_error(std::string(CTXBENCH_OPS_PY) + ": cannot read file");
    std::stringstream text;
    text << in.rdbuf();
    owned code(checked(Py_CompileString(text.str().c_str(), CTXBENCH_OPS_PY, Py_file_input),
                       "compiling " CTXBENCH_OPS_PY));
    return checked(PyImport_ExecCodeModuleEx("ctxbench_ops", code.get(), CTXBENCH_OPS_PY),
                   "importing " CTXBENCH_OPS_PY);
  }();
  return module;
}

// Starts CPython through the oracle (same interpreter, same configuration) before any GIL use.
void ensure_started() {
  static const bool started = [] {
    ctxoracle::interpreter& python = ctxoracle::interpreter::instance();
    if (python.version().empty()) {
      // evaluate() reports why the interpreter did not start.
      python.evaluate("0");
      throw std::runtime_error("the embedded CPython did not start");
    }
    return true;
  }();
  static_cast<void>(started);
}

}  // namespace

std::string version() {
  ensure_started();
  return ctxoracle::interpreter::instance().version();
}

gil::gil() {
  ensure_started();
  state_ = static_cast<int>(PyGILState_Ensure());
}

gil::~gil() {
  PyGILState_Release(static_cast<PyGILState_STATE>(state_));
}

op::op(const char* name)
    : function_(checked(PyObject_GetAttrString(ops_module(), name),
                        (std::string("cpython_ops.") + name).c_str())) {}

void op::run(long count, long size) const {
  owned result(PyObject_CallFunction(static_cast<PyObject*>(function_), "ll", count, size));
  if (!result) fail("cpython_ops call failed");
}

script::script(const std::string& source, const std::string& file_name)
    : code_(checked(Py_CompileString(source.c_str(), file_name.c_str(), Py_file_input),
                    ("compiling the export of " + file_name).c_str())) {}

script::~script() {
  if (code_ == nullptr) return;
  gil held;
  Py_DECREF(static_cast<PyObject*>(code_));
}

script::script(script&& other) noexcept : code_(std::exchange(other.code_, nullptr)) {}

std::string script::run() const {
  static PyObject* const run_script =
      checked(PyObject_GetAttrString(ops_module(), "run_script"), "cpython_ops.run_script");
  owned out(PyObject_CallOneArg(run_script, static_cast<PyObject*>(code_)));
  if (!out) fail("an exported script failed");
  const char* text = PyUnicode_AsUTF8(out.get());
  if (text == nullptr) fail("an exported script printed something that is not text");
  return text;
}

}  // namespace ctxbench::cpython
