// program_gen.cpp: tapes of decisions for ctxmodel::generate, and how they shrink
// (program_gen.hpp).
//
// Why not rc::gen::exec with one `*inRange(0, bound)` per decision: exec shrinks one pick at a
// time and regenerates every later pick by its position, so when a structural decision shrinks
// (one statement fewer, one declaration fewer) every later decision is read at another point of
// the program and means something else; the shrunk program rarely still fails, and shrinking
// stalled at 3 to 12 statements on failures whose smallest program has 1 or 2. Reductions of
// the program itself, turned back into decisions by ctxmodel::encode, remove exactly one thing
// and keep the rest as it was.
#include "program_gen.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "ctxmodel/parse.hpp"
#include "reduce.hpp"

namespace ctxprop {

std::size_t tape_choices::pick(std::size_t bound) {
  const std::size_t next = answered_.size();
  const std::size_t v = bound > 1 && next < picks_.size() ? picks_[next] % bound : 0;
  answered_.push_back(v);
  return v;
}

std::size_t random_choices::pick(std::size_t bound) {
  const std::size_t v = bound > 1 ? static_cast<std::size_t>(random_.next() % bound) : 0;
  answered_.push_back(v);
  return v;
}

ctxmodel::generate_limits limits_for_size(int size) {
  const int s = std::clamp(size, 0, rc::kNominalSize);
  const ctxmodel::generate_limits most;
  auto scale = [s](int lowest, int highest) {
    return lowest + ((highest - lowest) * s + rc::kNominalSize / 2) / rc::kNominalSize;
  };
  ctxmodel::generate_limits l = most;
  l.max_statements = scale(std::min(2, most.max_statements), most.max_statements);
  l.max_depth = scale(std::min(1, most.max_depth), most.max_depth);
  l.max_classes = scale(0, most.max_classes);
  l.max_cms = scale(0, most.max_cms);
  l.max_functions = scale(0, most.max_functions);
  return l;
}

namespace detail {

namespace {

// A tape as it was read: the base program it makes, how many picks that took, and the picks
// the whole case took.
struct reading {
  ctxmodel::program base;
  std::size_t base_picks = 0;
  tape canonical;  // only the picks the case used, as answered
};

reading read(const tape& t, const std::function<void(ctxmodel::choices&, int)>& replay) {
  reading r;
  {
    tape_choices c(t.picks);
    r.base = ctxmodel::generate(c, limits_for_size(t.size));
    r.base_picks = c.answered().size();
  }
  tape_choices c(t.picks);
  replay(c, t.size);
  r.canonical = tape{c.answered(), t.size};
  return r;
}

// Smaller is better: statements first, then the sum of the decisions.
std::pair<int, std::size_t> measure(const reading& r) {
  return {statement_count(r.base),
          std::accumulate(r.canonical.picks.begin(), r.canonical.picks.end(), std::size_t{0})};
}

// The picks the base program takes from `picks`, as answered.
std::vector<std::size_t> base_decisions(const std::vector<std::size_t>& picks, int size) {
  tape_choices c(picks);
  ctxmodel::generate(c, limits_for_size(size));
  return c.answered();
}

// The decisions that make `target` (the closest program the generator builds to it).
std::vector<std::size_t> decisions_of(const ctxmodel::program& target, int size) {
  const ctxmodel::generate_limits limits = limits_for_size(size);
  const std::vector<std::uint8_t> bytes = ctxmodel::encode(target, limits);
  ctxmodel::byte_choices from_bytes(bytes.data(), bytes.size());
  // Record what byte_choices answers, so the tape replays it through tape_choices.
  struct recording final : ctxmodel::choices {
    ctxmodel::choices& inner;
    std::vector<std::size_t> answered;
    explicit recording(ctxmodel::choices& i) : inner(i) {}
    std::size_t pick(std::size_t bound) override {
      answered.push_back(bound > 1 ? inner.pick(bound) : 0);
      return answered.back();
    }
  } rec(from_bytes);
  ctxmodel::generate(rec, limits);
  return rec.answered;
}

}  // namespace

rc::Seq<tape> simpler(const tape& t, const std::function<void(ctxmodel::choices&, int)>& replay) {
  const reading current = read(t, replay);
  const auto current_measure = measure(current);
  const std::vector<std::size_t>& picks = current.canonical.picks;
  const std::size_t base_picks = std::min(current.base_picks, picks.size());
  const std::vector<std::size_t> rest(picks.begin() + static_cast<std::ptrdiff_t>(base_picks),
                                      picks.end());
  // 1. The base program reduced, re-encoded, followed by the same further picks.
  auto structural = std::make_shared<std::vector<ctxmodel::program>>(reductions(current.base));
  // 2. Runs of the further picks (a law's list item with its picks) cut out.
  constexpr std::size_t longest_cut = 8;
  std::vector<std::pair<std::size_t, std::size_t>> cuts;
  for (std::size_t i = base_picks; i < picks.size(); ++i)
    for (std::size_t n = 1; n <= longest_cut && i + n <= picks.size(); ++n) cuts.emplace_back(i, n);
  // 3. Each pick set to 0.
  const std::size_t n_structural = structural->size(), n_cuts = cuts.size();
  const int size = t.size;
  auto build = [=](std::size_t i) -> std::optional<tape> {
    tape next{{}, size};
    if (i < n_structural) {
      next.picks = decisions_of((*structural)[i], size);
      next.picks.insert(next.picks.end(), rest.begin(), rest.end());
    } else if (i < n_structural + n_cuts) {
      const auto [from, n] = cuts[i - n_structural];
      next.picks = picks;
      next.picks.erase(next.picks.begin() + static_cast<std::ptrdiff_t>(from),
                       next.picks.begin() + static_cast<std::ptrdiff_t>(from + n));
    } else {
      const std::size_t k = i - n_structural - n_cuts;
      if (picks[k] == 0) return std::nullopt;
      next.picks = picks;
      next.picks[k] = 0;
      if (k < base_picks) {
        // The base program may now take fewer or more picks: the further picks follow it.
        next.picks.resize(base_picks);
        next.picks = base_decisions(next.picks, size);
        next.picks.insert(next.picks.end(), rest.begin(), rest.end());
      }
    }
    const reading r = read(next, replay);
    if (!(measure(r) < current_measure)) return std::nullopt;
    return r.canonical;
  };
  auto candidate = [build](std::size_t i) -> std::optional<tape> {
    try {
      return build(i);
    } catch (const std::exception&) {
      // A candidate that cannot be built (a generator or law bug, which the property reports
      // when it happens on a generated case) is not a shrink.
      return std::nullopt;
    }
  };
  return rc::seq::mapMaybe(rc::seq::range<std::size_t>(0, n_structural + n_cuts + picks.size()),
                           [candidate](std::size_t i) -> rc::Maybe<tape> {
                             std::optional<tape> c = candidate(i);
                             if (!c) return rc::Nothing;
                             return std::move(*c);
                           });
}

}  // namespace detail

rc::Gen<ctxmodel::program> programs() {
  return generated<ctxmodel::program>([](ctxmodel::program base, ctxmodel::choices&,
                                         const ctxmodel::generate_limits&) { return base; });
}

}  // namespace ctxprop

namespace ctxmodel {
void showValue(const program& p, std::ostream& os) {
  os << '\n' << print(p);
}
}  // namespace ctxmodel
