// reduce.cpp: one-step structural reductions (reduce.hpp).
#include "reduce.hpp"

#include <functional>
#include <utility>

#include "walk.hpp"

namespace ctxprop {

namespace {

using ctxmodel::block;
using ctxmodel::program;
using ctxmodel::stmt;

// The blocks directly inside a statement.
std::vector<block*> inner_blocks(stmt& s) {
  std::vector<block*> out;
  for_each_inner_block(s, [&](block& b) { out.push_back(&b); });
  return out;
}

stmt pass() {
  return stmt{ctxmodel::pass_stmt{}, {}};
}

// The expression lists in a statement that can lose an item, with how many items they must
// keep: `mark` values (one), suppress() classes (none), tuple items (one).
void for_each_list(ctxmodel::expr& e,
                   const std::function<void(std::vector<ctxmodel::expr>&, std::size_t)>& f) {
  std::visit(
      [&](auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::call_expr>) {
          if (n.callee == "suppress") f(n.args, 0);
          for (auto& a : n.args) for_each_list(a, f);
        }
        if constexpr (std::is_same_v<N, ctxmodel::tuple_expr>) {
          f(n.items, 1);
          for (auto& a : n.items) for_each_list(a, f);
        }
        if constexpr (std::is_same_v<N, ctxmodel::method_call>)
          for (auto& a : n.args) for_each_list(a, f);
      },
      e.node);
}
void for_each_list(stmt& s,
                   const std::function<void(std::vector<ctxmodel::expr>&, std::size_t)>& f) {
  std::visit(
      [&](auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::mark_stmt>) {
          f(n.values, 1);
          for (auto& v : n.values) for_each_list(v, f);
        }
        if constexpr (std::is_same_v<N, ctxmodel::assign_stmt> ||
                      std::is_same_v<N, ctxmodel::set_attribute_stmt> ||
                      std::is_same_v<N, ctxmodel::expr_stmt>)
          for_each_list(n.value, f);
        if constexpr (std::is_same_v<N, ctxmodel::with_stmt>)
          for (auto& i : n.items) for_each_list(i.manager, f);
        if constexpr (std::is_same_v<N, ctxmodel::return_stmt> ||
                      std::is_same_v<N, ctxmodel::yield_stmt>)
          if (n.value) for_each_list(*n.value, f);
      },
      s.node);
}

// Edits of statement `j` of a block: each returns false when it does not apply.
using edit = std::function<bool(block&, std::size_t)>;

std::vector<edit> statement_edits(const stmt& s) {
  std::vector<edit> edits;
  // Remove it (a block keeps one statement: a lone statement becomes `pass`).
  edits.push_back([](block& b, std::size_t j) {
    if (b.size() > 1) {
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(j));
      return true;
    }
    if (std::holds_alternative<ctxmodel::pass_stmt>(b[j].node)) return false;
    b[j] = pass();
    return true;
  });
  // Replace a compound statement by one of its blocks.
  stmt copy = s;
  const std::size_t inner = inner_blocks(copy).size();
  for (std::size_t k = 0; k < inner; ++k) {
    edits.push_back([k](block& b, std::size_t j) {
      block hoisted = *inner_blocks(b[j])[k];
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(j));
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(j), hoisted.begin(), hoisted.end());
      return true;
    });
  }
  // Drop one item of an expression list.
  std::size_t list = 0;
  for_each_list(copy, [&](std::vector<ctxmodel::expr>& items, std::size_t keep) {
    for (std::size_t k = 0; items.size() > keep && k < items.size(); ++k)
      edits.push_back([list, k](block& b, std::size_t j) {
        std::size_t at = 0;
        for_each_list(b[j], [&](std::vector<ctxmodel::expr>& found, std::size_t) {
          if (at++ == list) found.erase(found.begin() + static_cast<std::ptrdiff_t>(k));
        });
        return true;
      });
    ++list;
  });
  std::visit(
      [&](const auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, ctxmodel::with_stmt>) {
          for (std::size_t k = 0; n.items.size() > 1 && k < n.items.size(); ++k)
            edits.push_back([k](block& b, std::size_t j) {
              auto& items = std::get<ctxmodel::with_stmt>(b[j].node).items;
              items.erase(items.begin() + static_cast<std::ptrdiff_t>(k));
              return true;
            });
        }
        if constexpr (std::is_same_v<N, ctxmodel::try_stmt>) {
          const bool spare = n.handlers.size() > 1 || n.final_block;
          for (std::size_t k = 0; spare && k < n.handlers.size(); ++k)
            edits.push_back([k](block& b, std::size_t j) {
              auto& handlers = std::get<ctxmodel::try_stmt>(b[j].node).handlers;
              handlers.erase(handlers.begin() + static_cast<std::ptrdiff_t>(k));
              return true;
            });
          if (n.final_block && !n.handlers.empty())
            edits.push_back([](block& b, std::size_t j) {
              std::get<ctxmodel::try_stmt>(b[j].node).final_block.reset();
              return true;
            });
        }
        if constexpr (std::is_same_v<N, ctxmodel::if_stmt>) {
          if (n.else_block)
            edits.push_back([](block& b, std::size_t j) {
              std::get<ctxmodel::if_stmt>(b[j].node).else_block.reset();
              return true;
            });
        }
      },
      s.node);
  return edits;
}

template <class T>
void erase_at(std::vector<T>& v, std::size_t i) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace

std::vector<program> reductions(const program& p) {
  std::vector<program> out;
  auto with = [&](const std::function<void(program&)>& change) {
    program copy = p;
    change(copy);
    out.push_back(std::move(copy));
  };
  for (std::size_t i = 0; i < p.functions.size(); ++i) {
    with([i](program& q) { erase_at(q.functions, i); });
    if (p.functions[i].decorator) with([i](program& q) { q.functions[i].decorator.reset(); });
    for (std::size_t k = 0; !p.functions[i].exit_signature && k < p.functions[i].params.size(); ++k)
      with([i, k](program& q) { erase_at(q.functions[i].params, k); });
  }
  for (std::size_t i = 0; i < p.cms.size(); ++i) {
    with([i](program& q) { erase_at(q.cms, i); });
    for (std::size_t k = 0; k < p.cms[i].params.size(); ++k)
      with([i, k](program& q) { erase_at(q.cms[i].params, k); });
    const auto& c = p.cms[i];
    if (c.enter) with([i](program& q) { q.cms[i].enter.reset(); });
    if (c.exit) with([i](program& q) { q.cms[i].exit.reset(); });
    if (c.close) with([i](program& q) { q.cms[i].close.reset(); });
  }
  for (std::size_t i = 0; i < p.classes.size(); ++i)
    with([i](program& q) { erase_at(q.classes, i); });

  program scratch = p;
  const std::vector<block*> all = blocks(scratch);
  for (std::size_t bi = 0; bi < all.size(); ++bi) {
    for (std::size_t j = 0; j < all[bi]->size(); ++j) {
      for (const edit& e : statement_edits((*all[bi])[j])) {
        program copy = p;
        if (e(*blocks(copy)[bi], j)) out.push_back(std::move(copy));
      }
    }
  }
  return out;
}

int statement_count(const program& p) {
  program copy = p;
  int n = static_cast<int>(p.classes.size() + p.cms.size() + p.functions.size());
  for (block* b : blocks(copy)) n += static_cast<int>(b->size());
  return n;
}

}  // namespace ctxprop
