// builtins.cpp: CPython 3.11's built-in exception classes known to the language, with their
// real bases (checked against `python3 -c "print(KeyError.__mro__)"`; the oracle self-test
// checks the table against the embedded interpreter).
#include "ctxmodel/builtins.hpp"

#include <array>
#include <unordered_map>

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
  // Asked for every name the checker binds or declares: a hash lookup, not a scan.
  static const std::unordered_map<std::string_view, const builtin_exception_class*> by_name = [] {
    std::unordered_map<std::string_view, const builtin_exception_class*> m;
    for (const auto& c : table) m.emplace(c.name, &c);  // names are unique
    return m;
  }();
  auto it = by_name.find(name);
  return it != by_name.end() ? it->second : nullptr;
}

}  // namespace ctxmodel
