// ctxmodel/corpus.hpp: corpus files — a program followed by expected traces, one section per
// CPython version:
//
//   # ports: TestExitStack.test_exit_raise
//   with ExitStack() as stack:
//       ...
//   --- expect cpython 3.11.7
//   outcome raised #1 ZeroDivisionError('division by zero')
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "ctxmodel/trace.hpp"

namespace ctxmodel {

struct corpus_file {
  std::string program_text;               // everything before the first `--- expect` line
  std::map<std::string, trace> expected;  // "cpython 3.11.7" -> trace
};

corpus_file split_corpus_file(std::string_view text);

// program_text, then the expected sections in version order.
std::string join_corpus_file(const corpus_file& file);

}  // namespace ctxmodel
