// test_util.hpp: helpers shared by the model tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "ctxmodel/parse.hpp"

namespace ctxmodel::test {

inline std::string joined(const diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += d.to_string() + "\n";
  return s;
}

// Loads `text`, failing the current test (with every diagnostic) if it does not load.
inline program must_load(std::string_view text) {
  load_result r = load(text, "t.ctx");
  EXPECT_TRUE(r.errors.empty()) << joined(r.errors) << "in:\n" << text;
  EXPECT_TRUE(r.program.has_value());
  return r.program ? *r.program : program{};
}

// The diagnostics of a program that must not load.
inline diagnostics must_fail(std::string_view text) {
  load_result r = load(text, "t.ctx");
  EXPECT_FALSE(r.program.has_value()) << "loaded but should not:\n" << text;
  EXPECT_FALSE(r.errors.empty());
  return r.errors;
}

}  // namespace ctxmodel::test
