// ctxmodel/diagnostics.hpp: errors about program text, always as `file:line:col: error: what`.
#pragma once

#include <string>
#include <vector>

namespace ctxmodel {

struct diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;  // what was expected / what is wrong, without the location prefix

  // `file:line:col: error: message`, the form compilers use, so editors can jump to it.
  std::string to_string() const;
};

using diagnostics = std::vector<diagnostic>;

}  // namespace ctxmodel
