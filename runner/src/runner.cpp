// The C++ side of the differential test: a tree-walking interpreter whose every contextlib
// construct is ctxlib's public API, used as a C++ programmer would — `ctxlib::with` with a
// lambda body, a class with enter()/exit() for each scripted manager, exit_stack::push with
// lambdas, `ctxlib::raise` for Python's raise, a `ctxlib::contextmanager` coroutine for each
// @contextmanager function, `ctxlib::decorate` for decorated functions. Program-level
// exceptions are real C++ exceptions, and `except` handlers run inside C++ catch blocks, so "the
// exception being handled" is std::current_exception() exactly where Python's sys.exc_info()
// would be (generator bodies: see resumable.hpp).
#include "ctxrunner/runner.hpp"

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ctxlib/ctxlib.hpp"
#include "ctxmodel/builtins.hpp"
#include "resumable.hpp"

namespace ctxrunner {
namespace {

using namespace ctxmodel;

// The ctxlib exception class a program's exception derives from: ctxlib decides some rules by
// C++ type (PEP 479 by stop_iteration, close by generator_exit, G14 by runtime_error).
enum class cpp_base : std::uint8_t {
  base_exception,
  exception,
  generator_exit,
  runtime_error,
  type_error,
  attribute_error,
  stop_iteration,
  stop_async_iteration,
  cancelled_error,
};

// A Python exception class: built-in or declared by the program.
struct py_class {
  std::string name;
  const py_class* base = nullptr;
  cpp_base cpp = cpp_base::base_exception;  // its nearest built-in ancestor ctxlib has
};

bool is_subclass(const py_class* cls, const py_class* of) {
  for (; cls != nullptr; cls = cls->base) {
    if (cls == of) return true;
  }
  return false;
}

class interpreter;
class scripted_cm;
class scripted_acm;
struct value;

// What an exception raised by program code carries besides ctxlib's chain: its Python class
// (data, because the program declares its classes at run time) and its argument.
class script_info {
 public:
  using argument = std::variant<std::monostate, std::int64_t, std::string>;

  script_info(const py_class* cls, argument arg) : class_(cls), arg_(std::move(arg)) {}
  script_info(const script_info&) = default;
  script_info& operator=(const script_info&) = delete;
  virtual ~script_info() = default;

  const py_class* python_class() const noexcept { return class_; }
  const argument& arg() const noexcept { return arg_; }

  static std::string message_of(const argument& arg) {
    if (auto* i = std::get_if<std::int64_t>(&arg)) return std::to_string(*i);
    if (auto* s = std::get_if<std::string>(&arg)) return *s;
    return {};
  }

 private:
  const py_class* class_;
  argument arg_;
};

// A program's exception as a C++ exception derived from the ctxlib class `Base`.
template <class Base>
class script_exception final : public Base, public script_info {
 public:
  script_exception(const py_class* cls, argument arg)
      : Base(message_of(arg)), script_info(cls, std::move(arg)) {}

  std::string_view python_type_name() const noexcept override { return python_class()->name; }
};

// Python's tuple of classes handed to suppress(): a ctxlib exception matcher.
struct class_set {
  const interpreter* owner;
  std::vector<const py_class*> classes;
  bool matches(const std::exception_ptr& exception) const;
};

using suppress_cm = ctxlib::suppress_matching<class_set>;
using nullcontext_cm = ctxlib::nullcontext<value>;
using closing_cm = ctxlib::closing<scripted_cm&>;
using aclosing_cm = ctxlib::aclosing<scripted_acm&>;
struct generator_cm;
struct agenerator_cm;

struct none_value {};

struct value {
  std::variant<none_value, bool, std::int64_t, std::string, const py_class*, std::exception_ptr,
               scripted_cm*, ctxlib::exit_stack*, suppress_cm*, nullcontext_cm*, closing_cm*,
               generator_cm*, const function_decl*, scripted_acm*, ctxlib::async_exit_stack*,
               aclosing_cm*, ctxlib::neutral_exit_stack*, agenerator_cm*>
      v;
};

// What calling a @contextmanager function makes: the coroutine, and whose it is (for rendering).
// The coroutine is reset only when the run ends (see interpreter::run).
struct generator_cm {
  generator_cm(const function_decl& f, ctxlib::contextmanager<value> c)
      : fn(&f), cm(std::move(c)) {}
  const function_decl* fn;
  std::optional<ctxlib::contextmanager<value>> cm;
};

// What calling an @asynccontextmanager function makes (as generator_cm).
struct agenerator_cm {
  agenerator_cm(const function_decl& f, ctxlib::asynccontextmanager<value> c)
      : fn(&f), cm(std::move(c)) {}
  const function_decl* fn;
  std::optional<ctxlib::asynccontextmanager<value>> cm;
};

bool truthy(const value& x) {
  return std::visit(
      [](const auto& a) -> bool {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, none_value>)
          return false;
        else if constexpr (std::is_same_v<T, bool>)
          return a;
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return a != 0;
        else if constexpr (std::is_same_v<T, std::string>)
          return !a.empty();
        else
          return true;
      },
      x.v);
}

// Variables visible at a point: a stack of bindings; a block remembers the depth it started
// at and drops what it bound when it ends. Rebinding a visible name updates it, as Python does.
class scope {
 public:
  value* find(const std::string& name) {
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }
  void bind(const std::string& name, value v) {
    if (value* existing = find(name))
      *existing = std::move(v);
    else
      bindings_.emplace_back(name, std::move(v));
  }
  void declare(const std::string& name, value v) { bindings_.emplace_back(name, std::move(v)); }
  std::size_t depth() const { return bindings_.size(); }
  void truncate(std::size_t depth) { bindings_.resize(depth); }

 private:
  std::vector<std::pair<std::string, value>> bindings_;
};

struct frame {
  scope vars;
  scripted_cm* self = nullptr;
  scripted_acm* async_self = nullptr;  // in acm members
  std::optional<value> returned;
  // In async code, the exception of the innermost interpreted handler whose body awaits: that
  // body runs after its C++ catch block has ended, so a bare `raise` there re-raises this.
  std::exception_ptr handling;
  // In an @asynccontextmanager body: where its `yield`s hand values to the driver.
  detail::async_generator_state<value>* generator = nullptr;
};

enum class flow { normal, returned };

// A declared `cm`: a plain C++ class with enter()/exit()/close(), as a user would write one.
class scripted_cm {
 public:
  scripted_cm(interpreter& in, const cm_decl& decl, std::vector<value> args)
      : in_(in), decl_(decl), args_(std::move(args)) {}

  value enter();
  bool exit(const std::exception_ptr& exception);
  void close();

  const cm_decl& decl() const { return decl_; }
  const std::vector<value>& args() const { return args_; }

 private:
  interpreter& in_;
  const cm_decl& decl_;
  std::vector<value> args_;
};

// A declared `acm`: a C++ class with aenter()/aexit()/aclose() returning ctxlib tasks, as a
// user writes an async context manager for ctxlib::async_with.
class scripted_acm {
 public:
  scripted_acm(interpreter& in, const cm_decl& decl, std::vector<value> args)
      : in_(in), decl_(decl), args_(std::move(args)) {}

  ctxlib::task<value> aenter();
  ctxlib::task<bool> aexit(std::exception_ptr exception);
  ctxlib::task<value> aclose();

  const cm_decl& decl() const { return decl_; }
  const std::vector<value>& args() const { return args_; }

 private:
  interpreter& in_;
  const cm_decl& decl_;
  std::vector<value> args_;
};

using generator_state = detail::generator_state<value>;
using async_generator_state = detail::async_generator_state<value>;
using manager_ptr = std::variant<scripted_cm*, ctxlib::exit_stack*, suppress_cm*, nullcontext_cm*,
                                 closing_cm*, generator_cm*>;

class interpreter {
 public:
  explicit interpreter(const program& p) : program_(p) {
    for (const auto& b : builtin_exception_classes()) {
      add_class(std::string(b.name), b.base.empty() ? nullptr : classes_.at(std::string(b.base)));
    }
    for (const auto& c : p.classes) add_class(c.name, classes_.at(c.base));
    for (const auto& c : p.cms) {
      cms_.emplace(c.name, &c);
      if (c.is_async) {
        for (const auto* b : {&c.enter, &c.exit, &c.close})
          if (*b) find_awaits(**b);
      }
    }
    for (const auto& f : p.functions) {
      functions_.emplace(f.name, &f);
      if (f.generator && !f.is_async) find_yields(f.body);
      if (f.is_async) find_awaits(f.body);  // an async generator's yields count as awaits
    }
    async_main_ = find_awaits(p.main);
    main_is_coroutine_ = ctxmodel::python_awaits(p.main);
  }

