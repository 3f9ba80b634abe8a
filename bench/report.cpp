// The ratio reporter and the markdown tables (see report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <utility>

namespace ctxbench {
namespace {

std::vector<comparison>& comparisons() {
  static std::vector<comparison> all;
  return all;
}
std::vector<counter_check>& counter_checks() {
  static std::vector<counter_check> all;
  return all;
}
std::vector<std::string>& registration_order() {
  static std::vector<std::string> all;
  return all;
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string format_time(double seconds) {
  const double ns = seconds * 1e9;
  if (ns < 1e3) return format("%.1f ns", ns);
  if (ns < 1e6) return format("%.2f µs", ns / 1e3);
  return format("%.2f ms", ns / 1e6);
}

std::string format_number(double value) {
  if (value == 0) return "0";
  if (std::fabs(value) >= 1000) return format("%.0f", value);
  if (std::fabs(value) >= 10) return format("%.1f", value);
  return format("%.2f", value);
}

std::string format_target(bound kind, double target, const char* suffix) {
  switch (kind) {
    case bound::at_most:
      return "≤ " + format_number(target) + suffix;
    case bound::at_least:
      return "≥ " + format_number(target) + suffix;
    case bound::none:
      break;
  }
  return "";
}

std::string verdict(bound kind, double target, double value) {
  switch (kind) {
    case bound::at_most:
      return value <= target ? "met" : "**missed**";
    case bound::at_least:
      return value >= target ? "met" : "**missed**";
    case bound::none:
      break;
  }
  return "";
}

// CPU time, not wall time: the machine is shared, and time spent descheduled is no one's cost.
double seconds_of(const benchmark::BenchmarkReporter::Run& run) {
  return run.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
}

}  // namespace

void add(comparison c) {
  comparisons().push_back(std::move(c));
}
void add(counter_check c) {
  counter_checks().push_back(std::move(c));
}
void remember_registration(const std::string& name) {
  registration_order().push_back(name);
}

std::optional<ratio_reporter::figure> ratio_reporter::find(const std::string& name) const {
  auto it = results_.find(name);
  if (it == results_.end() || !it->second.error.empty()) return std::nullopt;
  const history& h = it->second;
  if (h.library_median) return h.library_median;
  if (h.repetitions.empty()) return std::nullopt;
  std::vector<figure> sorted = h.repetitions;
  std::sort(sorted.begin(), sorted.end(),
            [](const figure& a, const figure& b) { return a.seconds < b.seconds; });
  return sorted[sorted.size() / 2];
}

void ratio_reporter::annotate(Run& run) const {
  const std::string name = run.run_name.function_name;
  for (const comparison& c : comparisons()) {
    if (c.numerator != name && c.denominator != name) continue;
    const std::optional<figure> numerator = find(c.numerator);
    const std::optional<figure> denominator = find(c.denominator);
    if (!numerator || !denominator || denominator->seconds == 0) continue;
    // The row shows its own time against the other benchmark's figure.
    const double own = seconds_of(run);
    const double value =
        c.numerator == name ? own / denominator->seconds : numerator->seconds / own;
    run.counters[c.counter] = benchmark::Counter(value);
  }
}

void ratio_reporter::ReportRuns(const std::vector<Run>& runs) {
  // Record first, so a benchmark's rows can be compared with its own figure's partners.
  for (const Run& run : runs) {
    const std::string name = run.run_name.function_name;
    history& h = results_[name];
    if (run.error_occurred) {
      h.error = run.error_message;
      continue;
    }
    figure f;
    f.seconds = seconds_of(run);
    for (const auto& [counter, value] : run.counters) f.counters[counter] = value.value;
    if (run.run_type == Run::RT_Aggregate) {
      if (run.aggregate_name == "median") h.library_median = std::move(f);
    } else {
      h.repetitions.push_back(std::move(f));
    }
  }
  std::vector<Run> annotated = runs;
  for (Run& run : annotated) {
    if (run.error_occurred) continue;
    if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
    annotate(run);
  }
  ConsoleReporter::ReportRuns(annotated);
}

std::vector<std::string> ratio_reporter::failed() const {
  std::vector<std::string> names;
  for (const std::string& name : registration_order()) {
    auto it = results_.find(name);
    if (it != results_.end() && !it->second.error.empty()) names.push_back(name);
  }
  return names;
}

std::string ratio_reporter::markdown() const {
  std::ostringstream out;
  out << "| section | comparison | numerator | denominator | value | target | |\n"
      << "|---|---|---:|---:|---:|---|---|\n";
  for (const comparison& c : comparisons()) {
    const std::optional<figure> numerator = find(c.numerator);
    const std::optional<figure> denominator = find(c.denominator);
    if (!numerator || !denominator) continue;  // filtered out, or failed
    const double value = numerator->seconds / denominator->seconds;
    out << "| " << c.section << " | " << c.what << " | " << format_time(numerator->seconds) << " | "
        << format_time(denominator->seconds) << " | " << format("%.3g×", value) << " | "
        << format_target(c.kind, c.target, "×") << " | " << verdict(c.kind, c.target, value)
        << " |\n";
  }

  std::ostringstream checks;
  for (const counter_check& c : counter_checks()) {
    const std::optional<figure> f = find(c.benchmark);
    if (!f) continue;
    auto it = f->counters.find(c.counter);
    if (it == f->counters.end()) continue;
    checks << "| " << c.what << " | `" << c.benchmark << "` | " << format_number(it->second)
           << " | " << format_target(c.kind, c.target, "") << " | "
           << verdict(c.kind, c.target, it->second) << " |\n";
  }
  if (!checks.str().empty()) {
    out << "\n| check | benchmark | value | target | |\n|---|---|---:|---|---|\n" << checks.str();
  }

  out << "\n| benchmark | time | allocs/iter | other counters |\n|---|---:|---:|---|\n";
  for (const std::string& name : registration_order()) {
    auto it = results_.find(name);
    if (it == results_.end()) continue;  // filtered out
    const history& h = it->second;
    if (!h.error.empty()) {
      std::string error = h.error;  // one table row: a traceback's lines joined
      std::replace(error.begin(), error.end(), '\n', ' ');
      std::replace(error.begin(), error.end(), '|', '/');
      out << "| `" << name << "` | error: " << error << " | | |\n";
      continue;
    }
    const std::optional<figure> f = find(name);
    if (!f) continue;
    std::string allocs;
    std::string others;
    for (const auto& [counter, value] : f->counters) {
      if (counter == "allocs") {
        allocs = format_number(value);
      } else {
        others += (others.empty() ? "" : ", ") + counter + " = " + format_number(value);
      }
    }
    out << "| `" << name << "` | " << format_time(f->seconds) << " | " << allocs << " | " << others
        << " |\n";
  }
  return out.str();
}

}  // namespace ctxbench
