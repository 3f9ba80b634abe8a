#include "lexer.hpp"

#include <cstdio>

#include "ctxmodel/trace.hpp"
#include "names.hpp"

namespace ctxmodel::detail {

namespace {

constexpr std::string_view expect_marker = "--- expect";

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(c));
  return buf;
}

// What to say about a character that cannot start a token.
std::string unexpected_char(unsigned char c) {
  if (c == 0) return "unexpected NUL byte";
  if (c == '\t') return "tab character: indentation and spacing must use spaces";
  if (c == '\r') return "unexpected carriage return (line ends are \\n or \\r\\n)";
  if (c >= 0x80)
    return "unexpected byte " + hex_byte(c) + " (program text is ASCII outside comments)";
  if (c < 0x20 || c == 0x7f) return "unexpected control character " + hex_byte(c);
  return std::string("unexpected character '") + static_cast<char>(c) + "'";
}

class lexer {
 public:
  explicit lexer(std::string_view text) : text_(program_part(text)) {}

  std::vector<token> run() {
    while (pos_ < text_.size() && !failed_) lex_line();
    if (!failed_) {
      // A file that ends without a final newline still ends its last line.
      while (indents_.size() > 1) {
        indents_.pop_back();
        push(token_kind::dedent, "", line_, 1);
      }
      push(token_kind::end, "", line_, 1);
    }
    return std::move(tokens_);
  }

 private:
  char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\n'; }
  bool at_end(std::size_t i) const { return i >= text_.size(); }
  // A line ends at '\n', at "\r\n", or at the end of the text.
  bool line_end(std::size_t i) const {
    return at_end(i) || text_[i] == '\n' || (text_[i] == '\r' && at(i + 1) == '\n');
  }
  int col(std::size_t i) const { return static_cast<int>(i - line_start_) + 1; }

  void push(token_kind k, std::string text, int line, int column, std::int64_t v = 0) {
    tokens_.push_back(token{k, std::move(text), v, line, column});
  }
  void fail(std::size_t i, std::string message) {
    push(token_kind::error, std::move(message), line_, col(i));
    failed_ = true;
  }

  // Moves pos_ past the end of the current line.
  void next_line(std::size_t i) {
    while (!at_end(i) && text_[i] != '\n') ++i;
    pos_ = at_end(i) ? i : i + 1;
    ++line_;
  }

  // A comment may hold any byte but NUL (UTF-8 in metadata comments is fine). Returns false
  // after reporting an error.
  bool skip_comment(std::size_t& i) {
    while (!line_end(i)) {
      if (text_[i] == '\0') {
        fail(i, "unexpected NUL byte");
        return false;
      }
      ++i;
    }
    return true;
  }

  void lex_line() {
    line_start_ = pos_;
    std::size_t i = pos_;
    while (!at_end(i) && text_[i] == ' ') ++i;
    // Blank and comment-only lines produce no tokens and do not affect indentation.
    if (line_end(i)) return next_line(i);
    if (text_[i] == '#') {
      if (skip_comment(i)) next_line(i);
      return;
    }
    if (text_[i] == '\t') return fail(i, unexpected_char('\t'));

    const int indent = static_cast<int>(i - pos_);
    if (indent > indents_.back()) {
      indents_.push_back(indent);
      push(token_kind::indent, "", line_, col(i));
    } else {
      while (indent < indents_.back()) {
        indents_.pop_back();
        push(token_kind::dedent, "", line_, col(i));
      }
      if (indent != indents_.back())
        return fail(i, "unindent does not match any outer indentation level");
    }

    int end_col = col(i);  // column just after the last token: where a newline is reported
    for (;;) {
      while (!at_end(i) && text_[i] == ' ') ++i;
      if (line_end(i) || text_[i] == '#') {
        if (!line_end(i) && !skip_comment(i)) return;
        push(token_kind::newline, "", line_, end_col);
        return next_line(i);
      }
      const std::size_t start = i;
      const char c = text_[i];
      if (is_name_start(c)) {
        while (!at_end(i) && is_name_char(text_[i])) ++i;
        std::string word(text_.substr(start, i - start));
        const token_kind k = is_keyword(word) ? token_kind::keyword : token_kind::name;
        push(k, std::move(word), line_, col(start));
      } else if (is_digit(c) || c == '-') {
        if (!lex_integer(i)) return;
      } else if (c == '\'' || c == '"') {
        if (!lex_string(i)) return;
      } else if (c == '(' || c == ')' || c == ',' || c == ':' || c == '.' || c == '=' || c == '*' ||
                 c == '@') {
        ++i;
        push(token_kind::op, std::string(1, c), line_, col(start));
      } else {
        return fail(i, unexpected_char(static_cast<unsigned char>(c)));
      }
      end_col = col(i);
    }
  }

