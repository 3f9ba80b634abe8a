// Small exception types and managers shared by the unit tests, written as a user would.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctxlib/ctxlib.hpp"

namespace ctxlib_test {

struct value_error : ctxlib::exception {
  using exception::exception;
  std::string_view python_type_name() const noexcept override { return "ValueError"; }
};
struct lookup_error : ctxlib::exception {
  using exception::exception;
  std::string_view python_type_name() const noexcept override { return "LookupError"; }
};
struct key_error : lookup_error {
  using lookup_error::lookup_error;
  std::string_view python_type_name() const noexcept override { return "KeyError"; }
};
struct index_error : lookup_error {
  using lookup_error::lookup_error;
  std::string_view python_type_name() const noexcept override { return "IndexError"; }
};
struct keyboard_interrupt : ctxlib::base_exception {
  using base_exception::base_exception;
  std::string_view python_type_name() const noexcept override { return "KeyboardInterrupt"; }
};

// The message of the exception in `e`, or "" if none / not a ctxlib exception.
inline std::string message_of(const std::exception_ptr& e) {
  auto* b = ctxlib::exception_cast<ctxlib::base_exception>(e);
  return b != nullptr ? b->message() : std::string();
}

// Runs `f` and returns what it threw (empty if nothing).
template <class F>
std::exception_ptr thrown_by(F&& f) {
  try {
    f();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

// Records enter/exit and what exit received; exit returns `suppress`.
struct recording_cm {
  recording_cm(std::vector<std::string>* log, std::string name, bool suppress = false)
      : log(log), name(std::move(name)), suppress(suppress) {}

  std::vector<std::string>* log;
  std::string name;
  bool suppress;
  std::exception_ptr received;

  std::string& enter() {
    log->push_back("enter " + name);
    return name;
  }
  bool exit(const std::exception_ptr& e) {
    received = e;
    log->push_back("exit " + name + (e ? " " + message_of(e) : std::string(" None")));
    return suppress;
  }
};

}  // namespace ctxlib_test
