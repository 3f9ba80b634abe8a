// glue.hpp: RapidCheck properties as GoogleTest tests, with a number of cases per property.
//
// RapidCheck's own RC_GTEST_PROP (rapidcheck/gtest.h, shipped by Debian's librapidcheck-dev)
// takes its parameters from RC_PARAMS only, the same for every property. These properties cost
// very different amounts per case (the differential one runs CPython), so CTXPROP gives each its
// own default count and a long mode for campaigns:
//
//   CTXPROP(Differential, CtxlibAgreesWithCPython, 15000, ()) {
//     const ctxmodel::program p = *ctxprop::programs();
//     ...
//   }
//
//   ctest -L property                              # the default counts (a bounded run)
//   CTXLIB_PROPERTY_LONG=1 ./property_tests        # 10 x the default, at least 10,000
//   CTXLIB_PROPERTY_LONG=50000 ./property_tests    # any other count
//   RC_PARAMS="max_success=500 seed=7" ...         # RapidCheck's own parameters win
//   RC_PARAMS="reproduce=..." ...                  # replay a failure (printed with it)
//
// A failing property prints RapidCheck's counterexample and the RC_PARAMS reproduce string in
// the test's failure message, so both appear in ctest's output.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "ctxmodel/program.hpp"

namespace ctxprop {

// Cases for a property whose default count is `default_count`: that count (a quarter of it in an
// AddressSanitizer build), or the long mode's (CTXLIB_PROPERTY_LONG=1: ten times the default
// and at least 10,000; =N: N).
int case_count(int default_count);
bool long_mode();

// Runs `property` under RapidCheck with case_count(default_count) cases (unless RC_PARAMS sets
// max_success), reports the outcome to GoogleTest and prints how many cases ran and how long
// they took.
void check(const rc::detail::Property& property, int default_count);

// Where counterexamples are written: $CTXLIB_PROPERTY_FINDINGS, else ./property-findings.
std::filesystem::path findings_directory();

// Writes `p` as <findings>/<Suite>.<Name><suffix>.ctx (the running test's names), headed by a
// comment saying where it came from, and returns the absolute path. Called on every failing
// case, so the file always holds the last one: once RapidCheck has shrunk, the smallest.
std::filesystem::path save_counterexample(const ctxmodel::program& p, std::string_view suffix = {});

// The line that tells how to put a saved counterexample in the corpus.
std::string save_hint(const std::filesystem::path& file);

}  // namespace ctxprop

#define CTXPROP(Suite, Name, default_count, ArgList)                                               \
  void ctxprop_property_##Suite##_##Name ArgList;                                                  \
  TEST(Suite, Name) {                                                                              \
    ::ctxprop::check(::rc::detail::toProperty(&ctxprop_property_##Suite##_##Name), default_count); \
  }                                                                                                \
  void ctxprop_property_##Suite##_##Name ArgList
