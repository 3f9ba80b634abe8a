#include "names.hpp"

#include <algorithm>
#include <array>

namespace ctxmodel::detail {

namespace {

constexpr std::array<std::string_view, 29> keywords = {
    "class",   "cm",    "def",   "enter",  "exit",  "close", "with",   "as",    "try",    "except",
    "finally", "raise", "from",  "return", "mark",  "pass",  "if",     "not",   "else",   "yield",
    "None",    "True",  "False", "acm",    "async", "await", "aenter", "aexit", "aclose",
};

// Python 3.11's keyword.kwlist minus the language's own keywords.
constexpr std::array<std::string_view, 15> python_only = {
    "and",    "assert", "break", "continue", "del",      "elif", "for",   "global",
    "import", "in",     "is",    "lambda",   "nonlocal", "or",   "while",
};

bool contains(auto const& list, std::string_view word) {
  return !word.empty() && std::find(list.begin(), list.end(), word) != list.end();
}

}  // namespace

bool is_keyword(std::string_view word) {
  return contains(keywords, word);
}

bool is_python_only_keyword(std::string_view word) {
  return contains(python_only, word);
}

bool is_identifier(std::string_view word) {
  if (word.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(word[0])) return false;
  for (char c : word)
    if (!alpha(c) && !digit(c)) return false;
  return !is_keyword(word);
}

bool is_library_constructor(std::string_view word) {
  return word == "ExitStack" || word == "suppress" || word == "nullcontext" || word == "closing" ||
         word == "AsyncExitStack" || word == "aclosing" || word == "NeutralExitStack";
}

bool is_library_decorator(std::string_view word) {
  return word == "contextmanager" || word == "asynccontextmanager";
}

bool is_library_function(std::string_view word) {
  return word == "sleep";
}

}  // namespace ctxmodel::detail
