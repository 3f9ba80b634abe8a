// interpreter.cpp: starts the embedded CPython, loads the walker's modules (embedded at build
// time), runs programs and exports scripts through them.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "convert.hpp"
#include "ctxoracle/embedded_python.hpp"
#include "ctxoracle/oracle.hpp"
#include "py_ref.hpp"

namespace ctxoracle {

using detail::checked;
using detail::gil_guard;
using detail::py_ref;
using detail::python_error;

namespace {

// _ctxoracle.Timeout: what an interrupted run raises. A BaseException, so only a bare `except`
// (or `except BaseException`) of the program can take it; the watchdog raises it again then.
PyObject* timeout_exception = nullptr;

// Interrupts a run that outlives its deadline: CPython can loop forever where ctxlib does not
// (ExitStack's context fix-up on a cyclic chain, X16), and a fuzzer or a test must go on. Its
// thread waits for the running program's deadline; past it, it takes the GIL (the looping
// thread's eval loop hands it over) and raises Timeout in that thread, again every 100 ms while
// the program keeps catching it.
class watchdog {
  using clock = std::chrono::steady_clock;

 public:
  // Its thread lives as long as CPython (never joined: the interpreter is never finalized).
  watchdog() {
    std::thread([this] { watch(); }).detach();
  }

  // Called with the GIL held, in the thread about to run a program. Runs take milliseconds,
  // so the watchdog is usually still asleep until an earlier run's deadline, and finds this
  // one's when it wakes there: it is woken (a system call) only when it would sleep past it.
  void start(std::chrono::milliseconds limit) {
    std::lock_guard lock(mutex_);
    ++run_;
    thread_ = PyThread_get_thread_ident();
    deadline_ = clock::now() + limit;
    fired_ = false;
    if (*deadline_ < sleeping_until_) wake_.notify_one();
  }

