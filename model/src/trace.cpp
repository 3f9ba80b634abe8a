// trace.cpp: trace text form, the side-by-side divergence view, and Python's str repr.
#include "ctxmodel/trace.hpp"

#include <algorithm>
#include <cstdio>

namespace ctxmodel {

std::string trace::to_text() const {
  std::string s;
  for (const auto& e : events) {
    s += e;
    s += '\n';
  }
  return s;
}

trace trace::from_text(std::string_view text) {
  trace t;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    t.events.emplace_back(line);
  }
  return t;
}

namespace {

struct row {
  std::string left;
  char marker;  // ' ' same, '|' differs, '<' left only, '>' right only
  std::string right;
};

// Aligns the two event lists on a longest common subsequence, like sdiff: equal events share a
// row; between two matches, left-only and right-only events pair up as changed rows ('|') and
// the surplus shows as '<' or '>'. Very long traces fall back to pairing by index.
std::vector<row> align(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<row> rows;
  std::vector<std::pair<int, int>> script;  // (i, -1) left only, (-1, j) right only, (i, j) same
  if (n * m <= 4'000'000) {
    std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] == b[j]) {
        script.emplace_back(static_cast<int>(i++), static_cast<int>(j++));
      } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
        script.emplace_back(static_cast<int>(i++), -1);
      } else {
        script.emplace_back(-1, static_cast<int>(j++));
      }
    }
  } else {
    for (std::size_t k = 0; k < std::max(n, m); ++k) {
      if (k < n && k < m && a[k] == b[k])
        script.emplace_back(static_cast<int>(k), static_cast<int>(k));
      else {
        if (k < n) script.emplace_back(static_cast<int>(k), -1);
        if (k < m) script.emplace_back(-1, static_cast<int>(k));
      }
    }
  }
  std::vector<int> lefts, rights;
  auto flush = [&] {
    const std::size_t paired = std::min(lefts.size(), rights.size());
    for (std::size_t k = 0; k < paired; ++k) rows.push_back({a[lefts[k]], '|', b[rights[k]]});
    for (std::size_t k = paired; k < lefts.size(); ++k) rows.push_back({a[lefts[k]], '<', ""});
    for (std::size_t k = paired; k < rights.size(); ++k) rows.push_back({"", '>', b[rights[k]]});
    lefts.clear();
    rights.clear();
  };
  for (auto [i, j] : script) {
    if (i >= 0 && j >= 0) {
      flush();
      rows.push_back({a[i], ' ', b[j]});
    } else if (i >= 0) {
      lefts.push_back(i);
    } else {
      rights.push_back(j);
    }
  }
  flush();
  return rows;
}

}  // namespace

std::string side_by_side(const trace& left, const trace& right, std::string_view left_title,
                         std::string_view right_title) {
  const std::vector<row> rows = align(left.events, right.events);
  std::size_t width = left_title.size(), right_width = right_title.size();
  for (const auto& r : rows) {
    width = std::max(width, r.left.size());
    right_width = std::max(right_width, r.right.size());
  }
  std::string out;
  auto line = [&](std::string_view l, char marker, std::string_view r) {
    std::string s(l);
    s.append(width - l.size(), ' ');
    s += ' ';
    s += marker;
    s += ' ';
    s += r;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s;
    out += '\n';
  };
  line(left_title, ' ', right_title);
  line(std::string(width, '-'), ' ', std::string(right_width, '-'));
  for (const auto& r : rows) line(r.left, r.marker, r.right);
  return out;
}

std::string python_repr(std::string_view text) {
  // CPython (unicode_repr): single quotes unless the text has ' and no ".
  const bool has_single = text.find('\'') != std::string_view::npos;
  const bool has_double = text.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string s(1, quote);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      s += '\\';
      s += ch;
    } else if (ch == '\t') {
      s += "\\t";
    } else if (ch == '\n') {
      s += "\\n";
    } else if (ch == '\r') {
      s += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      s += buf;
    } else {
      s += ch;  // printable ASCII (bytes >= 0x80 pass through: UTF-8 text stays as it is)
    }
  }
  s += quote;
  return s;
}

}  // namespace ctxmodel