  trace run() {
    frame top;
    try {
      decorate_functions();
      if (async_main_) {
        // Top-level code that awaits: the main block is a task, run to completion here.
        try {
          static_cast<void>(ctxlib::sync_wait(aexec_block(program_.main, top)));
        } catch (const ctxlib::stop_iteration&) {
          // Python's top level is one coroutine when it awaits (not when its only await is a
          // NeutralExitStack entering a sync manager: CPython's is then a plain call).
          if (!main_is_coroutine_) throw;
          raise_coroutine_stop_iteration();
        }
      } else {
        exec_block(program_.main, top);
      }
      record("outcome ok");
    } catch (...) {
      record("outcome raised " + render(value{std::current_exception()}));
    }
    // Whatever the program left in unclosed stacks is released unrecorded: Python never runs
    // those entries, while ctxlib's exit_stack destructor would (docs/differences.md). Closing
    // them here, by index, lets an entry that creates objects do so safely. Generators still
    // suspended are then closed (as Python's collector would, unrecorded too), one at a time,
    // each followed by the stacks again: what their finally blocks push must not outlive what
    // it refers to. A closed generator stays in place, so what still refers to it stays valid.
    recording_ = false;
    std::size_t closed = 0;
    for (bool again = true; again;) {
      again = false;
      for (std::size_t i = 0; i < stacks_.size(); ++i) {
        if (stacks_[i].empty()) continue;
        again = true;
        try {
          stacks_[i].close();
        } catch (...) {  // NOLINT(bugprone-empty-catch): nothing observes it, as in Python
        }
      }
      if (closed < generators_.size()) {
        again = true;
        generators_[closed++].cm.reset();  // closes it if suspended (errors discarded)
      }
    }
    for (agenerator_cm& g : agenerators_) g.cm.reset();
    cut_chains();
    return std::move(trace_);
  }

  // exception_ptr is reference counted: a chain made cyclic (by hand, or by Python's rules, as
  // CPython's garbage collector would see it) would never be freed. So every exception the run
  // met (created, caught by a handler, given to an exit, rendered) and every one their chains
  // reach has its chain cut at the end: ctxlib makes some itself (PEP 479's RuntimeError, say).
  void cut_chains() {
    std::vector<std::exception_ptr> todo = std::move(met_);
    todo.insert(todo.end(), alive_.begin(), alive_.end());
    std::set<const void*> done;
    while (!todo.empty()) {
      std::exception_ptr e = std::move(todo.back());
      todo.pop_back();
      auto* b = ctxlib::exception_cast<ctxlib::base_exception>(e);
      if (b == nullptr || !done.insert(b).second) continue;
      if (b->context()) todo.push_back(b->context());
      if (b->cause()) todo.push_back(b->cause());
      b->set_context(nullptr);
      b->set_cause(nullptr);
    }
  }

  // Remembers an exception the run met, for cut_chains().
  const std::exception_ptr& met(const std::exception_ptr& e) {
    if (e) met_.push_back(e);
    return e;
  }

  const py_class* class_of(const std::exception_ptr& e) const {
    if (auto* b = ctxlib::exception_cast<ctxlib::base_exception>(e)) {
      if (auto* s = dynamic_cast<const script_info*>(b)) return s->python_class();
      // One ctxlib raised itself: its class by name.
      auto it = classes_.find(std::string(b->python_type_name()));
      if (it != classes_.end()) return it->second;
    }
    return nullptr;
  }

  // -------------------------------------------------------------------------------------
  // Calls into scripts (cm methods and functions).

  // PEP 479 for coroutines, a language rule the interpreter applies where a Python coroutine
  // ends (an async def, an acm method, the async program) rather than at each ctxlib task, as
  // one coroutine's statements run as many tasks: StopIteration escaping becomes RuntimeError
  // caused by it. Called in the handler of the StopIteration.
  [[noreturn]] void raise_coroutine_stop_iteration() {
    ctxlib::raise_from(
        met(std::make_exception_ptr(ctxlib::runtime_error("coroutine raised StopIteration"))),
        met(std::current_exception()));
  }

  // What a call gives: the value of the `return` that ended its body, else None. The flow
  // decides, not `returned`: a return that an exception cancelled (a with's exit or a finally
  // raised, and a handler took the exception) leaves a value behind, and the body then runs on
  // to its end, where Python returns None.
  static value result_of(flow ended, frame& f) {
    return ended == flow::returned ? std::move(*f.returned) : value{none_value{}};
  }

  // An acm member: its block is interpreted by the async executors below.
  ctxlib::task<value> acall_method(scripted_acm& self, const std::optional<block>& body,
                                   const char* event, const std::string* param,
                                   std::optional<value> argument) {
    std::string line = std::string(event) + " " + render_instance(self);
    if (argument) line += " " + render(*argument);
    record(line);
    frame f;
    f.async_self = &self;
    bind_params(f, self.decl().params, self.args());
    if (param != nullptr && argument) f.vars.declare(*param, *argument);
    flow ended = flow::normal;
    try {
      if (body) ended = co_await aexec_block(*body, f);
    } catch (const ctxlib::stop_iteration&) {
      raise_coroutine_stop_iteration();
    }
    co_return result_of(ended, f);
  }

  template <class Decorated>
  static ctxlib::task<value> await_decorated(Decorated& decorated, std::vector<value> args) {
    auto running = decorated(std::move(args));
    std::optional<value> result = co_await std::move(running);
    co_return result.value_or(value{none_value{}});  // None when the acm suppressed (D1)
  }

  // An awaited call of an async def: through its decorator if it has one.
  ctxlib::task<value> ainvoke_function(const function_decl& fn, std::vector<value> args) {
    if (auto it = async_decorated_.find(&fn); it != async_decorated_.end())
      return it->second(std::move(args));
    return acall_function(fn, std::move(args));
  }

  // An async def: a task the caller awaits.
  ctxlib::task<value> acall_function(const function_decl& fn, std::vector<value> args) {
    record("call " + fn.name + "(" + render_list(args) + ")");
    frame f;
    if (fn.exit_signature) {
      f.vars.declare(fn.params.at(0).name, args.at(0));
    } else {
      bind_params(f, fn.params, args);
    }
    flow ended = flow::normal;
    try {
      ended = co_await aexec_block(fn.body, f);
    } catch (const ctxlib::stop_iteration&) {
      raise_coroutine_stop_iteration();
    }
    co_return result_of(ended, f);
  }

  value call_method(scripted_cm& self, const std::optional<block>& body, const char* event,
                    const std::string* param, const value* argument) {
    std::string line = std::string(event) + " " + render_instance(self);
    if (argument != nullptr) line += " " + render(*argument);
    record(line);
    frame f;
    f.self = &self;
    bind_params(f, self.decl().params, self.args());
    if (param != nullptr && argument != nullptr) f.vars.declare(*param, *argument);
    return result_of(body ? exec_block(*body, f) : flow::normal, f);
  }

  value call_function(const function_decl& fn, const std::vector<value>& args) {
    std::string line = "call " + fn.name + "(" + render_list(args) + ")";
    record(line);
    frame f;
    if (fn.exit_signature) {
      f.vars.declare(fn.params.at(0).name, args.at(0));
    } else {
      bind_params(f, fn.params, args);
    }
    return result_of(exec_block(fn.body, f), f);
  }

  // A call of a declared function: through its decorator if it has one.
  value invoke_function(const function_decl& fn, const std::vector<value>& args) {
    if (auto it = decorated_.find(&fn); it != decorated_.end()) return it->second(args);
    return call_function(fn, args);
  }

  // -------------------------------------------------------------------------------------
  // @contextmanager functions: the generator, as a ctxlib::contextmanager coroutine whose body
  // is interpreted by the resumable executors below (resumable.hpp tells how).

  ctxlib::contextmanager<value> generator(const function_decl& fn, std::vector<value> args) {
    record("call " + fn.name + "(" + render_list(args) + ")");  // the generator starts
    frame f;
    bind_params(f, fn.params, args);
    generator_state state;
    detail::task<flow> body = gexec_block(fn.body, f, state);
    for (std::coroutine_handle<> next = body.handle();;) {
      next.resume();  // returns at the next `yield`, or when the body is done
      if (body.done()) break;
      std::exception_ptr delivered;
      try {
        co_yield state.yielded;
      } catch (...) {  // resumed outside this handler, so the body does not run inside it
        delivered = std::current_exception();
      }
      state.delivered = std::move(delivered);
      next = state.suspended;
    }
    body.take();  // an exception leaves the generator as it is; `return` just finishes it
  }