  // Called with the GIL held when the run is over; true if it was interrupted. A Timeout set
  // but not yet raised (the program had just finished) is withdrawn, so no later run sees it.
  bool stop() {
    std::lock_guard lock(mutex_);
    deadline_.reset();
    if (!fired_) return false;
    PyThreadState_SetAsyncExc(thread_, nullptr);
    fired_ = false;
    return true;
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!deadline_) {
        sleeping_until_ = clock::time_point::max();
        wake_.wait(lock);
        continue;
      }
      if (clock::now() < *deadline_) {
        sleeping_until_ = *deadline_;
        wake_.wait_until(lock, sleeping_until_);
        continue;
      }
      sleeping_until_ = clock::time_point::min();  // busy: start() need not wake it
      const unsigned long run = run_;
      lock.unlock();
      PyGILState_STATE gil = PyGILState_Ensure();
      lock.lock();
      // Still the same run (it cannot end while this thread holds the GIL: stop() needs it).
      if (deadline_ && run_ == run) {
        fired_ = true;
        PyThreadState_SetAsyncExc(thread_, timeout_exception);
        deadline_ = clock::now() + std::chrono::milliseconds(100);
      }
      lock.unlock();
      PyGILState_Release(gil);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<clock::time_point> deadline_;  // of the run in progress, if any
  unsigned long run_ = 0;
  unsigned long thread_ = 0;  // the Python thread id of the running program
  bool fired_ = false;
  // Until when the watchdog thread sleeps (max: without a deadline); a run with an earlier
  // deadline must wake it.
  clock::time_point sleeping_until_ = clock::time_point::max();
};

}  // namespace

struct interpreter::state {
  std::mutex mutex;  // one run at a time: the walker's module state is shared
  std::unique_ptr<watchdog> guard;
  std::chrono::milliseconds time_limit{std::chrono::seconds(60)};
  bool started = false;
  std::string startup_error;
  std::string version;
  py_ref run;               // ctxwalker.run
  py_ref export_script;     // ctxexport.export
  py_ref format_exception;  // traceback.format_exception
};

namespace {

std::string utf8(PyObject* text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) throw python_error{};
  return std::string(data, static_cast<std::size_t>(size));
}

// The pending Python exception as traceback text; clears it. Never throws.
std::string take_python_error(PyObject* format_exception) {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  if (type == nullptr) return "unknown error (no Python exception was set)";
  PyErr_NormalizeException(&type, &value, &traceback);
  if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
  py_ref owned_type = py_ref::steal(type);
  py_ref owned_value = py_ref::steal(value);
  py_ref owned_traceback = py_ref::steal(traceback);
  try {
    if (format_exception != nullptr) {
      py_ref lines =
          checked(PyObject_CallFunctionObjArgs(format_exception, type, value ? value : Py_None,
                                               traceback ? traceback : Py_None, nullptr));
      py_ref empty = checked(PyUnicode_FromString(""));
      return utf8(checked(PyUnicode_Join(empty.get(), lines.get())).get());
    }
    return utf8(checked(PyObject_Str(value ? value : type)).get());
  } catch (const python_error&) {
    PyErr_Clear();
    return "a Python exception that could not be formatted";
  }
}

// PYTHONMALLOC as CPython reads it (an isolated config ignores the environment, and ASan runs
// need PYTHONMALLOC=malloc).
PyMemAllocatorName allocator_from_environment() {
  const char* name = std::getenv("PYTHONMALLOC");
  if (name == nullptr || *name == '\0') return PYMEM_ALLOCATOR_NOT_SET;
  struct entry {
    const char* name;
    PyMemAllocatorName allocator;
  };
  static constexpr entry table[] = {
      {"default", PYMEM_ALLOCATOR_DEFAULT},   {"debug", PYMEM_ALLOCATOR_DEBUG},
      {"malloc", PYMEM_ALLOCATOR_MALLOC},     {"malloc_debug", PYMEM_ALLOCATOR_MALLOC_DEBUG},
      {"pymalloc", PYMEM_ALLOCATOR_PYMALLOC}, {"pymalloc_debug", PYMEM_ALLOCATOR_PYMALLOC_DEBUG},
  };
  for (const entry& e : table) {
    if (std::strcmp(name, e.name) == 0) return e.allocator;
  }
  return PYMEM_ALLOCATOR_NOT_SET;
}

// _ctxoracle.reraise(exc): sets exc as the propagating exception exactly as it is, as C code
// propagates one (PyErr_Restore sets no __context__; a `raise` would). The walker hands a
// StopIteration across its coroutine executors with it (ctxwalker.py, "Escaped").
PyObject* reraise(PyObject*, PyObject* exc) {
  if (!PyExceptionInstance_Check(exc)) {
    PyErr_SetString(PyExc_TypeError, "reraise() takes an exception object");
    return nullptr;
  }
  PyErr_Restore(Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(exc))), Py_NewRef(exc),
                PyException_GetTraceback(exc));
  return nullptr;
}