  // `-?[0-9]+` fitting in int64; no leading zeros (as in Python).
  bool lex_integer(std::size_t& i) {
    const std::size_t start = i;
    const bool negative = text_[i] == '-';
    if (negative) {
      ++i;
      if (at_end(i) || !is_digit(text_[i])) {
        fail(start, "unexpected character '-' (a minus sign must be followed by digits)");
        return false;
      }
    }
    const std::size_t digits = i;
    // Magnitude limit: 2^63 - 1, or 2^63 for a negative number.
    const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    std::uint64_t magnitude = 0;
    bool overflow = false;
    while (!at_end(i) && is_digit(text_[i])) {
      const auto d = static_cast<std::uint64_t>(text_[i] - '0');
      if (magnitude > (limit - d) / 10) overflow = true;
      if (!overflow) magnitude = magnitude * 10 + d;
      ++i;
    }
    if (!at_end(i) && is_name_char(text_[i])) {
      fail(start,
           "invalid integer literal (digits followed by '" + std::string(1, text_[i]) + "')");
      return false;
    }
    const std::string spelling(text_.substr(start, i - start));
    if (i - digits > 1 && text_[digits] == '0') {
      fail(start, "leading zeros are not allowed in integer " + spelling);
      return false;
    }
    if (overflow) {
      fail(start, "integer " + spelling + " does not fit in 64 bits");
      return false;
    }
    std::int64_t value = 0;
    if (negative)
      value =
          magnitude == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
    else
      value = static_cast<std::int64_t>(magnitude);
    push(token_kind::integer, spelling, line_, col(start), value);
    return true;
  }

  // '...' or "..." with the escapes \\ \' \" \n \t; printable ASCII only.
  bool lex_string(std::size_t& i) {
    const std::size_t start = i;
    const char quote = text_[i++];
    std::string value;
    for (;;) {
      if (line_end(i)) {
        fail(start, "unterminated string literal");
        return false;
      }
      const auto c = static_cast<unsigned char>(text_[i]);
      if (c == static_cast<unsigned char>(quote)) {
        ++i;
        break;
      }
      if (c == '\\') {
        const char e = at(i + 1);
        if (line_end(i + 1)) {
          fail(start, "unterminated string literal");
          return false;
        }
        switch (e) {
          case '\\':
            value += '\\';
            break;
          case '\'':
            value += '\'';
            break;
          case '"':
            value += '"';
            break;
          case 'n':
            value += '\n';
            break;
          case 't':
            value += '\t';
            break;
          default: {
            const auto ue = static_cast<unsigned char>(e);
            std::string shown = (ue >= 0x20 && ue < 0x7f) ? std::string("\\") + e
                                                          : "\\ followed by byte " + hex_byte(ue);
            fail(i, "unknown escape sequence '" + shown +
                        "' in string literal (allowed: \\\\ \\' \\\" \\n \\t)");
            return false;
          }
        }
        i += 2;
        continue;
      }
      if (c < 0x20 || c >= 0x7f) {
        if (c == '\t')
          fail(i, "tab character in a string literal (write \\t)");
        else if (c == 0)
          fail(i, "unexpected NUL byte in a string literal");
        else
          fail(i, "byte " + hex_byte(c) +
                      " is not allowed in a string literal (printable ASCII only)");
        return false;
      }
      value += static_cast<char>(c);
      ++i;
    }
    push(token_kind::string, std::move(value), line_, col(start));
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 1;
  std::vector<int> indents_{0};
  std::vector<token> tokens_;
  bool failed_ = false;
};

}  // namespace

std::string_view program_part(std::string_view text) {
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    if (text.substr(line_start).starts_with(expect_marker)) return text.substr(0, line_start);
    const std::size_t nl = text.find('\n', line_start);
    if (nl == std::string_view::npos) break;
    line_start = nl + 1;
  }
  return text;
}

std::vector<token> lex(std::string_view text) {
  return lexer(text).run();
}

std::string describe(const token& t) {
  switch (t.kind) {
    case token_kind::name:
    case token_kind::keyword:
    case token_kind::op:
      return "'" + t.text + "'";
    case token_kind::integer:
      return "integer " + t.text;
    case token_kind::string:
      return "string " + python_repr(t.text);
    case token_kind::newline:
      return "newline";
    case token_kind::indent:
      return "indented line";
    case token_kind::dedent:
      return "end of block";
    case token_kind::end:
      return "end of file";
    case token_kind::error:
      return "error";
  }
  return "?";
}

}  // namespace ctxmodel::detail
