// py_ref.hpp (internal): an owned reference to a Python object (use only while holding the GIL),
// and a scope holding the GIL.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdexcept>
#include <utility>

namespace ctxoracle::detail {

class py_ref {
 public:
  py_ref() = default;
  static py_ref steal(PyObject* object) { return py_ref(object); }
  static py_ref borrow(PyObject* object) {
    Py_XINCREF(object);
    return py_ref(object);
  }
  py_ref(py_ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  py_ref& operator=(py_ref&& other) noexcept {
    if (this != &other) {
      Py_XDECREF(object_);
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  py_ref(const py_ref&) = delete;
  py_ref& operator=(const py_ref&) = delete;
  ~py_ref() { Py_XDECREF(object_); }

  PyObject* get() const { return object_; }
  PyObject* release() { return std::exchange(object_, nullptr); }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  explicit py_ref(PyObject* object) : object_(object) {}
  PyObject* object_ = nullptr;
};

// Holds the GIL for a scope (the interpreter releases it after startup, so any thread can call).
class gil_guard {
 public:
  gil_guard() : state_(PyGILState_Ensure()) {}
  ~gil_guard() { PyGILState_Release(state_); }
  gil_guard(const gil_guard&) = delete;
  gil_guard& operator=(const gil_guard&) = delete;

 private:
  PyGILState_STATE state_;
};

// A Python API call failed; the Python error indicator is set and says why.
struct python_error : std::exception {
  const char* what() const noexcept override { return "Python error"; }
};

// The object, or python_error if a call returned NULL.
inline py_ref checked(PyObject* new_reference) {
  if (new_reference == nullptr) throw python_error{};
  return py_ref::steal(new_reference);
}

}  // namespace ctxoracle::detail
