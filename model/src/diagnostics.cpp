#include "ctxmodel/diagnostics.hpp"

namespace ctxmodel {

std::string diagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
}

}  // namespace ctxmodel
