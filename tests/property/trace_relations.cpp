// trace_relations.cpp: chain loops and context-free traces (trace_relations.hpp). Both scan
// the canonical rendering: values, `#N CLASS(ARG)` exceptions with ` cause=(...)`,
// ` suppress_context` and ` context=(...)` after them, and Python-quoted strings, which may hold
// any of those characters and are skipped whole.
#include "trace_relations.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

namespace ctxprop {

namespace {

// The index just past the quoted string starting at `i` (a Python repr: ' or ", backslash
// escapes).
std::size_t skip_string(std::string_view line, std::size_t i) {
  const char quote = line[i++];
  while (i < line.size() && line[i] != quote) i += line[i] == '\\' ? 2 : 1;
  return i < line.size() ? i + 1 : line.size();
}

bool is_quote(char c) {
  return c == '\'' || c == '"';
}

// `#N` at `i`: N and the index past it; N < 0 if there is no number there.
std::pair<long, std::size_t> identity_at(std::string_view line, std::size_t i) {
  if (line[i] != '#' || i + 1 >= line.size() ||
      !std::isdigit(static_cast<unsigned char>(line[i + 1])))
    return {-1, i};
  std::size_t j = i + 1;
  long n = 0;
  while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j])))
    n = n * 10 + (line[j++] - '0');
  return {n, j};
}

bool ends_with(std::string_view text, std::size_t end, std::string_view suffix) {
  return end >= suffix.size() && text.substr(end - suffix.size(), suffix.size()) == suffix;
}

}  // namespace

std::vector<std::string> chain_loops(const ctxmodel::trace& t) {
  struct link {
    long id;
    std::string cls;
    std::string attribute;  // the link that led here ("" for a value's root)
  };
  struct paren {
    std::string attribute;  // "cause" / "context" for a chain link, "" otherwise
    bool pushed = false;    // a nested exception was rendered inside it
  };
  std::vector<std::string> loops;
  for (std::size_t event = 0; event < t.events.size(); ++event) {
    const std::string_view line = t.events[event];
    std::vector<link> path;
    std::vector<paren> parens;
    for (std::size_t i = 0; i < line.size();) {
      const char c = line[i];
      if (is_quote(c)) {
        i = skip_string(line, i);
        continue;
      }
      if (c == '(') {
        parens.push_back({ends_with(line, i, "cause=")     ? "cause"
                          : ends_with(line, i, "context=") ? "context"
                                                           : ""});
        ++i;
        continue;
      }
      if (c == ')') {
        if (!parens.empty()) {
          if (parens.back().pushed && !path.empty()) path.pop_back();
          parens.pop_back();
        }
        ++i;
        continue;
      }
      const auto [id, after] = identity_at(line, i);
      if (id < 0) {
        ++i;
        continue;
      }
      std::size_t k = after;
      if (k < line.size() && line[k] == ' ') ++k;
      std::size_t name_end = k;
      while (name_end < line.size() &&
             (std::isalnum(static_cast<unsigned char>(line[name_end])) || line[name_end] == '_'))
        ++name_end;
      const std::string cls(line.substr(k, name_end - k));
      const bool in_link =
          !parens.empty() && !parens.back().attribute.empty() && line[i - 1] == '(';
      if (in_link && after < line.size() && line[after] == ')') {
        // `(#N)`: a back-reference; a loop if N is on the path to here.
        for (std::size_t p = 0; p < path.size(); ++p) {
          if (path[p].id != id) continue;
          // The loop's exceptions are named a, b, ... in its own order, so the same loop reads
          // the same in two traces that number their exceptions differently.
          auto name = [&](std::size_t q) {
            return "#" + std::string(1, static_cast<char>('a' + std::min<std::size_t>(q - p, 25))) +
                   " " + path[q].cls;
          };
          std::string text = "event " + std::to_string(event + 1) + ": " + name(p);
          for (std::size_t q = p + 1; q < path.size(); ++q)
            text += " -" + path[q].attribute + "-> " + name(q);
          text += " -" + parens.back().attribute + "-> " + name(p);
          loops.push_back(std::move(text));
          break;
        }
      } else if (in_link) {
        path.push_back({id, cls, parens.back().attribute});
        parens.back().pushed = true;
      } else {
        path.assign(1, link{id, cls, ""});  // a new value
      }
      i = after;
    }
  }
  return loops;
}

ctxmodel::trace without_contexts(const ctxmodel::trace& t) {
  constexpr std::string_view clause = " context=(";
  std::map<long, long> renumbered;
  ctxmodel::trace out;
  for (const std::string& line_text : t.events) {
    const std::string_view line = line_text;
    std::string result;
    for (std::size_t i = 0; i < line.size();) {
      if (is_quote(line[i])) {
        const std::size_t end = skip_string(line, i);
        result.append(line.substr(i, end - i));
        i = end;
        continue;
      }
      if (line.substr(i, clause.size()) == clause) {
        // Skip to the parenthesis that closes the clause.
        std::size_t j = i + clause.size();
        for (int depth = 1; j < line.size() && depth > 0;) {
          if (is_quote(line[j])) {
            j = skip_string(line, j);
            continue;
          }
          depth += line[j] == '(' ? 1 : line[j] == ')' ? -1 : 0;
          ++j;
        }
        i = j;
        continue;
      }
      const auto [id, after] = identity_at(line, i);
      if (id >= 0) {
        const long n =
            renumbered.emplace(id, static_cast<long>(renumbered.size()) + 1).first->second;
        result += "#" + std::to_string(n);
        i = after;
        continue;
      }
      result += line[i++];
    }
    out.events.push_back(std::move(result));
  }
  return out;
}

}  // namespace ctxprop