PyMethodDef oracle_functions[] = {
    {"reraise", reraise, METH_O, "Raises an exception object as it is, without chaining."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef oracle_module = {
    PyModuleDef_HEAD_INIT,
    "_ctxoracle",
    "The embedding oracle's helpers for ctxwalker.py.",
    -1,
    oracle_functions,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

PyObject* init_oracle_module() {
  PyObject* module = PyModule_Create(&oracle_module);
  if (module == nullptr) return nullptr;
  timeout_exception = PyErr_NewExceptionWithDoc("_ctxoracle.Timeout",
                                                "The run took longer than the oracle's time limit.",
                                                PyExc_BaseException, nullptr);
  if (timeout_exception == nullptr ||
      PyModule_AddObjectRef(module, "Timeout", timeout_exception) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}

std::string status_text(const char* step, const PyStatus& status) {
  std::string text = std::string(step) + " failed";
  if (status.func != nullptr) text += std::string(" in ") + status.func;
  if (status.err_msg != nullptr) text += std::string(": ") + status.err_msg;
  return text;
}

// Starts CPython, or returns why it could not. `started` tells whether this call started it
// (then the calling thread holds the GIL) or the host already had.
std::string start_python(bool& started) {
  started = false;
  if (Py_IsInitialized()) return {};  // the host started it: use it as it is
  PyPreConfig preconfig;
  PyPreConfig_InitIsolatedConfig(&preconfig);
  preconfig.allocator = allocator_from_environment();
  PyStatus status = Py_PreInitialize(&preconfig);
  if (PyStatus_Exception(status)) return status_text("Py_PreInitialize", status);

  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;  // the host (a test runner, a fuzzer) owns signals
  config.use_hash_seed = 1;            // fixed: runs are reproducible
  config.hash_seed = 0;
  config.site_import = 0;  // the standard library is all the walker needs
  config.write_bytecode = 0;
  config.parse_argv = 0;
  auto fail = [&](const char* step) {
    std::string text = status_text(step, status);
    PyConfig_Clear(&config);
    return text;
  };
  // The interpreter CMake found, not whatever the process environment suggests.
  status = PyConfig_SetBytesString(&config, &config.home, CTXORACLE_PYTHON_HOME);
  if (PyStatus_Exception(status)) return fail("setting PyConfig.home");
  config.module_search_paths_set = 1;
  for (const char* path : {CTXORACLE_PYTHON_STDLIB, CTXORACLE_PYTHON_DYNLOAD}) {
    wchar_t* wide = Py_DecodeLocale(path, nullptr);
    if (wide == nullptr) {
      PyConfig_Clear(&config);
      return std::string("cannot decode ") + path;
    }
    status = PyWideStringList_Append(&config.module_search_paths, wide);
    PyMem_RawFree(wide);
    if (PyStatus_Exception(status)) return fail("setting the module search path");
  }
  if (PyImport_AppendInittab("_ctxoracle", init_oracle_module) < 0) {
    PyConfig_Clear(&config);
    return "cannot register the _ctxoracle module";
  }
  status = Py_InitializeFromConfig(&config);
  if (PyStatus_Exception(status)) return fail("Py_InitializeFromConfig");
  PyConfig_Clear(&config);
  started = true;
  return {};
}

// Imports the embedded modules in order, under their own names, with their text in linecache
// so tracebacks show the lines.
void load_modules() {
  py_ref linecache = checked(PyImport_ImportModule("linecache"));
  py_ref cache = checked(PyObject_GetAttrString(linecache.get(), "cache"));
  py_ref prelude;
  for (const detail::embedded_module& m : detail::embedded_modules) {
    py_ref source = checked(PyUnicode_FromString(m.source));
    py_ref lines = checked(PyObject_CallMethod(source.get(), "splitlines", "O", Py_True));
    py_ref entry = checked(
        Py_BuildValue("(nOOs)", PyUnicode_GetLength(source.get()), Py_None, lines.get(), m.path));
    if (PyDict_SetItemString(cache.get(), m.path, entry.get()) < 0) throw python_error{};
    py_ref code = checked(Py_CompileString(m.source, m.path, Py_file_input));
    py_ref module = checked(PyImport_ExecCodeModuleEx(m.name, code.get(), m.path));
    if (std::strcmp(m.name, "ctxtrace") == 0) prelude = std::move(source);
  }
  // The exporter pastes ctxtrace.py verbatim as every script's prelude.
  py_ref exporter = checked(PyImport_ImportModule("ctxexport"));
  if (!prelude || PyObject_SetAttrString(exporter.get(), "PRELUDE", prelude.get()) < 0) {
    throw python_error{};
  }
}

std::string python_version() {
  py_ref sys = checked(PyImport_ImportModule("sys"));
  py_ref implementation = checked(PyObject_GetAttrString(sys.get(), "implementation"));
  py_ref name = checked(PyObject_GetAttrString(implementation.get(), "name"));
  py_ref info = checked(PyObject_GetAttrString(sys.get(), "version_info"));
  std::string version = utf8(name.get()) + " ";
  for (Py_ssize_t i = 0; i < 3; ++i) {
    long part = PyLong_AsLong(PyTuple_GetItem(info.get(), i));
    if (part == -1 && PyErr_Occurred()) throw python_error{};
    if (i > 0) version += '.';
    version += std::to_string(part);
  }
  return version;
}

}  // namespace

interpreter::interpreter() : state_(std::make_unique<state>()) {
  bool started_here = false;
  std::string error = start_python(started_here);
  if (!error.empty()) {
    state_->startup_error = "cannot start the embedded CPython: " + error;
    return;
  }
  {
    gil_guard gil;
    try {
      py_ref traceback = checked(PyImport_ImportModule("traceback"));
      state_->format_exception =
          checked(PyObject_GetAttrString(traceback.get(), "format_exception"));
      load_modules();
      py_ref walker = checked(PyImport_ImportModule("ctxwalker"));
      state_->run = checked(PyObject_GetAttrString(walker.get(), "run"));
      py_ref exporter = checked(PyImport_ImportModule("ctxexport"));
      state_->export_script = checked(PyObject_GetAttrString(exporter.get(), "export"));
      state_->version = python_version();
      py_ref oracle_module = checked(PyImport_ImportModule("_ctxoracle"));  // Timeout exists now
      state_->guard = std::make_unique<watchdog>();
      state_->started = true;
    } catch (const python_error&) {
      state_->startup_error = "cannot load the oracle's Python modules:\n" +
                              take_python_error(state_->format_exception.get());
    }
  }
  // Py_InitializeFromConfig left this thread holding the GIL: release it for good, so every
  // call (from any thread) takes it with PyGILState_Ensure.
  if (started_here) PyEval_SaveThread();
}

// Never runs: the instance is never destroyed (CPython is never finalized).
interpreter::~interpreter() = default;

interpreter& interpreter::instance() {
  static interpreter* const the_interpreter = new interpreter();
  return *the_interpreter;
}

const std::string& interpreter::version() const {
  return state_->version;
}

std::chrono::milliseconds interpreter::time_limit() const {
  return state_->time_limit;
}

void interpreter::set_time_limit(std::chrono::milliseconds limit) {
  std::lock_guard lock(state_->mutex);
  state_->time_limit = limit;
}

oracle_result interpreter::run(const ctxmodel::program& checked_program) {
  if (!state_->started) return {std::nullopt, state_->startup_error};
  std::lock_guard lock(state_->mutex);
  gil_guard gil;
  oracle_result result = [&]() -> oracle_result {
    try {
      py_ref program = detail::to_python(checked_program);
      state_->guard->start(state_->time_limit);
      py_ref events = checked(PyObject_CallOneArg(state_->run.get(), program.get()));
      if (!PyList_Check(events.get())) {
        return {std::nullopt, "ctxwalker.run did not return a list"};
      }
      ctxmodel::trace trace;
      Py_ssize_t size = PyList_GET_SIZE(events.get());
      trace.events.reserve(static_cast<std::size_t>(size));
      for (Py_ssize_t i = 0; i < size; ++i) {
        trace.events.push_back(utf8(PyList_GET_ITEM(events.get(), i)));
      }
      return {std::move(trace), {}};
    } catch (const detail::conversion_error& e) {
      return {std::nullopt, std::string("cannot run the program: ") + e.what()};
    } catch (const python_error&) {
      return {std::nullopt, take_python_error(state_->format_exception.get())};
    }
  }();
  if (state_->guard->stop()) {
    PyErr_Clear();
    return {std::nullopt,
            "CPython did not finish within " + std::to_string(state_->time_limit.count()) +
                " ms and was interrupted (it can loop forever: docs/differences.md, X16)",
            true};
  }
  return result;
}

std::string interpreter::evaluate(std::string_view python_expression) {
  if (!state_->started) throw std::runtime_error(state_->startup_error);
  std::lock_guard lock(state_->mutex);
  gil_guard gil;
  try {
    py_ref globals = checked(PyDict_New());
    if (PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) < 0) {
      throw python_error{};
    }
    std::string source(python_expression);
    py_ref value =
        checked(PyRun_String(source.c_str(), Py_eval_input, globals.get(), globals.get()));
    return utf8(checked(PyObject_Str(value.get())).get());
  } catch (const python_error&) {
    throw std::runtime_error(take_python_error(state_->format_exception.get()));
  }
}

std::string export_python(const ctxmodel::program& p) {
  interpreter::state& state = *interpreter::instance().state_;
  if (!state.started) throw std::runtime_error(state.startup_error);
  std::lock_guard lock(state.mutex);
  gil_guard gil;
  try {
    py_ref program = detail::to_python(p);
    py_ref script = checked(PyObject_CallOneArg(state.export_script.get(), program.get()));
    return utf8(script.get());
  } catch (const detail::conversion_error& e) {
    throw std::runtime_error(std::string("cannot export the program: ") + e.what());
  } catch (const python_error&) {
    throw std::runtime_error(take_python_error(state.format_exception.get()));
  }
}

}  // namespace ctxoracle
