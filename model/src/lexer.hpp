// lexer.hpp (private): program text to tokens, with Python-style INDENT/DEDENT.
//
// The lexer tokenises the whole program text up front but stops at its first error, which it
// records as an `error` token in place: the parser meets that token exactly where a lazy lexer
// would have failed, so the first diagnostic is always the first problem in source order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ctxmodel::detail {

enum class token_kind : std::uint8_t {
  name,
  keyword,
  integer,
  string,
  op,  // one of ( ) , : . = * @
  newline,
  indent,
  dedent,
  end,
  error,  // text is the message; always the last token
};

struct token {
  token_kind kind = token_kind::end;
  std::string text;        // name/keyword/op spelling, decoded string value, error message
  std::int64_t value = 0;  // integer value
  int line = 1;
  int column = 1;

  bool is_op(char c) const { return kind == token_kind::op && text.size() == 1 && text[0] == c; }
  bool is_keyword(std::string_view k) const { return kind == token_kind::keyword && text == k; }
};

// Never throws (except std::bad_alloc); the result always ends with an `end` or `error` token.
std::vector<token> lex(std::string_view text);

// The program text proper: everything before the first line starting with `--- expect`.
std::string_view program_part(std::string_view text);

// For messages: "newline", "end of file", "'with'", "integer 5", "string 'x'", ...
std::string describe(const token& t);

}  // namespace ctxmodel::detail
