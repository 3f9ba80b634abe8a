// program_gen.hpp: RapidCheck generators over the one program generator, ctxmodel::generate.
// A case (a program, or a law's two programs) is built from a tape of decisions: the generator
// asks `pick(bound)`, the tape answers. RapidCheck draws the tape at random; shrinking rewrites
// it, so every shrunk case is again a case the generator builds, valid and checked.
//
//   CTXPROP(Example, Prints, 100, ()) {
//     const ctxmodel::program p = *ctxprop::programs();      // checked, bounded
//     RC_ASSERT(ctxmodel::load(ctxmodel::print(p), "x").program == p);
//   }
//
//   // A generated program plus more decisions of the same tape (the law properties):
//   rc::Gen<my_case> g = ctxprop::generated<my_case>(
//       [](ctxmodel::program base, ctxmodel::choices& rest, const ctxmodel::generate_limits&) {
//         return my_case{std::move(base), rest.pick(3)};
//       });
//
// Shrinking (program_gen.cpp) tries, in order: structural reductions of the generated program
// (reduce.hpp: a declaration, a statement, a handler... removed, re-encoded into decisions with
// ctxmodel::encode); runs of up to 8 of the decisions after the program cut out (a law's list
// item and its decisions); each decision set to 0 (the generator's simplest choice at that
// point). A candidate is tried only if it is strictly smaller (fewer statements, or as many and
// a smaller sum of decisions), so shrinking always ends.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <ostream>
#include <utility>
#include <vector>

#include "ctxmodel/generate.hpp"
#include "ctxmodel/program.hpp"

namespace ctxprop {

// RapidCheck's size (0..100, growing over a run) as the generator's caps: size 0 allows a
// two-statement program without declarations, size 100 the generator's defaults.
ctxmodel::generate_limits limits_for_size(int size);

// The decisions of one case, in the order they were asked for, as they were answered.
struct tape {
  std::vector<std::size_t> picks;
  int size = 0;  // the size it was drawn at: it sets the limits
};

// Answers from a tape (past its end, 0: the simplest choice), recording what it answered.
class tape_choices final : public ctxmodel::choices {
 public:
  explicit tape_choices(const std::vector<std::size_t>& picks) : picks_(picks) {}
  std::size_t pick(std::size_t bound) override;
  const std::vector<std::size_t>& answered() const { return answered_; }

 private:
  const std::vector<std::size_t>& picks_;
  std::vector<std::size_t> answered_;
};

// Uniform answers from RapidCheck's random stream, recorded.
class random_choices final : public ctxmodel::choices {
 public:
  explicit random_choices(const rc::Random& random) : random_(random) {}
  std::size_t pick(std::size_t bound) override;
  const std::vector<std::size_t>& answered() const { return answered_; }

 private:
  rc::Random random_;
  std::vector<std::size_t> answered_;
};

// What a case is built from: the generated base program, the rest of the tape, the limits.
template <class T>
using case_builder = std::function<T(ctxmodel::program base, ctxmodel::choices& rest,
                                     const ctxmodel::generate_limits&)>;

namespace detail {

// The tapes to try instead of `t` (see the header comment); `replay` rebuilds the case from a
// tape's picks through the choices it is given.
rc::Seq<tape> simpler(const tape& t,
                      const std::function<void(ctxmodel::choices&, int size)>& replay);

}  // namespace detail

// A generator of cases built by `build` from a program of ctxmodel::generate (under
// limits_for_size(size), size at least `min_size`) and further decisions of the same tape.
template <class T>
rc::Gen<T> generated(case_builder<T> build, int min_size = 0) {
  auto make = [build](ctxmodel::choices& source, int size) {
    const ctxmodel::generate_limits limits = limits_for_size(size);
    ctxmodel::program base = ctxmodel::generate(source, limits);
    return build(std::move(base), source, limits);
  };
  return rc::Gen<T>([make, min_size](const rc::Random& random, int rc_size) {
    const int size = std::max(rc_size, min_size);
    random_choices source(random);
    make(source, size);  // draws and records the tape
    const auto replay = [make](ctxmodel::choices& c, int s) { make(c, s); };
    rc::Shrinkable<tape> tapes =
        rc::shrinkable::shrinkRecur(tape{source.answered(), size},
                                    [replay](const tape& t) { return detail::simpler(t, replay); });
    return rc::shrinkable::map(std::move(tapes), [make](const tape& t) {
      tape_choices c(t.picks);
      return make(c, t.size);
    });
  });
}

// Checked programs of ctxmodel::generate.
rc::Gen<ctxmodel::program> programs();

}  // namespace ctxprop

namespace ctxmodel {
// How RapidCheck shows a program in a counterexample: its text in the program language.
void showValue(const program& p, std::ostream& os);
}  // namespace ctxmodel