  // @asynccontextmanager functions: the async generator, as a ctxlib::asynccontextmanager
  // coroutine whose body is interpreted by the async executors (resumable.hpp tells how).
  ctxlib::asynccontextmanager<value> agenerator(const function_decl& fn, std::vector<value> args) {
    record("call " + fn.name + "(" + render_list(args) + ")");  // the generator starts
    frame f;
    bind_params(f, fn.params, args);
    async_generator_state state;
    f.generator = &state;
    ctxlib::task<> body = run_async_generator_body(fn.body, f, state);
    auto first = std::move(body).operator co_await();
    co_await detail::run_async_body<value, decltype(first)>{state, &first};
    while (!state.finished) {
      std::exception_ptr delivered;
      try {
        co_yield state.yielded;
      } catch (...) {  // resumed outside this handler, so the body does not run inside it
        delivered = std::current_exception();
      }
      state.delivered = std::move(delivered);
      co_await detail::run_async_body<value, decltype(first)>{state, nullptr};
    }
    if (state.raised) std::rethrow_exception(state.raised);  // `return` just finishes it
  }

  ctxlib::task<> run_async_generator_body(const block& b, frame& f, async_generator_state& state) {
    try {
      ctxlib::task<flow> running = aexec_block(b, f);
      static_cast<void>(co_await std::move(running));
    } catch (...) {
      state.raised = std::current_exception();
    }
    state.finished = true;
  }

 private:
  void add_class(std::string name, const py_class* base) {
    static const std::map<std::string, cpp_base, std::less<>> bases = {
        {"BaseException", cpp_base::base_exception},
        {"Exception", cpp_base::exception},
        {"GeneratorExit", cpp_base::generator_exit},
        {"RuntimeError", cpp_base::runtime_error},
        {"TypeError", cpp_base::type_error},
        {"AttributeError", cpp_base::attribute_error},
        {"StopIteration", cpp_base::stop_iteration},
        {"StopAsyncIteration", cpp_base::stop_async_iteration},
        {"CancelledError", cpp_base::cancelled_error},
    };
    // Only built-in classes are in the table (declared names cannot take built-in ones).
    auto own_base = bases.find(name);
    const cpp_base cpp = own_base != bases.end() ? own_base->second
                         : base != nullptr       ? base->cpp
                                                 : cpp_base::base_exception;
    auto& owned = class_storage_.emplace_back(py_class{name, base, cpp});
    classes_.emplace(std::move(name), &owned);
  }

  // Python applies decorators where the functions are defined, before the program's
  // statements run, in order; each call then runs inside the decorator's cm
  // (ctxlib::decorate): a declared cm instance is re-entered on every call, a @contextmanager
  // decorator makes a new generator per call.
  void decorate_functions() {
    for (const function_decl& fn : program_.functions) {
      if (!fn.decorator) continue;
      const auto& d = std::get<call_expr>(fn.decorator->node);
      frame definition;  // a decorator sees no variables
      if (fn.is_async) {
        // AsyncContextDecorator (ctxlib::async_decorate): the acm made here is entered around
        // each awaited call; an @asynccontextmanager generator is made anew for each.
        auto call = [this, fn = &fn](const std::vector<value>& args) {
          return acall_function(*fn, args);
        };
        auto adopt = [&](auto&& decorated) {
          auto shared = std::make_shared<std::decay_t<decltype(decorated)>>(std::move(decorated));
          async_decorated_.emplace(&fn, [shared](std::vector<value> args) {
            return await_decorated(*shared, std::move(args));
          });
        };
        if (d.kind == call_kind::new_generator) {
          auto factory = [this, gen = functions_.at(d.callee),
                          args = eval_args(d.args, definition)] { return agenerator(*gen, args); };
          adopt(ctxlib::async_decorate(std::move(factory), std::move(call)));
        } else {
          scripted_acm& cm = *std::get<scripted_acm*>(eval(*fn.decorator, definition).v);
          adopt(ctxlib::async_decorate(cm, std::move(call)));
        }
        continue;
      }
      auto call = [this, fn = &fn](const std::vector<value>& args) {
        return call_function(*fn, args);
      };
      std::function<value(const std::vector<value>&)> wrapped;
      if (d.kind == call_kind::new_generator) {
        auto factory = [this, gen = functions_.at(d.callee), args = eval_args(d.args, definition)] {
          return generator(*gen, args);
        };
        wrapped = [decorated = ctxlib::decorate(std::move(factory), std::move(call))](
                      const std::vector<value>& args) mutable {
          return decorated(args).value_or(value{none_value{}});  // None when suppressed (D1)
        };
      } else {
        scripted_cm& cm = *std::get<scripted_cm*>(eval(*fn.decorator, definition).v);
        wrapped = [decorated = ctxlib::decorate(cm, std::move(call))](
                      const std::vector<value>& args) mutable {
          return decorated(args).value_or(value{none_value{}});
        };
      }
      decorated_.emplace(&fn, std::move(wrapped));
    }
  }

  // The statements of generator bodies that contain a `yield`: only these need the resumable
  // executors; every other statement runs on the ordinary ones.
  bool find_yields(const block& b) {
    bool any = false;
    for (const stmt& s : b) {
      bool here = std::holds_alternative<yield_stmt>(s.node);
      if (auto* w = std::get_if<with_stmt>(&s.node)) here = find_yields(w->body);
      if (auto* i = std::get_if<if_stmt>(&s.node)) {
        here = find_yields(i->then_block);
        if (i->else_block) here = find_yields(*i->else_block) || here;
      }
      if (auto* t = std::get_if<try_stmt>(&s.node)) {
        here = find_yields(t->body);
        for (const except_clause& h : t->handlers) here = find_yields(h.body) || here;
        if (t->final_block) here = find_yields(*t->final_block) || here;
      }
      if (here) yielding_.insert(&s);
      any = any || here;
    }
    return any;
  }

  // The statements of async bodies that contain an `await` or `async with`: only these need
  // the async executors; every other statement runs on the ordinary ones.
  bool find_awaits(const block& b) {
    bool any = false;
    for (const stmt& s : b) {
      bool here = std::holds_alternative<await_stmt>(s.node) ||
                  std::holds_alternative<yield_stmt>(s.node) || awaited_method(s) != nullptr;
      if (auto* w = std::get_if<with_stmt>(&s.node)) here = find_awaits(w->body) || w->is_async;
      if (auto* i = std::get_if<if_stmt>(&s.node)) {
        here = find_awaits(i->then_block);
        if (i->else_block) here = find_awaits(*i->else_block) || here;
      }
      if (auto* t = std::get_if<try_stmt>(&s.node)) {
        here = find_awaits(t->body);
        for (const except_clause& h : t->handlers) here = find_awaits(h.body) || here;
        if (t->final_block) here = find_awaits(*t->final_block) || here;
      }
      if (here) awaiting_.insert(&s);
      any = any || here;
    }
    return any;
  }

  // The awaited stack method of `await NAME.method(...)` or `v = await NAME.method(...)`.
  static const method_call* awaited_method(const stmt& s) {
    const expr* e = nullptr;
    if (auto* x = std::get_if<expr_stmt>(&s.node)) e = &x->value;
    if (auto* a = std::get_if<assign_stmt>(&s.node)) e = &a->value;
    auto* m = e != nullptr ? std::get_if<method_call>(&e->node) : nullptr;
    return m != nullptr && m->awaited ? m : nullptr;
  }

  bool awaits(const block& b) const {
    return std::any_of(b.begin(), b.end(), [&](const stmt& s) { return awaiting_.count(&s) != 0; });
  }

  // -------------------------------------------------------------------------------------
  // Async executors: ctxlib tasks awaiting each other, for the statements that await (their
  // sync twins are below). ctxlib carries "the exception being handled" along task await
  // chains (an async `with` sets it while aexit runs), so ctxlib::raise in code these tasks
  // run sees what CPython's sys.exc_info() would, with one gap a user's code must fill: a C++
  // coroutine cannot await inside a catch block, so an interpreted handler (or finally) whose
  // body awaits runs as the exit of an async `with` whose body re-raises the handled exception
  // (`handled_by_async`): ctxlib then marks the task chain as handling it.

  ctxlib::task<flow> aexec_block(const block& b, frame& f) {
    const std::size_t depth = f.vars.depth();
    for (const stmt& s : b) {
      flow result;
      if (awaiting_.count(&s) != 0)
        result = co_await aexec(s, f);
      else
        result = exec(s, f);
      if (result == flow::returned) {
        f.vars.truncate(depth);
        co_return flow::returned;
      }
    }
    f.vars.truncate(depth);
    co_return flow::normal;
  }

