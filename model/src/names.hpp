// names.hpp (private): the word lists the lexer, parser, checker and printer agree on.
#pragma once

#include <string_view>

namespace ctxmodel::detail {

// The language's keywords: the lexer turns these into keyword tokens, so they can never be names.
bool is_keyword(std::string_view word);

// Python keywords that are not keywords of the language ("if", "lambda", ...): a program using
// one as a name would not compile once exported to Python.
bool is_python_only_keyword(std::string_view word);

// `[A-Za-z_][A-Za-z0-9_]*` and not a keyword.
bool is_identifier(std::string_view word);

// The four contextlib constructors the language knows: ExitStack, suppress, nullcontext, closing.
bool is_library_constructor(std::string_view word);

// `contextmanager`, only written as the decorator `@contextmanager`.
bool is_library_decorator(std::string_view word);

// `sleep` (only in `await sleep()`).
bool is_library_function(std::string_view word);

// Expression/statement nesting limit shared by the parser and the checker, so that every
// program the checker accepts prints to text the parser accepts.
inline constexpr int max_nesting = 200;

}  // namespace ctxmodel::detail
