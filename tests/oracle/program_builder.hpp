// program_builder.hpp: terse constructors for ctxmodel programs, so tests can build the tree a
// checked program has (call kinds resolved) without going through the parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctxmodel/program.hpp"

namespace build {

using ctxmodel::block;
using ctxmodel::call_kind;
using ctxmodel::expr;
using ctxmodel::stack_method;
using ctxmodel::stmt;
using exprs = std::vector<expr>;

inline expr e(ctxmodel::expr_node node) {
  return expr{std::move(node), {}};
}
inline expr none() {
  return e(ctxmodel::none_literal{});
}
inline expr boolean(bool value) {
  return e(ctxmodel::bool_literal{value});
}
inline expr num(std::int64_t value) {
  return e(ctxmodel::int_literal{value});
}
inline expr str(std::string value) {
  return e(ctxmodel::string_literal{std::move(value)});
}
inline expr name(std::string n) {
  return e(ctxmodel::name_ref{std::move(n)});
}
inline expr call(call_kind kind, std::string callee, exprs args = {}) {
  return e(ctxmodel::call_expr{std::move(callee), std::move(args), kind});
}
inline expr new_exception(std::string cls, exprs args = {}) {
  return call(call_kind::new_exception, std::move(cls), std::move(args));
}
inline expr new_cm(std::string cm, exprs args = {}) {
  return call(call_kind::new_cm, std::move(cm), std::move(args));
}
inline expr exit_stack() {
  return call(call_kind::new_exit_stack, "ExitStack");
}
inline expr suppress(exprs classes) {
  return call(call_kind::new_suppress, "suppress", std::move(classes));
}
inline expr nullcontext(exprs args = {}) {
  return call(call_kind::new_nullcontext, "nullcontext", std::move(args));
}
inline expr closing(expr thing) {
  return call(call_kind::new_closing, "closing", {thing});
}
inline expr tuple(exprs items) {
  return e(ctxmodel::tuple_expr{std::move(items)});
}
inline expr method(std::string object, stack_method m, exprs args = {}) {
  return e(ctxmodel::method_call{std::move(object), m, std::move(args)});
}

inline stmt s(ctxmodel::stmt_node node) {
  return stmt{std::move(node), {}};
}
inline stmt pass() {
  return s(ctxmodel::pass_stmt{});
}
inline stmt mark(exprs values) {
  return s(ctxmodel::mark_stmt{std::move(values)});
}
inline stmt assign(std::string target, expr value) {
  return s(ctxmodel::assign_stmt{std::move(target), std::move(value)});
}
inline stmt set_attribute(std::string target, ctxmodel::exception_attribute a, expr value) {
  return s(ctxmodel::set_attribute_stmt{std::move(target), a, std::move(value)});
}
inline stmt reraise() {
  return s(ctxmodel::raise_stmt{});
}
inline stmt raise(expr exception) {
  return s(ctxmodel::raise_stmt{std::move(exception), {}});
}
inline stmt raise_from(expr exception, expr cause) {
  return s(ctxmodel::raise_stmt{std::move(exception), std::move(cause)});
}
inline stmt ret() {
  return s(ctxmodel::return_stmt{});
}
inline stmt ret(expr value) {
  return s(ctxmodel::return_stmt{std::move(value)});
}
inline stmt run(expr call_or_method) {
  return s(ctxmodel::expr_stmt{std::move(call_or_method)});
}
inline stmt call_function(std::string f, exprs args = {}) {
  return run(call(call_kind::call_function, std::move(f), std::move(args)));
}
inline stmt stack_call(std::string stack, stack_method m, exprs args = {}) {
  return run(method(std::move(stack), m, std::move(args)));
}
inline ctxmodel::with_item item(expr manager, std::optional<std::string> as = {}) {
  return ctxmodel::with_item{std::move(manager), std::move(as)};
}
inline stmt with(std::vector<ctxmodel::with_item> items, block body) {
  return s(ctxmodel::with_stmt{std::move(items), std::move(body)});
}
inline ctxmodel::except_clause handler(std::vector<std::string> classes,
                                       std::optional<std::string> as, block body,
                                       bool tuple = false) {
  return ctxmodel::except_clause{std::move(classes), tuple, std::move(as), std::move(body), {}};
}
inline stmt try_(block body, std::vector<ctxmodel::except_clause> handlers,
                 std::optional<block> final_block = {}) {
  return s(ctxmodel::try_stmt{std::move(body), std::move(handlers), std::move(final_block)});
}

inline std::vector<ctxmodel::param> params(std::vector<std::string> names) {
  std::vector<ctxmodel::param> result;
  for (auto& n : names) result.push_back({std::move(n), ctxmodel::param_type::value});
  return result;
}

inline ctxmodel::class_decl exception_class(std::string name, std::string base) {
  return ctxmodel::class_decl{std::move(name), std::move(base), {}};
}

// Designated-initializer friendly: every member has an initializer (no -Wextra noise).
struct cm_parts {
  std::optional<block> enter = std::nullopt;
  std::string exit_param = {};  // with `exit`
  std::optional<block> exit = std::nullopt;
  std::optional<block> close = std::nullopt;
};
inline ctxmodel::cm_decl cm(std::string name, std::vector<std::string> names, cm_parts parts) {
  return ctxmodel::cm_decl{std::move(name),
                           params(std::move(names)),
                           std::move(parts.enter),
                           std::move(parts.exit_param),
                           std::move(parts.exit),
                           std::move(parts.close),
                           {}};
}

inline ctxmodel::function_decl function(std::string name, std::vector<std::string> names,
                                        block body) {
  return ctxmodel::function_decl{
      std::move(name), params(std::move(names)), false, std::move(body), {}, false, {}};
}
// `def NAME(*EXC):`
inline ctxmodel::function_decl exit_function(std::string name, std::string exc, block body) {
  return ctxmodel::function_decl{
      std::move(name), params({std::move(exc)}), true, std::move(body), {}, false, {}};
}
// `@contextmanager def NAME(PARAMS):`
inline ctxmodel::function_decl generator_function(std::string name, std::vector<std::string> names,
                                                  block body) {
  return ctxmodel::function_decl{
      std::move(name), params(std::move(names)), false, std::move(body), {}, true, {}};
}
// `@DECORATOR def NAME(PARAMS):`; the decorator is a new_cm or new_generator call.
inline ctxmodel::function_decl decorated_function(expr decorator, std::string name,
                                                  std::vector<std::string> names, block body) {
  return ctxmodel::function_decl{
      std::move(name), params(std::move(names)), false, std::move(body), {},
      false,           std::move(decorator)};
}
inline expr new_generator(std::string function, exprs args = {}) {
  return call(call_kind::new_generator, std::move(function), std::move(args));
}
inline stmt yield_(std::optional<expr> value = std::nullopt) {
  return s(ctxmodel::yield_stmt{std::move(value)});
}
inline stmt if_(std::string name, block then_block, std::optional<block> else_block = {},
                bool negated = false) {
  return s(ctxmodel::if_stmt{
      std::move(name), negated, std::move(then_block), std::move(else_block), {}});
}

}  // namespace build