  ctxlib::task<flow> aexec(const stmt& s, frame& f) {
    if (auto* w = std::get_if<with_stmt>(&s.node)) {
      if (w->is_async) co_return co_await aexec_async_with(*w, 0, f);
      co_return co_await aexec_with(*w, 0, f);
    }
    if (auto* t = std::get_if<try_stmt>(&s.node)) co_return co_await aexec_try(*t, f);
    if (auto* i = std::get_if<if_stmt>(&s.node)) {
      if (truthy(eval_name(i->name, f)) != i->negated)
        co_return co_await aexec_block(i->then_block, f);
      if (i->else_block) co_return co_await aexec_block(*i->else_block, f);
      co_return flow::normal;
    }
    if (const method_call* m = awaited_method(s)) {
      ctxlib::task<value> call = aeval_method(*m, f);
      value result = co_await std::move(call);
      if (auto* a = std::get_if<assign_stmt>(&s.node)) f.vars.bind(a->target, std::move(result));
      co_return flow::normal;
    }
    if (auto* y = std::get_if<yield_stmt>(&s.node)) {  // in an @asynccontextmanager body
      f.generator->yielded = y->value ? eval(*y->value, f) : value{none_value{}};
      // Named, not a temporary: GCC 12 destroys co_await operand temporaries twice.
      detail::async_yield_point<value> yield_here{*f.generator, f.handling};
      co_await yield_here;
      co_return flow::normal;
    }
    const auto& a = std::get<await_stmt>(s.node);
    const auto& c = std::get<call_expr>(a.call.node);
    if (c.kind == call_kind::sleep) {
      co_await ctxlib::yield_now();
    } else {
      // Tasks are named before they are awaited throughout: GCC 12 destroys temporaries in
      // co_await operands twice (docs/differences.md).
      ctxlib::task<value> call = ainvoke_function(*functions_.at(c.callee), eval_args(c.args, f));
      static_cast<void>(co_await std::move(call));
    }
    co_return flow::normal;
  }

  // `async with a, b:` is `async with a: async with b:` (W3, W11), through ctxlib::async_with.
  ctxlib::task<flow> aexec_async_with(const with_stmt& w, std::size_t item, frame& f) {
    if (item == w.items.size()) co_return co_await aexec_block(w.body, f);
    const with_item& it = w.items[item];
    value manager = eval(it.manager, f);
    const std::size_t depth = f.vars.depth();
    auto body = [this, &w, &it, &f, item, depth](auto& entered) -> ctxlib::task<flow> {
      if (it.as) f.vars.bind(*it.as, as_value(entered));
      const flow result = co_await aexec_async_with(w, item + 1, f);
      f.vars.truncate(depth);
      co_return result;
    };
    auto enter = [&body](auto& cm) -> ctxlib::task<std::optional<flow>> {
      auto running = ctxlib::async_with(cm, std::move(body));
      co_return co_await std::move(running);
    };
    ctxlib::task<std::optional<flow>> running = with_async_manager(manager, enter);
    const std::optional<flow> result = co_await std::move(running);
    f.vars.truncate(depth);
    co_return result.value_or(flow::normal);
  }

  // Calls `use` with the C++ object of an async context manager value (async with,
  // enter_async_context, push_async_exit) and returns what it returns.
  template <class Use>
  std::invoke_result_t<Use&, scripted_acm&> with_async_manager(const value& v, Use&& use) {
    if (auto* a = std::get_if<scripted_acm*>(&v.v)) return use(**a);
    if (auto* s = std::get_if<ctxlib::async_exit_stack*>(&v.v)) return use(**s);
    if (auto* c = std::get_if<aclosing_cm*>(&v.v)) return use(**c);
    if (auto* n = std::get_if<ctxlib::neutral_exit_stack*>(&v.v)) return use(**n);
    if (auto* g = std::get_if<agenerator_cm*>(&v.v)) return use(live(**g));
    return use(*std::get<nullcontext_cm*>(v.v));
  }

  static value as_value(value& v) { return v; }
  static value as_value(value&& v) { return std::move(v); }
  static value as_value(ctxlib::async_exit_stack& s) { return value{&s}; }
  static value as_value(scripted_acm& a) { return value{&a}; }
  static value as_value(ctxlib::neutral_exit_stack& s) { return value{&s}; }
  static value as_value(ctxlib::exit_stack& s) { return value{&s}; }
  static value as_value(scripted_cm& c) { return value{&c}; }

  // A sync `with` whose body awaits: ctxlib::with cannot suspend inside its body, so this is
  // the protocol a C++ coroutine writes by hand (as gexec_with does for generators).
  ctxlib::task<flow> aexec_with(const with_stmt& w, std::size_t item, frame& f) {
    if (item == w.items.size()) co_return co_await aexec_block(w.body, f);
    const with_item& it = w.items[item];
    const manager_ptr manager = as_manager(eval(it.manager, f));
    value entered = enter_manager(manager);
    const std::size_t depth = f.vars.depth();
    if (it.as) f.vars.bind(*it.as, std::move(entered));
    std::exception_ptr raised;
    flow result = flow::normal;
    try {
      result = co_await aexec_with(w, item + 1, f);
    } catch (...) {
      raised = std::current_exception();
    }
    f.vars.truncate(depth);
    if (!raised) {
      exit_manager(manager, nullptr);
      co_return result;
    }
    if (!detail::under_handled(raised, [&] { return exit_manager(manager, raised); }))
      std::rethrow_exception(raised);
    co_return flow::normal;
  }

  // Runs `b` (which awaits) while `exception` is the exception being handled.
  ctxlib::task<flow> handled_by_async(std::exception_ptr exception, const block& b, frame& f) {
    struct handler_scope {
      interpreter& in;
      const block& body;
      frame& f;
      flow result = flow::normal;
      ctxlib::ready<bool> aenter() { return {true}; }
      ctxlib::task<bool> aexit(std::exception_ptr) {
        result = co_await in.aexec_block(body, f);
        co_return true;  // handled: whatever the block raises propagates instead
      }
    } scope{*this, b, f};
    struct restore {
      frame& f;
      std::exception_ptr saved;
      ~restore() { f.handling = std::move(saved); }
    } restoring{f, std::exchange(f.handling, exception)};
    auto running =
        ctxlib::async_with(scope, [exception](bool) { std::rethrow_exception(exception); });
    co_await std::move(running);
    co_return scope.result;
  }

  ctxlib::task<flow> aexec_try(const try_stmt& t, frame& f) {
    if (!t.final_block) co_return co_await aexec_try_except(t, f);
    std::exception_ptr raised;
    flow result = flow::normal;
    try {
      result = co_await aexec_try_except(t, f);
    } catch (...) {
      raised = std::current_exception();
    }
    if (raised) {
      // `finally` runs while the exception is being handled; a return there drops it.
      flow final_flow;
      if (awaits(*t.final_block)) {
        ctxlib::task<flow> running = handled_by_async(raised, *t.final_block, f);
        final_flow = co_await std::move(running);
      } else {
        final_flow = detail::under_handled(raised, [&] { return exec_block(*t.final_block, f); });
      }
      if (final_flow == flow::returned) co_return flow::returned;
      std::rethrow_exception(raised);
    }
    if (co_await aexec_block(*t.final_block, f) == flow::returned) co_return flow::returned;
    co_return result;
  }

  ctxlib::task<flow> aexec_try_except(const try_stmt& t, frame& f) {
    if (t.handlers.empty()) co_return co_await aexec_block(t.body, f);
    std::exception_ptr caught;
    try {
      co_return co_await aexec_block(t.body, f);
    } catch (...) {
      caught = met(std::current_exception());
    }
    const py_class* cls = class_of(caught);
    for (const except_clause& h : t.handlers) {
      if (!handler_matches(h, cls)) continue;
      const std::size_t depth = f.vars.depth();
      if (h.as) f.vars.declare(*h.as, value{caught});
      flow result;
      if (awaits(h.body)) {
        ctxlib::task<flow> running = handled_by_async(caught, h.body, f);
        result = co_await std::move(running);
      } else {  // inside a catch block of its exception, as the sync executor runs it
        result = detail::under_handled(caught, [&] { return exec_block(h.body, f); });
      }
      f.vars.truncate(depth);
      co_return result;
    }
    std::rethrow_exception(caught);  // no handler: the same exception goes on
  }

  // -------------------------------------------------------------------------------------
  // Resumable executors for statements that contain a `yield` (their C++ twins are below).
  // Anything else runs on the ordinary executors, inside the interpreted handler's exception
  // when there is one (under_handled).

  template <class Code>
  decltype(auto) handled_by(const generator_state& state, Code&& code) {
    return detail::under_handled(state.handled, std::forward<Code>(code));
  }

  detail::task<flow> gexec_block(const block& b, frame& f, generator_state& state) {
    const std::size_t depth = f.vars.depth();
    for (const stmt& s : b) {
      const flow result = yielding_.count(&s) != 0 ? co_await gexec(s, f, state)
                                                   : handled_by(state, [&] { return exec(s, f); });
      if (result == flow::returned) {
        f.vars.truncate(depth);
        co_return flow::returned;
      }
    }
    f.vars.truncate(depth);
    co_return flow::normal;
  }

