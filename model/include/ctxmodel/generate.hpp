// ctxmodel/generate.hpp: random programs of the program model, for the fuzzer and the
// properties. One generator, two sources of decisions: libFuzzer's bytes (fuzz/) and
// RapidCheck's picks (tests/property/). Every program it returns passes ctxmodel::check and
// is bounded (no recursion, no loops, sizes capped by `generate_limits`).
//
//   ctxmodel::byte_choices source(data, size);              // pick(n): next byte(s) mod n
//   ctxmodel::program p = ctxmodel::generate(source);        // valid, checked, bounded
//   ctxmodel::trace ours = ctxrunner::run(p);
//
//   std::vector<std::uint8_t> seed = ctxmodel::encode(corpus_program);  // bytes for libFuzzer
//   ctxmodel::byte_choices again(seed.data(), seed.size());
//   ctxmodel::generate(again);  // corpus_program, renamed (or the closest program it can build)
//
// Shrinking: every decision is a number in [0, bound) and 0 is always the smallest, simplest
// choice (stop adding statements, `pass`, the first name...). A source that returns 0 for
// everything yields the smallest program (`pass`); sources that shrink their picks towards 0
// (RapidCheck) or run out of bytes (libFuzzer) therefore shrink programs while keeping them valid.
//
// What it never builds (docs/differences.md, docs/language.md "Semantics"): an exception
// chain with a `__context__` cycle (CPython's ExitStack loops forever on one: `__context__` is
// only ever set to None or a new exception object), a generator that can yield a third time (so
// none ignores GeneratorExit and is left for the collector), and an unclosed stack that Python
// could drop before the program ends (stacks are made by `with`, entered into other stacks, or
// bound once at top level).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ctxmodel/program.hpp"

namespace ctxmodel {

// Where the generator's decisions come from.
class choices {
 public:
  virtual ~choices() = default;
  // A number in [0, bound) (bound >= 1); 0 is the smallest choice. Sources that have nothing
  // left return 0.
  virtual std::size_t pick(std::size_t bound) = 0;
};

// libFuzzer's bytes as decisions: a bound of 1 reads nothing, a bound up to 256 one byte, a
// larger one two bytes (little-endian), each taken modulo the bound; past the end, 0.
class byte_choices final : public choices {
 public:
  byte_choices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t pick(std::size_t bound) override;
  std::size_t consumed() const { return next_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t next_ = 0;
};

// Size caps: the generator never exceeds them, whatever the source says.
struct generate_limits {
  int max_statements = 24;       // statements in the whole program, declarations' bodies included
  int max_depth = 4;             // nesting of blocks (with / try / if / handler bodies)
  int max_classes = 3;           // user exception classes
  int max_cms = 3;               // cm / acm declarations
  int max_functions = 3;         // def / async def / @contextmanager / @asynccontextmanager
  bool allow_async = true;       // async constructs (acm, async def, async with, await, stacks)
  bool allow_generators = true;  // @contextmanager functions
  bool allow_async_generators = true;  // @asynccontextmanager functions (needs allow_async)
};

// A checked program built from `source`'s decisions (ctxmodel::check has resolved it). Throws
// std::logic_error, with the program's text and the checker's errors, if the program does not
// check: that is a bug of the generator, never of the source.
program generate(choices& source, const generate_limits& limits = {});

// Statements in the program, declarations' bodies and nested blocks included (what
// generate_limits::max_statements caps).
int count_statements(const program& p);

// The decisions, as bytes for byte_choices, that make generate() build `target`: exactly when
// `target` is a program generate() builds with these limits (so encode(generate(b)) rebuilds
// the same program for every b), otherwise the closest program it can build, decision by
// decision — declarations and variables take the generator's names, a construct the generator
// cannot make at that point becomes its simplest choice, sizes are cut to `limits`. `target`
// need not be checked. Trailing zero bytes are dropped (past the end every decision is 0).
std::vector<std::uint8_t> encode(const program& target, const generate_limits& limits = {});

}  // namespace ctxmodel
