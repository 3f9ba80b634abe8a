// walk.hpp: visiting the blocks of a program (const or not), outermost first, for the laws and
// the reductions.
//
//   ctxprop::for_each_block(p.main, [](ctxmodel::block& b) { ... });   // main and nested blocks
//   for (ctxmodel::block* b : ctxprop::blocks(p)) ...                  // every block of p
#pragma once

#include <type_traits>
#include <variant>
#include <vector>

#include "ctxmodel/program.hpp"

namespace ctxprop {

// Calls f on each block directly inside statement `s` (a with body, a try's body, handlers and
// finally, an if's branches).
template <class Stmt, class F>
void for_each_inner_block(Stmt& s, F&& f) {
  std::visit(
      [&](auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::with_stmt>) f(n.body);
        if constexpr (std::is_same_v<N, ctxmodel::try_stmt>) {
          f(n.body);
          for (auto& h : n.handlers) f(h.body);
          if (n.final_block) f(*n.final_block);
        }
        if constexpr (std::is_same_v<N, ctxmodel::if_stmt>) {
          f(n.then_block);
          if (n.else_block) f(*n.else_block);
        }
      },
      s.node);
}

// Calls f on `b` and on every block nested in it, outermost first.
template <class Block, class F>
void for_each_block(Block& b, F&& f) {
  f(b);
  for (auto& s : b) for_each_inner_block(s, [&](auto& inner) { for_each_block(inner, f); });
}

// Every block of the program: the top level's (outermost first), then the cms' members', then
// the functions'.
inline std::vector<ctxmodel::block*> blocks(ctxmodel::program& p) {
  std::vector<ctxmodel::block*> out;
  auto add = [&](ctxmodel::block& b) { out.push_back(&b); };
  for_each_block(p.main, add);
  for (auto& c : p.cms)
    for (auto* m : {&c.enter, &c.exit, &c.close})
      if (*m) for_each_block(**m, add);
  for (auto& f : p.functions) for_each_block(f.body, add);
  return out;
}

}  // namespace ctxprop