  detail::task<flow> gexec(const stmt& s, frame& f, generator_state& state) {
    if (auto* w = std::get_if<with_stmt>(&s.node)) co_return co_await gexec_with(*w, 0, f, state);
    if (auto* t = std::get_if<try_stmt>(&s.node)) co_return co_await gexec_try(*t, f, state);
    if (auto* i = std::get_if<if_stmt>(&s.node)) {
      if (truthy(eval_name(i->name, f)) != i->negated)
        co_return co_await gexec_block(i->then_block, f, state);
      if (i->else_block) co_return co_await gexec_block(*i->else_block, f, state);
      co_return flow::normal;
    }
    const auto& y = std::get<yield_stmt>(s.node);
    state.yielded =
        y.value ? handled_by(state, [&] { return eval(*y.value, f); }) : value{none_value{}};
    co_await detail::yield_point<value>{state};
    co_return flow::normal;
  }

  // `with` around a `yield`: ctxlib::with cannot suspend inside its body, so this is the
  // protocol a C++ coroutine writes by hand — what ctxlib::with does (W1-W10): enter outside
  // the protected region, exit inside the handler of the body's exception, the same object
  // re-raised unless exit suppresses it.
  detail::task<flow> gexec_with(const with_stmt& w, std::size_t item, frame& f,
                                generator_state& state) {
    if (item == w.items.size()) co_return co_await gexec_block(w.body, f, state);
    const with_item& it = w.items[item];
    const manager_ptr manager = handled_by(state, [&] { return as_manager(eval(it.manager, f)); });
    value entered = handled_by(state, [&] { return enter_manager(manager); });
    const std::size_t depth = f.vars.depth();
    if (it.as) f.vars.bind(*it.as, std::move(entered));
    std::exception_ptr raised;
    flow result = flow::normal;
    try {
      result = co_await gexec_with(w, item + 1, f, state);
    } catch (...) {
      raised = std::current_exception();
    }
    f.vars.truncate(depth);
    if (!raised) {
      handled_by(state, [&] { exit_manager(manager, nullptr); });
      co_return result;
    }
    if (!detail::under_handled(raised, [&] { return exit_manager(manager, raised); }))
      std::rethrow_exception(raised);
    co_return flow::normal;
  }

  detail::task<flow> gexec_try(const try_stmt& t, frame& f, generator_state& state) {
    if (!t.final_block) co_return co_await gexec_try_except(t, f, state);
    std::exception_ptr raised;
    flow result = flow::normal;
    try {
      result = co_await gexec_try_except(t, f, state);
    } catch (...) {
      raised = std::current_exception();
    }
    if (raised) {
      // `finally` runs while the exception is being handled; a return there drops it.
      const detail::handling<value> in_finally(state, raised);
      if (co_await gexec_block(*t.final_block, f, state) == flow::returned)
        co_return flow::returned;
      std::rethrow_exception(raised);
    }
    if (co_await gexec_block(*t.final_block, f, state) == flow::returned) co_return flow::returned;
    co_return result;
  }

  detail::task<flow> gexec_try_except(const try_stmt& t, frame& f, generator_state& state) {
    if (t.handlers.empty()) co_return co_await gexec_block(t.body, f, state);
    std::exception_ptr caught;
    try {
      co_return co_await gexec_block(t.body, f, state);
    } catch (...) {
      caught = met(std::current_exception());
    }
    const py_class* cls = class_of(caught);
    for (const except_clause& h : t.handlers) {
      if (!handler_matches(h, cls)) continue;
      const detail::handling<value> in_handler(state, caught);
      const std::size_t depth = f.vars.depth();
      if (h.as) f.vars.declare(*h.as, value{caught});
      const flow result = co_await gexec_block(h.body, f, state);
      f.vars.truncate(depth);
      co_return result;
    }
    std::rethrow_exception(caught);  // no handler: the same exception goes on
  }

  // The context-manager protocol on any manager value, for gexec_with.
  value enter_manager(const manager_ptr& manager) {
    return std::visit(
        [&](auto* cm) -> value {
          using T = std::remove_pointer_t<decltype(cm)>;
          if constexpr (std::is_same_v<T, suppress_cm>) {
            cm->enter();
            return value{none_value{}};
          } else if constexpr (std::is_same_v<T, generator_cm>) {
            return live(*cm).enter();
          } else if constexpr (std::is_same_v<T, scripted_cm> ||
                               std::is_same_v<T, nullcontext_cm>) {
            return cm->enter();
          } else {
            return value{&cm->enter()};  // exit_stack, closing: a reference
          }
        },
        manager);
  }

  bool exit_manager(const manager_ptr& manager, const std::exception_ptr& exception) {
    return std::visit(
        [&](auto* cm) -> bool {
          if constexpr (std::is_same_v<std::remove_pointer_t<decltype(cm)>, generator_cm>) {
            // A generator closed when the run ended may still be named by another one being
            // closed then; nothing is recorded by that time.
            return cm->cm && static_cast<bool>(cm->cm->exit(exception));
          } else {
            return static_cast<bool>(cm->exit(exception));
          }
        },
        manager);
  }

  // A generator closed when the run ended cannot be used any more.
  static ctxlib::contextmanager<value>& live(generator_cm& g) { return alive(g.cm); }
  static ctxlib::asynccontextmanager<value>& live(agenerator_cm& g) { return alive(g.cm); }
  template <class Coroutine>
  static Coroutine& alive(std::optional<Coroutine>& coroutine) {
    if (!coroutine) throw std::logic_error("generator used after the run ended");
    return *coroutine;
  }

  static void bind_params(frame& f, const std::vector<param>& params,
                          const std::vector<value>& args) {
    for (std::size_t i = 0; i < params.size() && i < args.size(); ++i) {
      f.vars.declare(params[i].name, args[i]);
    }
  }

  void record(std::string line) {
    if (recording_) trace_.events.push_back(std::move(line));
  }

  // -------------------------------------------------------------------------------------
  // Statements

  flow exec_block(const block& b, frame& f) {
    const std::size_t depth = f.vars.depth();
    for (const stmt& s : b) {
      if (exec(s, f) == flow::returned) {
        f.vars.truncate(depth);
        return flow::returned;
      }
    }
    f.vars.truncate(depth);
    return flow::normal;
  }

  flow exec(const stmt& s, frame& f) {
    return std::visit([&](const auto& node) { return exec_node(node, f); }, s.node);
  }

  flow exec_node(const pass_stmt&, frame&) { return flow::normal; }

  flow exec_node(const mark_stmt& m, frame& f) {
    std::string line = "mark";
    for (const expr& e : m.values) line += " " + render(eval(e, f));
    record(std::move(line));
    return flow::normal;
  }

  flow exec_node(const assign_stmt& a, frame& f) {
    f.vars.bind(a.target, eval(a.value, f));
    return flow::normal;
  }

  flow exec_node(const set_attribute_stmt& s, frame& f) {
    value target = eval_name(s.target, f);
    auto* e =
        ctxlib::exception_cast<ctxlib::base_exception>(std::get<std::exception_ptr>(target.v));
    value v = eval(s.value, f);
    switch (s.attribute) {
      case exception_attribute::context:
        e->set_context(as_exception_or_null(v));
        break;
      case exception_attribute::cause:
        e->set_cause(as_exception_or_null(v));
        break;
      case exception_attribute::suppress_context:
        e->set_suppress_context(truthy(v));
        break;
    }
    return flow::normal;
  }

  flow exec_node(const raise_stmt& r, frame& f) {
    if (!r.exception) {  // bare raise: only lexically inside a handler (checked)
      // An async handler body runs outside its catch block (see handled_by_async).
      if (!std::current_exception() && f.handling) std::rethrow_exception(f.handling);
      throw;
    }
    std::exception_ptr exception = as_exception_or_null(eval(*r.exception, f));
    if (r.cause) ctxlib::raise_from(std::move(exception), as_exception_or_null(eval(*r.cause, f)));
    ctxlib::raise(std::move(exception));
  }

  flow exec_node(const return_stmt& r, frame& f) {
    f.returned = r.value ? eval(*r.value, f) : value{none_value{}};
    return flow::returned;
  }

  flow exec_node(const expr_stmt& e, frame& f) {
    eval(e.value, f);
    return flow::normal;
  }

  flow exec_node(const with_stmt& w, frame& f) { return exec_with(w, 0, f); }

