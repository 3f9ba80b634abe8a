// builtins.cpp: CPython 3.11's built-in exception classes known to the language, with their
// real bases (checked against `python3 -c "print(KeyError.__mro__)"`; the oracle self-test
// checks the table against the embedded interpreter).
#include "ctxmodel/builtins.hpp"

#include <array>

namespace ctxmodel {

namespace {

// Every base precedes its subclasses.
constexpr std::array<builtin_exception_class, 22> table = {{
    {"BaseException", ""},
    {"Exception", "BaseException"},
    {"ArithmeticError", "Exception"},
    {"ZeroDivisionError", "ArithmeticError"},
    {"LookupError", "Exception"},
    {"KeyError", "LookupError"},
    {"IndexError", "LookupError"},
    {"RuntimeError", "Exception"},
    {"NotImplementedError", "RuntimeError"},
    {"RecursionError", "RuntimeError"},
    {"TypeError", "Exception"},
    {"ValueError", "Exception"},
    {"AttributeError", "Exception"},
    {"NameError", "Exception"},
    {"StopIteration", "Exception"},
    {"StopAsyncIteration", "Exception"},
    {"AssertionError", "Exception"},
    {"OSError", "Exception"},
    {"GeneratorExit", "BaseException"},
    {"KeyboardInterrupt", "BaseException"},
    {"SystemExit", "BaseException"},
    {"CancelledError", "BaseException"},  // asyncio.CancelledError (not in builtins)
}};

}  // namespace

std::span<const builtin_exception_class> builtin_exception_classes() {
  return table;
}

const builtin_exception_class* find_builtin_exception_class(std::string_view name) {
  for (const auto& c : table)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace ctxmodel
