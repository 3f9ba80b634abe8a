// glue.cpp: RapidCheck under GoogleTest with per-property case counts (glue.hpp).
#include "glue.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include "ctxmodel/parse.hpp"

namespace ctxprop {

namespace {

// The long mode's count: ten times the default, and at least 10,000.
constexpr int long_mode_least = 10000;
constexpr int long_mode_factor = 10;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

const ::testing::TestInfo& current_test() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) throw std::logic_error("ctxprop: no GoogleTest test is running");
  return *info;
}

}  // namespace

bool long_mode() {
  const char* v = env("CTXLIB_PROPERTY_LONG");
  return v && std::string_view(v) != "0";
}

// Sanitized builds run about five times slower, and look for memory errors rather than for
// rare programs: their default run does a tenth of the cases.
#if defined(__SANITIZE_ADDRESS__)
constexpr int sanitized_divisor = 10;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int sanitized_divisor = 10;
#else
constexpr int sanitized_divisor = 1;
#endif
#else
constexpr int sanitized_divisor = 1;
#endif

int case_count(int default_count) {
  if (!long_mode()) return std::max(1, default_count / sanitized_divisor);
  const int n = std::atoi(env("CTXLIB_PROPERTY_LONG"));
  return n > 1 ? n : std::max(long_mode_least, long_mode_factor * default_count);
}

void check(const rc::detail::Property& property, int default_count) {
  const ::testing::TestInfo& info = current_test();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info.test_suite_name()) + "/" + info.name();
  metadata.description = info.name();

  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* rc_params = env("RC_PARAMS");
  if (!rc_params || std::string_view(rc_params).find("max_success") == std::string_view::npos)
    params.maxSuccess = case_count(default_count);

  const auto start = std::chrono::steady_clock::now();
  const rc::detail::TestResult result = rc::detail::checkProperty(property, metadata, params);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  if (result.is<rc::detail::SuccessResult>()) {
    const auto* success = &result.get<rc::detail::SuccessResult>();
    char line[160];
    std::snprintf(line, sizeof line, "%s: %d cases passed in %.1f s (%.1f ms per case)\n",
                  metadata.id.c_str(), success->numSuccess, seconds,
                  success->numSuccess ? 1000.0 * seconds / success->numSuccess : 0.0);
    std::cout << line;
    if (!success->distribution.empty()) std::cout << message.str() << '\n';
    return;
  }
  if (result.is<rc::detail::FailureResult>()) {
    const auto* failure = &result.get<rc::detail::FailureResult>();
    rc::detail::Configuration reproduce = rc::detail::configuration();
    reproduce.reproduce = {{metadata.id, failure->reproduce}};
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    message << "\n\nReproduce (RapidCheck): RC_PARAMS=\""
            << rc::detail::configToMinimalString(reproduce) << "\" "
            << (ec ? std::string("property_tests") : self.string())
            << " --gtest_filter=" << info.test_suite_name() << '.' << info.name() << '\n';
  }
  ADD_FAILURE() << message.str();
}

std::filesystem::path findings_directory() {
  const char* configured = env("CTXLIB_PROPERTY_FINDINGS");
  return std::filesystem::absolute(configured ? std::filesystem::path(configured)
                                              : std::filesystem::path("property-findings"));
}

std::filesystem::path save_counterexample(const ctxmodel::program& p, std::string_view suffix) {
  const ::testing::TestInfo& info = current_test();
  const std::filesystem::path dir = findings_directory();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path file = dir / (std::string(info.test_suite_name()) + "." +
                                            info.name() + std::string(suffix) + ".ctx");
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << "# property: " << info.test_suite_name() << '.' << info.name()
      << " (a counterexample found and shrunk by RapidCheck)\n"
      << ctxmodel::print(p);
  return file;
}

std::string save_hint(const std::filesystem::path& file) {
  return "saved to " + file.string() +
         "\nto keep it in the corpus: scripts/save-counterexample.sh " + file.string() + " NAME";
}

}  // namespace ctxprop
