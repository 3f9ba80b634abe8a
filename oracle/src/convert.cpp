// convert.cpp: ctxmodel::program -> the tuples of oracle/python/ctxwalker.py. The codes below
// must match the ones at the top of ctxwalker.py.
#include "convert.hpp"

#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>

namespace ctxoracle::detail {
namespace {

enum statement_code : long {
  s_pass,
  s_mark,
  s_assign,
  s_set_attr,
  s_raise,
  s_return,
  s_expr,
  s_with,
  s_try,
  s_if,
  s_yield,
  s_await
};
enum expression_code : long {
  e_const,
  e_name,
  e_new_exception,
  e_new_cm,
  e_new_exit_stack,
  e_new_suppress,
  e_new_nullcontext,
  e_new_closing,
  e_call,
  e_tuple,
  e_method,
  e_new_generator,
  e_sleep,
  e_new_async_exit_stack,
  e_new_aclosing,
  e_new_neutral_exit_stack
};

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

py_ref none() {
  return py_ref::borrow(Py_None);
}
py_ref boolean(bool value) {
  return py_ref::borrow(value ? Py_True : Py_False);
}
py_ref integer(long long value) {
  return checked(PyLong_FromLongLong(value));
}
py_ref text(const std::string& value) {
  return checked(PyUnicode_FromStringAndSize(value.data(), static_cast<Py_ssize_t>(value.size())));
}
// An identifier, interned and kept across runs: programs repeat their names, and dict and
// attribute lookups are fastest with the one interned object (identity, cached hash). The cache
// is bounded, so random names (a fuzzer's) cannot grow it without limit.
py_ref identifier(const std::string& name) {
  static auto* const cache = new std::unordered_map<std::string, PyObject*>();  // never freed
  if (auto found = cache->find(name); found != cache->end()) return py_ref::borrow(found->second);
  if (cache->size() >= 65536) {
    for (auto& entry : *cache) Py_DECREF(entry.second);
    cache->clear();
  }
  PyObject* object = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
  if (object == nullptr) throw python_error{};
  PyUnicode_InternInPlace(&object);
  cache->emplace(name, object);
  return py_ref::borrow(object);
}

py_ref optional_identifier(const std::optional<std::string>& name) {
  return name ? identifier(*name) : none();
}

// The program's tuples hold only str, int, bool, None and tuples: they can never be part of a
// cycle, so they are untracked at once and the collector never walks them during a run.
py_ref untracked(py_ref tuple) {
  PyObject_GC_UnTrack(tuple.get());
  return tuple;
}

template <class... Items>
py_ref tuple_of(Items&&... items) {
  py_ref result = checked(PyTuple_New(sizeof...(items)));
  Py_ssize_t i = 0;
  ((PyTuple_SET_ITEM(result.get(), i, items.release()), ++i), ...);
  return untracked(std::move(result));
}

// A tuple of convert(item) for each item. If a conversion throws, the unfilled slots are NULL,
// which tuple deallocation allows.
template <class Range, class Convert>
py_ref tuple_from(const Range& range, Convert convert) {
  if (range.empty()) return checked(PyTuple_New(0));  // the shared empty tuple
  py_ref result = checked(PyTuple_New(static_cast<Py_ssize_t>(range.size())));
  Py_ssize_t i = 0;
  for (const auto& item : range) {
    PyTuple_SET_ITEM(result.get(), i, convert(item).release());
    ++i;
  }
  return untracked(std::move(result));
}

py_ref names(const std::vector<std::string>& list) {
  return tuple_from(list, text);
}

py_ref expression(const ctxmodel::expr& e);

py_ref expressions(const std::vector<ctxmodel::expr>& list) {
  return tuple_from(list, expression);
}

py_ref call(const ctxmodel::call_expr& c) {
  using ctxmodel::call_kind;
  switch (c.kind) {
    case call_kind::new_exception:
      return tuple_of(integer(e_new_exception), identifier(c.callee), expressions(c.args));
    case call_kind::new_cm:
      return tuple_of(integer(e_new_cm), identifier(c.callee), expressions(c.args));
    case call_kind::call_function:
      return tuple_of(integer(e_call), identifier(c.callee), expressions(c.args));
    case call_kind::new_generator:
      return tuple_of(integer(e_new_generator), identifier(c.callee), expressions(c.args));
    case call_kind::new_exit_stack:
      return tuple_of(integer(e_new_exit_stack));
    case call_kind::new_async_exit_stack:
      return tuple_of(integer(e_new_async_exit_stack));
    case call_kind::new_aclosing:
      return tuple_of(integer(e_new_aclosing), expressions(c.args));
    case call_kind::new_neutral_exit_stack:
      return tuple_of(integer(e_new_neutral_exit_stack));
    case call_kind::new_suppress:
      return tuple_of(integer(e_new_suppress), expressions(c.args));
    case call_kind::new_nullcontext:
      return tuple_of(integer(e_new_nullcontext), expressions(c.args));
    case call_kind::new_closing:
      return tuple_of(integer(e_new_closing), expressions(c.args));
    case call_kind::sleep:
      return tuple_of(integer(e_sleep));
    case call_kind::unresolved:
      break;
  }
  throw conversion_error("call of '" + c.callee + "' is unresolved: the program was not checked");
}

py_ref expression(const ctxmodel::expr& e) {
  return std::visit(
      overloaded{
          [](const ctxmodel::none_literal&) { return tuple_of(integer(e_const), none()); },
          [](const ctxmodel::bool_literal& b) {
            return tuple_of(integer(e_const), boolean(b.value));
          },
          [](const ctxmodel::int_literal& i) {
            return tuple_of(integer(e_const), integer(i.value));
          },
          [](const ctxmodel::string_literal& s) {
            return tuple_of(integer(e_const), text(s.value));
          },
          [](const ctxmodel::name_ref& n) { return tuple_of(integer(e_name), identifier(n.name)); },
          [](const ctxmodel::call_expr& c) { return call(c); },
          [](const ctxmodel::tuple_expr& t) {
            return tuple_of(integer(e_tuple), expressions(t.items));
          },
          [](const ctxmodel::method_call& m) {
            // On a NeutralExitStack (CPython's AsyncExitStack for the oracle) an async entry
            // takes the async method, and entering a sync one is not awaited.
            ctxmodel::stack_method method = m.method;
            if (m.async_entry) {
              using ctxmodel::stack_method;
              if (method == stack_method::enter_context) method = stack_method::enter_async_context;
              if (method == stack_method::push) method = stack_method::push_async_exit;
              if (method == stack_method::callback) method = stack_method::push_async_callback;
            }
            return tuple_of(integer(e_method), identifier(m.object),
                            identifier(ctxmodel::method_name(method)), expressions(m.args),
                            boolean(ctxmodel::python_awaits(m)));
          },
      },
      e.node);
}

py_ref block(const ctxmodel::block& b);
py_ref optional_block(const std::optional<ctxmodel::block>& b);

const char* attribute_name(ctxmodel::exception_attribute a) {
  using ctxmodel::exception_attribute;
  switch (a) {
    case exception_attribute::context:
      return "__context__";
    case exception_attribute::cause:
      return "__cause__";
    case exception_attribute::suppress_context:
      return "__suppress_context__";
  }
  throw conversion_error("unknown exception attribute");
}

py_ref handler(const ctxmodel::except_clause& h) {
  // Bare `except:` has no classes (None): it catches everything, like BaseException.
  return tuple_of(h.classes.empty() ? none() : names(h.classes), boolean(h.tuple),
                  optional_identifier(h.as), block(h.body));
}

py_ref statement(const ctxmodel::stmt& s) {
  // WITH, TRY and IF end with whether they await: in async code the walker runs the others
  // through its synchronous executors, without a coroutine each.
  const auto awaits = [&s] { return boolean(ctxmodel::python_awaits(s)); };
  return std::visit(
      overloaded{
          [](const ctxmodel::pass_stmt&) { return tuple_of(integer(s_pass)); },
          [](const ctxmodel::mark_stmt& m) {
            return tuple_of(integer(s_mark), expressions(m.values));
          },
          [](const ctxmodel::assign_stmt& a) {
            return tuple_of(integer(s_assign), identifier(a.target), expression(a.value));
          },
          [](const ctxmodel::set_attribute_stmt& a) {
            return tuple_of(integer(s_set_attr), identifier(a.target),
                            identifier(attribute_name(a.attribute)), expression(a.value));
          },
          [](const ctxmodel::raise_stmt& r) {
            if (!r.exception) {
              if (r.cause) throw conversion_error("bare raise with a cause");
              return tuple_of(integer(s_raise));
            }
            if (!r.cause) return tuple_of(integer(s_raise), expression(*r.exception));
            return tuple_of(integer(s_raise), expression(*r.exception), expression(*r.cause));
          },
          [](const ctxmodel::return_stmt& r) {
            return tuple_of(integer(s_return), r.value ? expression(*r.value) : none());
          },
          [](const ctxmodel::expr_stmt& e) {
            return tuple_of(integer(s_expr), expression(e.value));
          },
          [&](const ctxmodel::with_stmt& w) {
            if (w.items.empty()) throw conversion_error("with statement without items");
            py_ref items = tuple_from(w.items, [](const ctxmodel::with_item& item) {
              return tuple_of(expression(item.manager), optional_identifier(item.as));
            });
            return tuple_of(integer(s_with), std::move(items), block(w.body), boolean(w.is_async),
                            awaits());
          },
          [&](const ctxmodel::try_stmt& t) {
            if (t.handlers.empty() && !t.final_block) {
              throw conversion_error("try statement without except or finally");
            }
            return tuple_of(integer(s_try), block(t.body), tuple_from(t.handlers, handler),
                            t.final_block ? block(*t.final_block) : none(), awaits());
          },
          [](const ctxmodel::yield_stmt& y) {
            return tuple_of(integer(s_yield), y.value ? expression(*y.value) : none());
          },
          [](const ctxmodel::await_stmt& a) {
            return tuple_of(integer(s_await), expression(a.call));
          },
          [&](const ctxmodel::if_stmt& i) {
            return tuple_of(integer(s_if), identifier(i.name), boolean(i.negated),
                            block(i.then_block), optional_block(i.else_block), awaits());
          },
      },
      s.node);
}

py_ref block(const ctxmodel::block& b) {
  return tuple_from(b, statement);
}

py_ref optional_block(const std::optional<ctxmodel::block>& b) {
  return b ? block(*b) : none();
}

py_ref parameter_names(const std::vector<ctxmodel::param>& params) {
  return tuple_from(params, [](const ctxmodel::param& p) { return identifier(p.name); });
}

}  // namespace

py_ref to_python(const ctxmodel::program& p) {
  py_ref classes = tuple_from(p.classes, [](const ctxmodel::class_decl& c) {
    return tuple_of(identifier(c.name), identifier(c.base));
  });
  py_ref cms = tuple_from(p.cms, [](const ctxmodel::cm_decl& c) {
    return tuple_of(identifier(c.name), parameter_names(c.params), optional_block(c.enter),
                    identifier(c.exit_param), optional_block(c.exit), optional_block(c.close),
                    boolean(c.is_async));
  });
  py_ref functions = tuple_from(p.functions, [](const ctxmodel::function_decl& f) {
    if (f.exit_signature && f.params.size() != 1) {
      throw conversion_error("exit function '" + f.name + "' must have exactly one parameter");
    }
    return tuple_of(identifier(f.name), parameter_names(f.params), boolean(f.exit_signature),
                    block(f.body), boolean(f.generator),
                    f.decorator ? expression(*f.decorator) : none(), boolean(f.is_async));
  });
  return tuple_of(std::move(classes), std::move(cms), std::move(functions), block(p.main),
                  boolean(ctxmodel::python_awaits(p.main)));
}

}  // namespace ctxoracle::detail