  // `with a, b: body` is `with a: with b: body` (W3): b is evaluated inside a.
  flow exec_with(const with_stmt& w, std::size_t item, frame& f) {
    if (item == w.items.size()) return exec_block(w.body, f);
    const with_item& it = w.items[item];
    value manager = eval(it.manager, f);
    const std::size_t depth = f.vars.depth();
    auto body = [&](value as_value) {
      if (it.as) f.vars.bind(*it.as, std::move(as_value));
      flow result = exec_with(w, item + 1, f);
      f.vars.truncate(depth);
      return result;
    };
    std::optional<flow> result = std::visit(
        [&](auto* cm) -> std::optional<flow> {
          using T = std::remove_pointer_t<decltype(cm)>;
          if constexpr (std::is_same_v<T, scripted_cm>) {
            return ctxlib::with(*cm, [&](value& v) { return body(v); });
          } else if constexpr (std::is_same_v<T, ctxlib::exit_stack>) {
            return ctxlib::with(*cm, [&](ctxlib::exit_stack& s) { return body(value{&s}); });
          } else if constexpr (std::is_same_v<T, suppress_cm>) {
            return ctxlib::with(*cm, [&] { return body(value{none_value{}}); });
          } else if constexpr (std::is_same_v<T, nullcontext_cm>) {
            return ctxlib::with(*cm, [&](value& v) { return body(v); });
          } else if constexpr (std::is_same_v<T, generator_cm>) {
            return ctxlib::with(live(*cm), [&](value& v) { return body(v); });
          } else {
            return ctxlib::with(*cm, [&](scripted_cm& c) { return body(value{&c}); });
          }
        },
        as_manager(manager));
    f.vars.truncate(depth);
    return result.value_or(flow::normal);
  }

  flow exec_node(const try_stmt& t, frame& f) {
    if (!t.final_block) return exec_try_except(t, f);
    flow result;
    try {
      result = exec_try_except(t, f);
    } catch (...) {
      // `finally` runs while the exception is being handled, so its raises chain to it.
      if (exec_block(*t.final_block, f) == flow::returned) return flow::returned;
      throw;
    }
    if (exec_block(*t.final_block, f) == flow::returned) return flow::returned;
    return result;
  }

  flow exec_try_except(const try_stmt& t, frame& f) {
    if (t.handlers.empty()) return exec_block(t.body, f);
    try {
      return exec_block(t.body, f);
    } catch (...) {
      std::exception_ptr caught = met(std::current_exception());
      const py_class* cls = class_of(caught);
      for (const except_clause& h : t.handlers) {
        if (!handler_matches(h, cls)) continue;
        const std::size_t depth = f.vars.depth();
        if (h.as) f.vars.declare(*h.as, value{caught});
        flow result = exec_block(h.body, f);  // inside the catch block, as Python's handler
        f.vars.truncate(depth);
        return result;
      }
      throw;
    }
  }

  // A `yield` and what contains one run on the resumable executors (gexec_block).
  flow exec_node(const yield_stmt&, frame&) { std::terminate(); }  // unreachable
  // An `await` and what contains one run on the async executors (aexec_block).
  flow exec_node(const await_stmt&, frame&) { std::terminate(); }  // unreachable

  flow exec_node(const if_stmt& i, frame& f) {
    if (truthy(eval_name(i.name, f)) != i.negated) return exec_block(i.then_block, f);
    if (i.else_block) return exec_block(*i.else_block, f);
    return flow::normal;
  }

