// corpus.cpp: corpus files = program text + `--- expect <version>` sections of trace lines.
#include "ctxmodel/corpus.hpp"

#include <algorithm>
#include <vector>

namespace ctxmodel {

namespace {

constexpr std::string_view marker = "--- expect";

// Orders version strings naturally: digit runs compare as numbers, so 3.11.2 < 3.11.10.
bool version_less(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && digit(a[i2])) ++i2;
      while (j2 < b.size() && digit(b[j2])) ++j2;
      std::string_view na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // a total order even for "1.01" vs "1.1"
}

}  // namespace

corpus_file split_corpus_file(std::string_view text) {
  corpus_file f;
  std::size_t pos = 0;
  std::string* section = nullptr;  // the version whose lines are being collected
  std::vector<std::pair<std::string, std::string>> sections;
  bool in_program = true;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(marker)) {
      if (in_program) f.program_text = std::string(text.substr(0, pos));
      in_program = false;
      std::string_view version = line.substr(marker.size());
      while (!version.empty() && (version.back() == '\n' || version.back() == '\r' ||
                                  version.back() == ' ' || version.back() == '\t'))
        version.remove_suffix(1);
      while (!version.empty() && (version.front() == ' ' || version.front() == '\t'))
        version.remove_prefix(1);
      sections.emplace_back(std::string(version), "");
      section = &sections.back().second;
    } else if (section) {
      *section += line;
    }
    pos = end;
  }
  if (in_program) f.program_text = std::string(text);
  // A repeated version keeps its first section.
  for (auto& [version, lines] : sections) f.expected.emplace(version, trace::from_text(lines));
  return f;
}

std::string join_corpus_file(const corpus_file& file) {
  std::string out = file.program_text;
  if (!file.expected.empty() && !out.empty() && out.back() != '\n') out += '\n';
  std::vector<const std::pair<const std::string, trace>*> sections;
  for (const auto& entry : file.expected) sections.push_back(&entry);
  // Versions equal as numbers ("3.11.07", "3.11.7") keep the map's order (the key's text).
  std::sort(sections.begin(), sections.end(), [](auto* a, auto* b) {
    if (version_less(a->first, b->first)) return true;
    return !version_less(b->first, a->first) && a->first < b->first;
  });
  for (const auto* s : sections) {
    out += std::string(marker) + " " + s->first + "\n";
    out += s->second.to_text();
  }
  return out;
}

}  // namespace ctxmodel
