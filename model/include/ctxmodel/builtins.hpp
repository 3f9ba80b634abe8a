// ctxmodel/builtins.hpp: CPython's built-in exception classes the language knows, with their
// bases, so every side agrees on the hierarchy (the oracle self-test checks it against CPython).
#pragma once

#include <span>
#include <string_view>

namespace ctxmodel {

struct builtin_exception_class {
  std::string_view name;
  std::string_view base;  // empty for BaseException
};

// In an order where every base precedes its subclasses.
std::span<const builtin_exception_class> builtin_exception_classes();

// The entry for `name`, or nullptr.
const builtin_exception_class* find_builtin_exception_class(std::string_view name);

}  // namespace ctxmodel