  bool handler_matches(const except_clause& h, const py_class* cls) const {
    if (h.classes.empty()) return true;
    for (const std::string& name : h.classes) {
      if (is_subclass(cls, classes_.at(name))) return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------------------
  // Expressions

  value eval(const expr& e, frame& f) {
    return std::visit([&](const auto& node) { return eval_node(node, f); }, e.node);
  }

  value eval_node(const none_literal&, frame&) { return value{none_value{}}; }
  value eval_node(const bool_literal& b, frame&) { return value{b.value}; }
  value eval_node(const int_literal& i, frame&) { return value{i.value}; }
  value eval_node(const string_literal& s, frame&) { return value{s.value}; }
  value eval_node(const name_ref& n, frame& f) { return eval_name(n.name, f); }
  value eval_node(const tuple_expr&, frame&) { return value{none_value{}}; }  // only in suppress

  value eval_name(const std::string& name, frame& f) {
    if (name == "self" && f.self != nullptr) return value{f.self};
    if (name == "self" && f.async_self != nullptr) return value{f.async_self};
    if (value* v = f.vars.find(name)) return *v;
    if (auto it = classes_.find(name); it != classes_.end()) return value{it->second};
    if (auto it = functions_.find(name); it != functions_.end()) return value{it->second};
    return value{none_value{}};  // unreachable for checked programs
  }

  std::vector<value> eval_args(const std::vector<expr>& args, frame& f) {
    std::vector<value> out;
    out.reserve(args.size());
    for (const expr& a : args) out.push_back(eval(a, f));
    return out;
  }

  value eval_node(const call_expr& c, frame& f) {
    switch (c.kind) {
      case call_kind::new_exception: {
        script_info::argument arg;
        if (!c.args.empty()) {
          value a = eval(c.args[0], f);
          if (auto* i = std::get_if<std::int64_t>(&a.v)) arg = *i;
          if (auto* s = std::get_if<std::string>(&a.v)) arg = *s;
        }
        return value{make_exception(classes_.at(c.callee), std::move(arg))};
      }
      case call_kind::new_cm: {
        const cm_decl& decl = *cms_.at(c.callee);
        if (decl.is_async) return value{&own(acms_storage_, *this, decl, eval_args(c.args, f))};
        return value{&own(cms_storage_, *this, decl, eval_args(c.args, f))};
      }
      case call_kind::sleep:  // only in `await sleep()` (aexec)
      case call_kind::new_exit_stack:
        return value{&own(stacks_)};
      case call_kind::new_async_exit_stack:
        return value{&own(async_stacks_)};
      case call_kind::new_neutral_exit_stack:
        return value{&own(neutral_stacks_)};
      case call_kind::new_aclosing: {
        scripted_acm* thing = std::get<scripted_acm*>(eval(c.args.at(0), f).v);
        return value{&own(aclosings_, *thing)};
      }
      case call_kind::new_suppress: {
        class_set set{this, {}};
        collect_classes(c.args, set.classes, f);
        return value{&own(suppressors_, std::move(set))};
      }
      case call_kind::new_nullcontext: {
        value inner = c.args.empty() ? value{none_value{}} : eval(c.args[0], f);
        return value{&own(nullcontexts_, std::move(inner))};
      }
      case call_kind::new_closing: {
        scripted_cm* thing = std::get<scripted_cm*>(eval(c.args.at(0), f).v);
        return value{&own(closings_, *thing)};
      }
      case call_kind::call_function:
        return invoke_function(*functions_.at(c.callee), eval_args(c.args, f));
      case call_kind::new_generator: {
        const function_decl& fn = *functions_.at(c.callee);
        if (fn.is_async) return value{&own(agenerators_, fn, agenerator(fn, eval_args(c.args, f)))};
        return value{&own(generators_, fn, generator(fn, eval_args(c.args, f)))};
      }
      case call_kind::unresolved:
        break;
    }
    return value{none_value{}};
  }

  void collect_classes(const std::vector<expr>& args, std::vector<const py_class*>& out, frame& f) {
    for (const expr& a : args) {
      if (auto* t = std::get_if<tuple_expr>(&a.node)) {
        collect_classes(t->items, out, f);
      } else {
        value cls = eval(a, f);
        if (auto* c = std::get_if<const py_class*>(&cls.v)) out.push_back(*c);
      }
    }
  }

  value eval_node(const method_call& m, frame& f) {
    value object = eval_name(m.object, f);
    if (auto* async_stack = std::get_if<ctxlib::async_exit_stack*>(&object.v))
      return stack_method_call(**async_stack, m, f);
    if (auto* neutral = std::get_if<ctxlib::neutral_exit_stack*>(&object.v))
      return neutral_method_call(**neutral, m, f);
    return stack_method_call(*std::get<ctxlib::exit_stack*>(object.v), m, f);
  }

  // The synchronous methods, on an ExitStack or an AsyncExitStack (its sync entries, and the
  // async entries that are pushed without awaiting).
  template <class Stack>
  value stack_method_call(Stack& stack, const method_call& m, frame& f) {
    switch (m.method) {
      case stack_method::enter_context:
        return std::visit(
            [&](auto* cm) -> value {
              using T = std::remove_pointer_t<decltype(cm)>;
              if constexpr (std::is_same_v<T, scripted_cm>) {
                return stack.enter_context(*cm);
              } else if constexpr (std::is_same_v<T, ctxlib::exit_stack>) {
                return value{&stack.enter_context(*cm)};
              } else if constexpr (std::is_same_v<T, suppress_cm>) {
                stack.enter_context(*cm);
                return value{none_value{}};
              } else if constexpr (std::is_same_v<T, nullcontext_cm>) {
                return stack.enter_context(*cm);
              } else if constexpr (std::is_same_v<T, generator_cm>) {
                return stack.enter_context(live(*cm));
              } else {
                return value{&stack.enter_context(*cm)};
              }
            },
            as_manager(eval(m.args.at(0), f)));
      case stack_method::push: {
        value pushed = eval(m.args.at(0), f);
        if (auto* fn = std::get_if<const function_decl*>(&pushed.v)) {
          const function_decl* exit_fn = *fn;
          stack.push([this, exit_fn](const std::exception_ptr& e) {
            return truthy(invoke_function(*exit_fn, {exception_value(e)}));
          });
        } else {
          std::visit(
              [&](auto* cm) {
                if constexpr (std::is_same_v<std::remove_pointer_t<decltype(cm)>, generator_cm>)
                  stack.push(live(*cm));
                else
                  stack.push(*cm);
              },
              as_manager(pushed));
        }
        return value{none_value{}};
      }
      case stack_method::callback: {
        const function_decl* fn = std::get<const function_decl*>(eval(m.args.at(0), f).v);
        std::vector<value> args;
        for (std::size_t i = 1; i < m.args.size(); ++i) args.push_back(eval(m.args[i], f));
        stack.callback([this, fn](const std::vector<value>& bound) { invoke_function(*fn, bound); },
                       std::move(args));
        return value{none_value{}};
      }
      case stack_method::pop_all:
        if constexpr (std::is_same_v<Stack, ctxlib::async_exit_stack>)
          return value{&own(async_stacks_, stack.pop_all())};
        else
          return value{&own(stacks_, stack.pop_all())};
      case stack_method::close:
        if constexpr (std::is_same_v<Stack, ctxlib::exit_stack>) stack.close();
        return value{none_value{}};
      case stack_method::push_async_exit:
        if constexpr (std::is_same_v<Stack, ctxlib::async_exit_stack>) {
          value pushed = eval(m.args.at(0), f);
          if (auto* fn = std::get_if<const function_decl*>(&pushed.v)) {
            const function_decl* exit_fn = *fn;
            stack.push_async_exit([this, exit_fn](const std::exception_ptr& e) {
              return async_exit_function(*exit_fn, e);
            });
          } else {
            with_async_manager(pushed, [&stack](auto& cm) { stack.push_async_exit(cm); });
          }
        }
        return value{none_value{}};
      case stack_method::push_async_callback:
        if constexpr (std::is_same_v<Stack, ctxlib::async_exit_stack>) {
          const function_decl* fn = std::get<const function_decl*>(eval(m.args.at(0), f).v);
          std::vector<value> args;
          for (std::size_t i = 1; i < m.args.size(); ++i) args.push_back(eval(m.args[i], f));
          stack.push_async_callback(
              [this, fn](const std::vector<value>& bound) { return ainvoke_function(*fn, bound); },
              std::move(args));
        }
        return value{none_value{}};
      case stack_method::enter_async_context:
      case stack_method::aclose:
        break;  // awaited: aeval_method
    }
    return value{none_value{}};
  }

  // A NeutralExitStack's push, callback and pop_all: sync or async entries alike (the stack
  // tells them apart by type: an acm, a task-returning callable).
  value neutral_method_call(ctxlib::neutral_exit_stack& stack, const method_call& m, frame& f) {
    switch (m.method) {
      case stack_method::push: {
        value pushed = eval(m.args.at(0), f);
        if (auto* fn = std::get_if<const function_decl*>(&pushed.v)) {
          const function_decl* exit_fn = *fn;
          if (exit_fn->is_async) {
            stack.push([this, exit_fn](const std::exception_ptr& e) {
              return async_exit_function(*exit_fn, e);
            });
          } else {
            stack.push([this, exit_fn](const std::exception_ptr& e) {
              return truthy(invoke_function(*exit_fn, {exception_value(e)}));
            });
          }
        } else {
          with_any_manager(pushed, [&](auto& cm) { stack.push(cm); });
        }
        return value{none_value{}};
      }
      case stack_method::callback: {
        const function_decl* fn = std::get<const function_decl*>(eval(m.args.at(0), f).v);
        std::vector<value> args;
        for (std::size_t i = 1; i < m.args.size(); ++i) args.push_back(eval(m.args[i], f));
        if (fn->is_async) {
          stack.callback(
              [this, fn](const std::vector<value>& bound) { return ainvoke_function(*fn, bound); },
              std::move(args));
        } else {
          stack.callback(
              [this, fn](const std::vector<value>& bound) { invoke_function(*fn, bound); },
              std::move(args));
        }
        return value{none_value{}};
      }
      case stack_method::pop_all:
        return value{&own(neutral_stacks_, stack.pop_all())};
      default:
        return value{none_value{}};  // enter_context and aclose are awaited (aeval_method)
    }
  }

  // Calls `use` with the manager a value holds, sync or async, as its C++ object.
  template <class Use>
  std::invoke_result_t<Use&, scripted_cm&> with_any_manager(const value& v, Use&& use) {
    return std::visit(
        [&](auto* cm) {
          using T = std::remove_pointer_t<decltype(cm)>;
          if constexpr (std::is_same_v<T, generator_cm> || std::is_same_v<T, agenerator_cm>)
            return use(live(*cm));
          else
            return use(*cm);
        },
        as_any_manager(v));
  }

  using any_manager_ptr =
      std::variant<scripted_cm*, ctxlib::exit_stack*, suppress_cm*, nullcontext_cm*, closing_cm*,
                   generator_cm*, scripted_acm*, ctxlib::async_exit_stack*, aclosing_cm*,
                   ctxlib::neutral_exit_stack*, agenerator_cm*>;

  static any_manager_ptr as_any_manager(const value& v) {
    return std::visit(
        [](const auto& a) -> any_manager_ptr {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_constructible_v<any_manager_ptr, T> && std::is_pointer_v<T> &&
                        !std::is_same_v<T, const py_class*> &&
                        !std::is_same_v<T, const function_decl*>) {
            return a;
          } else {
            std::terminate();  // unreachable for checked programs
          }
        },
        v.v);
  }

  // `await NAME.enter_context(X)` on a NeutralExitStack: sync or async X.
  ctxlib::task<value> neutral_enter(ctxlib::neutral_exit_stack& stack, value manager) {
    auto enter = [&stack](auto& cm) -> ctxlib::task<value> {
      auto entering = stack.enter_context(cm);
      if constexpr (std::is_same_v<decltype(entering), ctxlib::task<>>) {
        co_await std::move(entering);  // suppress: enters as None
        co_return value{none_value{}};
      } else {
        co_return as_value(co_await std::move(entering));
      }
    };
    ctxlib::task<value> entering = with_any_manager(manager, enter);
    co_return co_await std::move(entering);
  }

  // An async exit function pushed on an AsyncExitStack: its result decides suppression.
  ctxlib::task<bool> async_exit_function(const function_decl& fn, std::exception_ptr e) {
    ctxlib::task<value> call = ainvoke_function(fn, {exception_value(e)});
    co_return truthy(co_await std::move(call));
  }

  // `await NAME.enter_async_context(X)` / `await NAME.aclose()`.
  ctxlib::task<value> aeval_method(const method_call& m, frame& f) {
    value object = eval_name(m.object, f);
    if (auto* neutral = std::get_if<ctxlib::neutral_exit_stack*>(&object.v)) {
      if (m.method == stack_method::aclose) {
        ctxlib::task<> closing = (*neutral)->aclose();
        co_await std::move(closing);
        co_return value{none_value{}};
      }
      ctxlib::task<value> entering = neutral_enter(**neutral, eval(m.args.at(0), f));
      co_return co_await std::move(entering);
    }
    ctxlib::async_exit_stack& stack = *std::get<ctxlib::async_exit_stack*>(object.v);
    if (m.method == stack_method::aclose) {
      ctxlib::task<> closing = stack.aclose();
      co_await std::move(closing);
      co_return value{none_value{}};
    }
    auto enter = [&stack](auto& cm) -> ctxlib::task<value> {
      auto entering = stack.enter_async_context(cm);
      co_return as_value(co_await std::move(entering));
    };
    ctxlib::task<value> entering = with_async_manager(eval(m.args.at(0), f), enter);
    co_return co_await std::move(entering);
  }

  static manager_ptr as_manager(const value& v) {
    return std::visit(
        [](const auto& a) -> manager_ptr {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, scripted_cm*> || std::is_same_v<T, ctxlib::exit_stack*> ||
                        std::is_same_v<T, suppress_cm*> || std::is_same_v<T, nullcontext_cm*> ||
                        std::is_same_v<T, closing_cm*> || std::is_same_v<T, generator_cm*>) {
            return a;
          } else {
            std::terminate();  // unreachable for checked programs
          }
        },
        v.v);
  }

  // An exception operand: an object as is; a class is instantiated, as `raise Class` does.
  std::exception_ptr as_exception_or_null(const value& v) {
    if (auto* e = std::get_if<std::exception_ptr>(&v.v)) return *e;
    if (auto* c = std::get_if<const py_class*>(&v.v)) return make_exception(*c, {});
    return nullptr;
  }

  std::exception_ptr make_exception(const py_class* cls, script_info::argument arg) {
    auto make = [&]<class Base>(std::type_identity<Base>) {
      return std::make_exception_ptr(script_exception<Base>(cls, std::move(arg)));
    };
    std::exception_ptr e;
    switch (cls->cpp) {
      case cpp_base::base_exception:
        e = make(std::type_identity<ctxlib::base_exception>{});
        break;
      case cpp_base::exception:
        e = make(std::type_identity<ctxlib::exception>{});
        break;
      case cpp_base::generator_exit:
        e = make(std::type_identity<ctxlib::generator_exit>{});
        break;
      case cpp_base::runtime_error:
        e = make(std::type_identity<ctxlib::runtime_error>{});
        break;
      case cpp_base::type_error:
        e = make(std::type_identity<ctxlib::type_error>{});
        break;
      case cpp_base::attribute_error:
        e = make(std::type_identity<ctxlib::attribute_error>{});
        break;
      case cpp_base::stop_iteration:
        e = make(std::type_identity<ctxlib::stop_iteration>{});
        break;
      case cpp_base::stop_async_iteration:
        e = make(std::type_identity<ctxlib::stop_async_iteration>{});
        break;
      case cpp_base::cancelled_error:
        e = make(std::type_identity<ctxlib::cancelled_error>{});
        break;
    }
    return met_.emplace_back(std::move(e));
  }

  value exception_value(const std::exception_ptr& e) {
    return e ? value{met(e)} : value{none_value{}};
  }

  template <class T, class... Args>
  T& own(std::deque<T>& storage, Args&&... args) {
    return storage.emplace_back(std::forward<Args>(args)...);
  }

  // -------------------------------------------------------------------------------------
  // Rendering (docs/language.md, "Rendering values")

 public:
  std::string render(const value& v) {
    std::set<const void*> seen;
    return render(v, seen);
  }
  std::string render_list(const std::vector<value>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i != 0) out += ", ";
      out += render(values[i]);
    }
    return out;
  }
  template <class CM>
  std::string render_instance(const CM& cm) {
    return cm.decl().name + "(" + render_list(cm.args()) + ")";
  }

 private:
  std::string render(const value& v, std::set<const void*>& seen) {
    return std::visit(
        [&](const auto& a) -> std::string {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, none_value>)
            return "None";
          else if constexpr (std::is_same_v<T, bool>)
            return a ? "True" : "False";
          else if constexpr (std::is_same_v<T, std::int64_t>)
            return std::to_string(a);
          else if constexpr (std::is_same_v<T, std::string>)
            return python_repr(a);
          else if constexpr (std::is_same_v<T, const py_class*>)
            return a->name;
          else if constexpr (std::is_same_v<T, std::exception_ptr>)
            return render_exception(a, seen);
          else if constexpr (std::is_same_v<T, scripted_cm*> || std::is_same_v<T, scripted_acm*>)
            return "<" + render_instance(*a) + ">";
          else if constexpr (std::is_same_v<T, ctxlib::exit_stack*>)
            return "<ExitStack>";
          else if constexpr (std::is_same_v<T, ctxlib::async_exit_stack*>)
            return "<AsyncExitStack>";
          else if constexpr (std::is_same_v<T, aclosing_cm*>)
            return "<aclosing>";
          else if constexpr (std::is_same_v<T, ctxlib::neutral_exit_stack*>)
            return "<NeutralExitStack>";
          else if constexpr (std::is_same_v<T, suppress_cm*>)
            return "<suppress>";
          else if constexpr (std::is_same_v<T, nullcontext_cm*>)
            return "<nullcontext>";
          else if constexpr (std::is_same_v<T, closing_cm*>)
            return "<closing>";
          else if constexpr (std::is_same_v<T, generator_cm*> || std::is_same_v<T, agenerator_cm*>)
            return "<generator " + a->fn->name + ">";
          else
            return "<function " + a->name + ">";
        },
        v.v);
  }

  std::string render_exception(const std::exception_ptr& e, std::set<const void*>& seen) {
    auto* object = ctxlib::exception_cast<ctxlib::base_exception>(e);
    if (object == nullptr) {
      auto* std_error = ctxlib::exception_cast<std::exception>(e);
      return "<C++ exception " + std::string(std_error ? std_error->what() : "of unknown type") +
             ">";
    }
    auto [it, is_new] = ids_.try_emplace(object, static_cast<int>(ids_.size()) + 1);
    if (is_new) alive_.push_back(e);  // keep it alive so its address names only this object
    std::string out = "#" + std::to_string(it->second);
    if (!seen.insert(object).second) return out;
    out += " " + std::string(object->python_type_name()) + "(";
    if (auto* s = dynamic_cast<const script_info*>(object)) {
      if (auto* i = std::get_if<std::int64_t>(&s->arg())) out += std::to_string(*i);
      if (auto* str = std::get_if<std::string>(&s->arg())) out += python_repr(*str);
    } else if (!object->message().empty()) {
      out += python_repr(object->message());
    }
    out += ")";
    if (object->cause()) out += " cause=(" + render_exception(object->cause(), seen) + ")";
    if (object->suppress_context()) out += " suppress_context";
    if (object->context()) out += " context=(" + render_exception(object->context(), seen) + ")";
    return out;
  }

  const program& program_;
  trace trace_;
  bool recording_ = true;
  std::deque<py_class> class_storage_;
  std::map<std::string, const py_class*> classes_;
  std::map<std::string, const cm_decl*> cms_;
  std::map<std::string, const function_decl*> functions_;
  std::map<const void*, int> ids_;
  std::vector<std::exception_ptr> alive_;
  // Created, caught, given to exits (rendered ones are in alive_): see cut_chains().
  std::vector<std::exception_ptr> met_;
  // Objects the program creates live until the run ends, like Python objects a program keeps
  // reachable. Stacks are declared last so they are destroyed first, while what their
  // remaining entries refer to still exists.
  std::deque<scripted_cm> cms_storage_;
  std::deque<scripted_acm> acms_storage_;
  std::deque<suppress_cm> suppressors_;
  std::deque<nullcontext_cm> nullcontexts_;
  std::deque<closing_cm> closings_;
  std::deque<aclosing_cm> aclosings_;
  std::deque<generator_cm> generators_;
  // Async generators still suspended when the run ends are destroyed without being resumed
  // (a destructor cannot await); Python's loop would aclose them, unrecorded too.
  std::deque<agenerator_cm> agenerators_;
  std::deque<ctxlib::exit_stack> stacks_;
  // An AsyncExitStack left unclosed is destroyed without running its entries, as Python drops
  // one (nothing would await them).
  std::deque<ctxlib::async_exit_stack> async_stacks_;
  std::deque<ctxlib::neutral_exit_stack> neutral_stacks_;
  std::map<const function_decl*, std::function<value(const std::vector<value>&)>> decorated_;
  std::map<const function_decl*, std::function<ctxlib::task<value>(std::vector<value>)>>
      async_decorated_;
  std::set<const stmt*> yielding_;  // statements of generator bodies that contain a `yield`
  std::set<const stmt*> awaiting_;  // statements of async bodies that await
  bool async_main_ = false;         // the top-level code awaits: it runs as a task
  bool main_is_coroutine_ = false;  // and Python runs it as a coroutine (PEP 479 applies)
};

bool class_set::matches(const std::exception_ptr& exception) const {
  const py_class* cls = owner->class_of(exception);
  for (const py_class* c : classes) {
    if (is_subclass(cls, c)) return true;
  }
  return false;
}

value scripted_cm::enter() {
  return in_.call_method(*this, decl_.enter, "enter", nullptr, nullptr);
}

bool scripted_cm::exit(const std::exception_ptr& exception) {
  value received = exception ? value{exception} : value{none_value{}};
  return truthy(in_.call_method(*this, decl_.exit, "exit", &decl_.exit_param, &received));
}

void scripted_cm::close() {
  in_.call_method(*this, decl_.close, "close", nullptr, nullptr);
}

ctxlib::task<value> scripted_acm::aenter() {
  return in_.acall_method(*this, decl_.enter, "enter", nullptr, std::nullopt);
}

ctxlib::task<bool> scripted_acm::aexit(std::exception_ptr exception) {
  value received = exception ? value{exception} : value{none_value{}};
  ctxlib::task<value> call =
      in_.acall_method(*this, decl_.exit, "exit", &decl_.exit_param, std::move(received));
  co_return truthy(co_await std::move(call));
}

ctxlib::task<value> scripted_acm::aclose() {
  return in_.acall_method(*this, decl_.close, "close", nullptr, std::nullopt);
}

}  // namespace

trace run(const program& checked_program) {
  return interpreter(checked_program).run();
}

}  // namespace ctxrunner
