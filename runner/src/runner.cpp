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
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
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

// The ctxlib class a Python class's exceptions derive from: its own if ctxlib has one (only
// built-in classes: declared names cannot take built-in ones), else its base's.
cpp_base cpp_base_of(std::string_view name, const py_class* base) {
  static constexpr std::pair<std::string_view, cpp_base> own[] = {
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
  for (const auto& [n, cpp] : own) {
    if (n == name) return cpp;
  }
  return base != nullptr ? base->cpp : cpp_base::base_exception;
}

// CPython's built-in exception classes, made once and shared by every run (they never change).
class builtin_classes {
 public:
  static const builtin_classes& get() {
    static const builtin_classes table;
    return table;
  }
  const py_class* find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it != by_name_.end() ? it->second : nullptr;
  }

 private:
  builtin_classes() {
    for (const auto& b : builtin_exception_classes()) {
      const py_class* base = b.base.empty() ? nullptr : find(b.base);
      const py_class& made =
          classes_.emplace_back(py_class{std::string(b.name), base, cpp_base_of(b.name, base)});
      by_name_.emplace(made.name, &made);
    }
  }

  std::deque<py_class> classes_;
  std::unordered_map<std::string_view, const py_class*> by_name_;
};

// A program's declarations by name. Programs declare a handful, so a linear search beats a map
// (no node to allocate, no key to copy); the first of a name is found, as map::emplace kept it.
template <class T>
class by_name {
 public:
  void add(std::string_view name, const T* item) { entries_.emplace_back(name, item); }
  const T* find(std::string_view name) const {
    for (const auto& [n, item] : entries_) {
      if (n == name) return item;
    }
    return nullptr;
  }
  // Names in a checked program resolve.
  const T* at(std::string_view name) const {
    if (const T* item = find(name)) return item;
    throw std::out_of_range("ctxrunner: nothing is named " + std::string(name));
  }

 private:
  std::vector<std::pair<std::string_view, const T*>> entries_;
};

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
// Names are the program's own strings, which outlive the run.
class scope {
 public:
  value* find(std::string_view name) {
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }
  void bind(std::string_view name, value v) {
    if (value* existing = find(name))
      *existing = std::move(v);
    else
      bindings_.emplace_back(name, std::move(v));
  }
  void declare(std::string_view name, value v) { bindings_.emplace_back(name, std::move(v)); }
  std::size_t depth() const { return bindings_.size(); }
  void truncate(std::size_t depth) { bindings_.resize(depth); }

 private:
  std::vector<std::pair<std::string_view, value>> bindings_;
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

// How the statements a coroutine of the interpreter ran ended: their flow, or the exception
// they raised. Between the interpreter's own coroutines (the async and resumable executors) an
// exception travels as this value: letting it escape each task would rethrow it, a whole unwind,
// at every task it leaves. It is thrown again only where ctxlib must see it in flight (a body
// of async_with, an aexit, a generator's end) or where a catch block must hold it.
struct outcome {
  flow how = flow::normal;
  std::exception_ptr raised;
};

// A call's result, or the exception it raised, for the same reason.
struct evaluated {
  value result;
  std::exception_ptr raised;
};

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
    for (const auto& c : p.classes) {
      const py_class* base = class_at(c.base);
      classes_.add(c.name,
                   &class_storage_.emplace_back(py_class{c.name, base, cpp_base_of(c.name, base)}));
    }
    for (const auto& c : p.cms) {
      cms_.add(c.name, &c);
      if (c.is_async) {
        for (const auto* b : {&c.enter, &c.exit, &c.close})
          if (*b) find_awaits(**b);
      }
    }
    for (const auto& f : p.functions) {
      functions_.add(f.name, &f);
      if (f.generator && !f.is_async) find_yields(f.body);
      if (f.is_async) find_awaits(f.body);  // an async generator's yields count as awaits
    }
    async_main_ = find_awaits(p.main);
    std::sort(yielding_.begin(), yielding_.end(), std::less<const stmt*>());
    std::sort(awaiting_.begin(), awaiting_.end(), std::less<const stmt*>());
    main_is_coroutine_ = ctxmodel::python_awaits(p.main);
  }

  trace run() {
    frame top;
    std::exception_ptr raised;  // what escaped the program
    try {
      decorate_functions();
      if (async_main_) {
        // Top-level code that awaits: the main block is a task, run to completion here.
        raised = ctxlib::sync_wait(aexec_block(program_.main, top)).raised;
        // Python's top level is one coroutine when it awaits (not when its only await is a
        // NeutralExitStack entering a sync manager: CPython's is then a plain call).
        if (raised && main_is_coroutine_) raised = escaping_coroutine(std::move(raised));
      } else {
        exec_block(program_.main, top);
      }
    } catch (...) {
      raised = std::current_exception();
    }
    record(raised ? "outcome raised " + render(value{raised}) : std::string("outcome ok"));
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
    std::vector<const void*> done;  // a few objects: a list is cheaper than a set
    while (!todo.empty()) {
      std::exception_ptr e = std::move(todo.back());
      todo.pop_back();
      auto* b = ctxlib::exception_cast<ctxlib::base_exception>(e);
      if (b == nullptr || std::find(done.begin(), done.end(), b) != done.end()) continue;
      done.push_back(b);
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
      if (const py_class* cls = find_class(b->python_type_name())) return cls;
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

  // What escapes a Python coroutine whose body raised `raised`: PEP 479's RuntimeError for a
  // StopIteration (raised in its handler, as the catch of a rethrow would), else `raised`.
  std::exception_ptr escaping_coroutine(std::exception_ptr raised) {
    if (ctxlib::exception_cast<ctxlib::stop_iteration>(raised) == nullptr) return raised;
    try {
      std::rethrow_exception(std::move(raised));
    } catch (const ctxlib::stop_iteration&) {
      try {
        raise_coroutine_stop_iteration();
      } catch (...) {
        return std::current_exception();
      }
    }
  }

  // What a call gives: the value of the `return` that ended its body, else None. The flow
  // decides, not `returned`: a return that an exception cancelled (a with's exit or a finally
  // raised, and a handler took the exception) leaves a value behind, and the body then runs on
  // to its end, where Python returns None.
  static value result_of(flow ended, frame& f) {
    return ended == flow::returned ? std::move(*f.returned) : value{none_value{}};
  }

  // A call's result for ctxlib, which takes an exception in flight.
  static value raise_or_result(evaluated&& call) {
    if (call.raised) std::rethrow_exception(std::move(call.raised));
    return std::move(call.result);
  }

  // An acm member: its block is interpreted by the async executors below.
  ctxlib::task<evaluated> acall_method(scripted_acm& self, const std::optional<block>& body,
                                       const char* event, const std::string* param,
                                       std::optional<value> argument) {
    record_method(event, self, argument ? &*argument : nullptr);
    frame f;
    f.async_self = &self;
    bind_params(f, self.decl().params, self.args());
    if (param != nullptr && argument) f.vars.declare(*param, *argument);
    outcome ended;
    if (body) {
      ctxlib::task<outcome> running = aexec_block(*body, f);
      ended = co_await std::move(running);
    }
    if (ended.raised) co_return evaluated{value{}, escaping_coroutine(std::move(ended.raised))};
    co_return evaluated{result_of(ended.how, f), nullptr};
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

  // The same, its exception kept as a value (for the interpreter's own `await`).
  ctxlib::task<evaluated> aevaluate_function(const function_decl& fn, std::vector<value> args) {
    if (auto it = async_decorated_.find(&fn); it != async_decorated_.end())
      return caught(it->second(std::move(args)));
    return arun_function(fn, std::move(args));
  }

  // Awaits a task that raises, keeping its exception as a value.
  static ctxlib::task<evaluated> caught(ctxlib::task<value> call) {
    evaluated out;
    try {
      out.result = co_await std::move(call);
    } catch (...) {
      out.raised = std::current_exception();
    }
    co_return out;
  }

  // An async def: a task the caller awaits.
  ctxlib::task<value> acall_function(const function_decl& fn, std::vector<value> args) {
    ctxlib::task<evaluated> running = arun_function(fn, std::move(args));
    co_return raise_or_result(co_await std::move(running));
  }

  ctxlib::task<evaluated> arun_function(const function_decl& fn, std::vector<value> args) {
    record_call(fn, args);
    frame f;
    if (fn.exit_signature) {
      f.vars.declare(fn.params.at(0).name, args.at(0));
    } else {
      bind_params(f, fn.params, args);
    }
    ctxlib::task<outcome> running = aexec_block(fn.body, f);
    outcome ended = co_await std::move(running);
    if (ended.raised) co_return evaluated{value{}, escaping_coroutine(std::move(ended.raised))};
    co_return evaluated{result_of(ended.how, f), nullptr};
  }

  value call_method(scripted_cm& self, const std::optional<block>& body, const char* event,
                    const std::string* param, const value* argument) {
    record_method(event, self, argument);
    frame f;
    f.self = &self;
    bind_params(f, self.decl().params, self.args());
    if (param != nullptr && argument != nullptr) f.vars.declare(*param, *argument);
    return result_of(body ? exec_block(*body, f) : flow::normal, f);
  }

  value call_function(const function_decl& fn, const std::vector<value>& args) {
    record_call(fn, args);
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
    record_call(fn, args);  // the generator starts
    frame f;
    bind_params(f, fn.params, args);
    generator_state state;
    detail::task<outcome> body = gexec_block(fn.body, f, state);
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
    // An exception leaves the generator as it is; `return` just finishes it.
    if (outcome ended = body.take(); ended.raised) std::rethrow_exception(std::move(ended.raised));
  }

  // @asynccontextmanager functions: the async generator, as a ctxlib::asynccontextmanager
  // coroutine whose body is interpreted by the async executors (resumable.hpp tells how).
  ctxlib::asynccontextmanager<value> agenerator(const function_decl& fn, std::vector<value> args) {
    record_call(fn, args);  // the generator starts
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
      ctxlib::task<outcome> running = aexec_block(b, f);
      outcome ended = co_await std::move(running);
      state.raised = std::move(ended.raised);
    } catch (...) {
      state.raised = std::current_exception();
    }
    state.finished = true;
  }

 private:
  // Built-in classes first: declared names cannot take theirs.
  const py_class* find_class(std::string_view name) const {
    if (const py_class* builtin = builtin_classes::get().find(name)) return builtin;
    return classes_.find(name);
  }
  const py_class* class_at(std::string_view name) const {
    if (const py_class* cls = find_class(name)) return cls;
    return classes_.at(name);  // throws
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
      if (here) yielding_.push_back(&s);
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
      if (here) awaiting_.push_back(&s);
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

  bool is_awaiting(const stmt& s) const {
    return std::binary_search(awaiting_.begin(), awaiting_.end(), &s, std::less<const stmt*>());
  }
  bool is_yielding(const stmt& s) const {
    return std::binary_search(yielding_.begin(), yielding_.end(), &s, std::less<const stmt*>());
  }

  bool awaits(const block& b) const {
    return std::any_of(b.begin(), b.end(), [&](const stmt& s) { return is_awaiting(s); });
  }

  // -------------------------------------------------------------------------------------
  // Async executors: ctxlib tasks awaiting each other, for the statements that await (their
  // sync twins are below). ctxlib carries "the exception being handled" along task await
  // chains (an async `with` sets it while aexit runs), so ctxlib::raise in code these tasks
  // run sees what CPython's sys.exc_info() would, with one gap a user's code must fill: a C++
  // coroutine cannot await inside a catch block, so an interpreted handler (or finally) whose
  // body awaits runs as the exit of an async `with` whose body re-raises the handled exception
  // (`handled_by_async`): ctxlib then marks the task chain as handling it.

  // Each executor gives its statements' outcome: what they raise is a value between them (see
  // `outcome`), thrown again only into ctxlib (the body of an async_with). Those that only
  // dispatch (aexec, aexec_async_with, aexec_try...) are plain functions returning the task that
  // does the work, so passing through them costs no coroutine frame.

  ctxlib::task<outcome> aexec_block(const block& b, frame& f) {
    const std::size_t depth = f.vars.depth();
    for (const stmt& s : b) {
      outcome result;
      if (!is_awaiting(s)) {
        try {
          result.how = exec(s, f);
        } catch (...) {
          result.raised = std::current_exception();
        }
      } else {
        ctxlib::task<outcome> running = aexec(s, f);
        result = co_await std::move(running);
      }
      if (result.raised) co_return result;  // what the block bound stays, as when it threw
      if (result.how == flow::returned) {
        f.vars.truncate(depth);
        co_return result;
      }
    }
    f.vars.truncate(depth);
    co_return outcome{};
  }

  // A statement that awaits.
  ctxlib::task<outcome> aexec(const stmt& s, frame& f) {
    if (const auto* w = std::get_if<with_stmt>(&s.node))
      return w->is_async ? aexec_async_with(*w, 0, f) : aexec_with(*w, 0, f);
    if (const auto* t = std::get_if<try_stmt>(&s.node)) return aexec_try(*t, f);
    if (const auto* i = std::get_if<if_stmt>(&s.node)) {
      if (truthy(eval_name(i->name, f)) != i->negated) return aexec_block(i->then_block, f);
      if (i->else_block) return aexec_block(*i->else_block, f);
      return aexec_block(empty_block_, f);
    }
    return aexec_simple(s, f);
  }

  // An awaited stack method, a `yield` of an @asynccontextmanager body, an `await`.
  ctxlib::task<outcome> aexec_simple(const stmt& s, frame& f) {
    outcome out;
    try {
      if (const method_call* m = awaited_method(s)) {
        ctxlib::task<evaluated> call = aeval_method(*m, f);
        evaluated result = co_await std::move(call);
        out.raised = std::move(result.raised);
        if (auto* a = std::get_if<assign_stmt>(&s.node); a != nullptr && !out.raised)
          f.vars.bind(a->target, std::move(result.result));
      } else if (auto* y = std::get_if<yield_stmt>(&s.node)) {  // @asynccontextmanager body
        f.generator->yielded = y->value ? eval(*y->value, f) : value{none_value{}};
        // Named, not a temporary: GCC 12 destroys co_await operand temporaries twice.
        detail::async_yield_point<value> yield_here{*f.generator, f.handling};
        out.raised = co_await yield_here;
      } else {
        const auto& a = std::get<await_stmt>(s.node);
        const auto& c = std::get<call_expr>(a.call.node);
        if (c.kind == call_kind::sleep) {
          co_await ctxlib::yield_now();
        } else {
          // Tasks are named before they are awaited throughout: GCC 12 destroys temporaries in
          // co_await operands twice (docs/differences.md).
          ctxlib::task<evaluated> call =
              aevaluate_function(*functions_.at(c.callee), eval_args(c.args, f));
          evaluated result = co_await std::move(call);
          out.raised = std::move(result.raised);
        }
      }
    } catch (...) {
      out.raised = std::current_exception();
    }
    co_return out;
  }

  // `async with a, b:` is `async with a: async with b:` (W3, W11), through ctxlib::async_with.
  ctxlib::task<outcome> aexec_async_with(const with_stmt& w, std::size_t item, frame& f) {
    if (item == w.items.size()) return aexec_block(w.body, f);
    return aexec_async_with_item(w, item, f);
  }

  // The body of item `item` of an async `with`, for ctxlib::async_with: binds the `as` name, runs
  // what the item encloses and then drops what it bound since `depth`. What that raises leaves
  // its task in flight, for aexit: it is not caught only to be thrown again.
  auto async_with_body(const with_stmt& w, std::size_t item, frame& f, std::size_t depth) {
    return [this, &w, &f, item, depth](auto& entered) -> ctxlib::task<flow> {
      if (const with_item& it = w.items[item]; it.as) f.vars.bind(*it.as, as_value(entered));
      if (item + 1 == w.items.size()) return aexec_with_body(w.body, f, depth);
      return aexec_async_with_inner(w, item + 1, f, depth);
    };
  }

  ctxlib::task<outcome> aexec_async_with_item(const with_stmt& w, std::size_t item, frame& f) {
    const with_item& it = w.items[item];
    std::size_t depth = 0;
    std::optional<flow> result;
    std::exception_ptr raised;
    try {
      value manager = eval(it.manager, f);
      depth = f.vars.depth();
      auto body = async_with_body(w, item, f, depth);
      auto enter = [&body](auto& cm) { return ctxlib::async_with(cm, std::move(body)); };
      ctxlib::task<std::optional<flow>> running = with_async_manager(manager, enter);
      result = co_await std::move(running);
    } catch (...) {
      raised = std::current_exception();
    }
    if (raised) co_return outcome{flow::normal, std::move(raised)};
    f.vars.truncate(depth);
    co_return outcome{result.value_or(flow::normal), nullptr};
  }

  // The block of an async `with` as aexec_block runs it, but raising what it raises.
  ctxlib::task<flow> aexec_with_body(const block& b, frame& f, std::size_t depth) {
    const std::size_t start = f.vars.depth();
    flow how = flow::normal;
    for (const stmt& s : b) {
      if (!is_awaiting(s)) {
        how = exec(s, f);
      } else {
        ctxlib::task<outcome> running = aexec(s, f);
        outcome result = co_await std::move(running);
        if (result.raised) std::rethrow_exception(std::move(result.raised));
        how = result.how;
      }
      if (how == flow::returned) break;
    }
    f.vars.truncate(start);
    f.vars.truncate(depth);
    co_return how;
  }

  // The items after the first (`async with a, b:` is `async with a: async with b:`), as
  // aexec_async_with_item runs them, but raising what they raise.
  ctxlib::task<flow> aexec_async_with_inner(const with_stmt& w, std::size_t item, frame& f,
                                            std::size_t outer_depth) {
    value manager = eval(w.items[item].manager, f);
    const std::size_t depth = f.vars.depth();
    auto body = async_with_body(w, item, f, depth);
    auto enter = [&body](auto& cm) { return ctxlib::async_with(cm, std::move(body)); };
    ctxlib::task<std::optional<flow>> running = with_async_manager(manager, enter);
    const std::optional<flow> result = co_await std::move(running);
    f.vars.truncate(depth);
    f.vars.truncate(outer_depth);
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
  ctxlib::task<outcome> aexec_with(const with_stmt& w, std::size_t item, frame& f) {
    if (item == w.items.size()) return aexec_block(w.body, f);
    return aexec_with_item(w, item, f);
  }

  ctxlib::task<outcome> aexec_with_item(const with_stmt& w, std::size_t item, frame& f) {
    const with_item& it = w.items[item];
    manager_ptr manager;
    std::size_t depth = 0;
    std::exception_ptr failure;
    try {
      manager = as_manager(eval(it.manager, f));
      value entered = enter_manager(manager);
      depth = f.vars.depth();
      if (it.as) f.vars.bind(*it.as, std::move(entered));
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) co_return outcome{flow::normal, std::move(failure)};
    ctxlib::task<outcome> running = aexec_with(w, item + 1, f);
    outcome result = co_await std::move(running);
    f.vars.truncate(depth);
    co_return exited(manager, std::move(result), [&] { exit_manager(manager, nullptr); });
  }

  // The end of a synchronous `with` in the interpreter's coroutines: the manager's exit gets
  // what the body raised (the exception being handled while it runs), and may suppress it or
  // raise anew; `exit_normally` is its exit when the body raised nothing.
  template <class ExitNormally>
  outcome exited(const manager_ptr& manager, outcome result, ExitNormally&& exit_normally) {
    try {
      if (!result.raised) {
        exit_normally();
      } else if (detail::under_handled(result.raised,
                                       [&] { return exit_manager(manager, result.raised); })) {
        return outcome{};  // suppressed
      }
    } catch (...) {
      return outcome{flow::normal, std::current_exception()};
    }
    return result;
  }

  // Runs `b` (which awaits) while `exception` is the exception being handled.
  ctxlib::task<outcome> handled_by_async(std::exception_ptr exception, const block& b, frame& f) {
    struct handler_scope {
      interpreter& in;
      const block& body;
      frame& f;
      outcome result;
      ctxlib::ready<bool> aenter() { return {true}; }
      ctxlib::task<bool> aexit(std::exception_ptr) {
        ctxlib::task<outcome> running = in.aexec_block(body, f);
        result = co_await std::move(running);
        co_return true;  // handled: what the block raises is its outcome instead
      }
    } scope{*this, b, f, {}};
    struct restore {
      frame& f;
      std::exception_ptr saved;
      ~restore() { f.handling = std::move(saved); }
    } restoring{f, std::exchange(f.handling, exception)};
    auto running =
        ctxlib::async_with(scope, [exception](bool) { std::rethrow_exception(exception); });
    co_await std::move(running);
    co_return std::move(scope.result);
  }

  ctxlib::task<outcome> aexec_try(const try_stmt& t, frame& f) {
    if (!t.final_block) return aexec_try_except(t, f);
    return aexec_try_finally(t, f);
  }

  ctxlib::task<outcome> aexec_try_finally(const try_stmt& t, frame& f) {
    ctxlib::task<outcome> running = aexec_try_except(t, f);
    const outcome result = co_await std::move(running);
    outcome final_result;
    if (result.raised) {
      // `finally` runs while the exception is being handled; a return there drops it.
      if (awaits(*t.final_block)) {
        ctxlib::task<outcome> handling = handled_by_async(result.raised, *t.final_block, f);
        final_result = co_await std::move(handling);
      } else {
        try {
          final_result.how =
              detail::under_handled(result.raised, [&] { return exec_block(*t.final_block, f); });
        } catch (...) {
          final_result.raised = std::current_exception();
        }
      }
    } else {
      ctxlib::task<outcome> final_run = aexec_block(*t.final_block, f);
      final_result = co_await std::move(final_run);
    }
    if (final_result.raised || final_result.how == flow::returned) co_return final_result;
    co_return result;
  }

  ctxlib::task<outcome> aexec_try_except(const try_stmt& t, frame& f) {
    if (t.handlers.empty()) return aexec_block(t.body, f);
    return aexec_try_handlers(t, f);
  }

  ctxlib::task<outcome> aexec_try_handlers(const try_stmt& t, frame& f) {
    ctxlib::task<outcome> running = aexec_block(t.body, f);
    const outcome result = co_await std::move(running);
    if (!result.raised) co_return result;
    const std::exception_ptr caught = met(result.raised);
    const py_class* cls = class_of(caught);
    for (const except_clause& h : t.handlers) {
      if (!handler_matches(h, cls)) continue;
      const std::size_t depth = f.vars.depth();
      if (h.as) f.vars.declare(*h.as, value{caught});
      outcome handled;
      if (awaits(h.body)) {
        ctxlib::task<outcome> handling = handled_by_async(caught, h.body, f);
        handled = co_await std::move(handling);
      } else {  // inside a catch block of its exception, as the sync executor runs it
        try {
          handled.how = detail::under_handled(caught, [&] { return exec_block(h.body, f); });
        } catch (...) {
          handled.raised = std::current_exception();
        }
      }
      if (!handled.raised) f.vars.truncate(depth);
      co_return handled;
    }
    co_return result;  // no handler: the same exception goes on
  }

  // -------------------------------------------------------------------------------------
  // Resumable executors for statements that contain a `yield` (their C++ twins are below).
  // Anything else runs on the ordinary executors, inside the interpreted handler's exception
  // when there is one (under_handled). Like the async executors, they give their outcome.

  template <class Code>
  decltype(auto) handled_by(const generator_state& state, Code&& code) {
    return detail::under_handled(state.handled, std::forward<Code>(code));
  }

  detail::task<outcome> gexec_block(const block& b, frame& f, generator_state& state) {
    const std::size_t depth = f.vars.depth();
    for (auto next = b.begin(); next != b.end();) {
      const stmt& s = *next;
      outcome result;
      if (!is_yielding(s)) {
        // The statements up to the next one that yields run on the ordinary executors, in one
        // catch block of the interpreted handler's exception (under_handled), if any.
        try {
          result.how = handled_by(state, [&] {
            for (; next != b.end() && !is_yielding(*next); ++next) {
              if (exec(*next, f) == flow::returned) return flow::returned;
            }
            return flow::normal;
          });
        } catch (...) {
          result.raised = std::current_exception();
        }
      } else {
        ++next;
        detail::task<outcome> running = gexec(s, f, state);
        result = co_await std::move(running);
      }
      if (result.raised) co_return result;  // what the block bound stays, as when it threw
      if (result.how == flow::returned) {
        f.vars.truncate(depth);
        co_return result;
      }
    }
    f.vars.truncate(depth);
    co_return outcome{};
  }

  // A statement that contains a `yield`.
  detail::task<outcome> gexec(const stmt& s, frame& f, generator_state& state) {
    if (const auto* w = std::get_if<with_stmt>(&s.node)) return gexec_with(*w, 0, f, state);
    if (const auto* t = std::get_if<try_stmt>(&s.node)) return gexec_try(*t, f, state);
    if (const auto* i = std::get_if<if_stmt>(&s.node)) {
      if (truthy(eval_name(i->name, f)) != i->negated) return gexec_block(i->then_block, f, state);
      if (i->else_block) return gexec_block(*i->else_block, f, state);
      return gexec_block(empty_block_, f, state);
    }
    return gexec_yield(std::get<yield_stmt>(s.node), f, state);
  }

  detail::task<outcome> gexec_yield(const yield_stmt& y, frame& f, generator_state& state) {
    outcome out;
    try {
      state.yielded =
          y.value ? handled_by(state, [&] { return eval(*y.value, f); }) : value{none_value{}};
    } catch (...) {
      out.raised = std::current_exception();
    }
    if (out.raised) co_return out;
    detail::yield_point<value> yield_here{state};
    out.raised = co_await yield_here;
    co_return out;
  }

  // `with` around a `yield`: ctxlib::with cannot suspend inside its body, so this is the
  // protocol a C++ coroutine writes by hand — what ctxlib::with does (W1-W10): enter outside
  // the protected region, exit inside the handler of the body's exception, the same object
  // re-raised unless exit suppresses it.
  detail::task<outcome> gexec_with(const with_stmt& w, std::size_t item, frame& f,
                                   generator_state& state) {
    if (item == w.items.size()) return gexec_block(w.body, f, state);
    return gexec_with_item(w, item, f, state);
  }

  detail::task<outcome> gexec_with_item(const with_stmt& w, std::size_t item, frame& f,
                                        generator_state& state) {
    const with_item& it = w.items[item];
    manager_ptr manager;
    std::size_t depth = 0;
    std::exception_ptr failure;
    try {
      manager = handled_by(state, [&] { return as_manager(eval(it.manager, f)); });
      value entered = handled_by(state, [&] { return enter_manager(manager); });
      depth = f.vars.depth();
      if (it.as) f.vars.bind(*it.as, std::move(entered));
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) co_return outcome{flow::normal, std::move(failure)};
    detail::task<outcome> running = gexec_with(w, item + 1, f, state);
    outcome result = co_await std::move(running);
    f.vars.truncate(depth);
    co_return exited(manager, std::move(result),
                     [&] { handled_by(state, [&] { exit_manager(manager, nullptr); }); });
  }

  detail::task<outcome> gexec_try(const try_stmt& t, frame& f, generator_state& state) {
    if (!t.final_block) return gexec_try_except(t, f, state);
    return gexec_try_finally(t, f, state);
  }

  detail::task<outcome> gexec_try_finally(const try_stmt& t, frame& f, generator_state& state) {
    detail::task<outcome> running = gexec_try_except(t, f, state);
    const outcome result = co_await std::move(running);
    outcome final_result;
    if (result.raised) {
      // `finally` runs while the exception is being handled; a return there drops it.
      const detail::handling<value> in_finally(state, result.raised);
      detail::task<outcome> final_run = gexec_block(*t.final_block, f, state);
      final_result = co_await std::move(final_run);
    } else {
      detail::task<outcome> final_run = gexec_block(*t.final_block, f, state);
      final_result = co_await std::move(final_run);
    }
    if (final_result.raised || final_result.how == flow::returned) co_return final_result;
    co_return result;
  }

  detail::task<outcome> gexec_try_except(const try_stmt& t, frame& f, generator_state& state) {
    if (t.handlers.empty()) return gexec_block(t.body, f, state);
    return gexec_try_handlers(t, f, state);
  }

  detail::task<outcome> gexec_try_handlers(const try_stmt& t, frame& f, generator_state& state) {
    detail::task<outcome> running = gexec_block(t.body, f, state);
    const outcome result = co_await std::move(running);
    if (!result.raised) co_return result;
    const std::exception_ptr caught = met(result.raised);
    const py_class* cls = class_of(caught);
    for (const except_clause& h : t.handlers) {
      if (!handler_matches(h, cls)) continue;
      const detail::handling<value> in_handler(state, caught);
      const std::size_t depth = f.vars.depth();
      if (h.as) f.vars.declare(*h.as, value{caught});
      detail::task<outcome> handling = gexec_block(h.body, f, state);
      outcome handled = co_await std::move(handling);
      if (!handled.raised) f.vars.truncate(depth);
      co_return handled;
    }
    co_return result;  // no handler: the same exception goes on
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

  // `call NAME(ARGS)`: a function called, a generator started.
  void record_call(const function_decl& fn, const std::vector<value>& args) {
    std::string line = "call ";
    line += fn.name;
    line += '(';
    render_list_to(line, args);
    line += ')';
    record(std::move(line));
  }

  // `EVENT NAME(ARGS)` and the argument if there is one: a method of a cm or acm.
  template <class CM>
  void record_method(const char* event, const CM& self, const value* argument) {
    std::string line = event;
    line += ' ';
    render_instance_to(line, self);
    if (argument != nullptr) {
      line += ' ';
      render_to(line, *argument);
    }
    record(std::move(line));
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
    for (const expr& e : m.values) {
      value v = eval(e, f);
      line += ' ';
      render_to(line, v);
    }
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
      if (is_subclass(cls, class_at(name))) return true;
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
    if (const py_class* cls = find_class(name)) return value{cls};
    if (const function_decl* fn = functions_.find(name)) return value{fn};
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
        return value{make_exception(class_at(c.callee), std::move(arg))};
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

  // The result of a task of ctxlib's (entering a manager, closing a stack), or its exception.
  template <class Result>
  static ctxlib::task<evaluated> evaluate(ctxlib::task<Result> running) {
    evaluated out{value{none_value{}}, nullptr};
    try {
      if constexpr (std::is_void_v<Result>) {
        co_await std::move(running);  // suppress: enters as None
      } else {
        out.result = as_value(co_await std::move(running));
      }
    } catch (...) {
      out.raised = std::current_exception();
    }
    co_return out;
  }

  // An async exit function pushed on an AsyncExitStack: its result decides suppression.
  ctxlib::task<bool> async_exit_function(const function_decl& fn, std::exception_ptr e) {
    std::vector<value> args{exception_value(e)};
    if (!async_decorated_.contains(&fn)) {
      ctxlib::task<evaluated> call = arun_function(fn, std::move(args));
      co_return truthy(raise_or_result(co_await std::move(call)));
    }
    ctxlib::task<value> call = ainvoke_function(fn, std::move(args));
    co_return truthy(co_await std::move(call));
  }

  // `await NAME.enter_async_context(X)` / `await NAME.aclose()`, and on a NeutralExitStack
  // `await NAME.enter_context(X)` (sync or async X) / `await NAME.aclose()`.
  ctxlib::task<evaluated> aeval_method(const method_call& m, frame& f) {
    value object = eval_name(m.object, f);
    if (auto* neutral = std::get_if<ctxlib::neutral_exit_stack*>(&object.v)) {
      ctxlib::neutral_exit_stack& stack = **neutral;
      if (m.method == stack_method::aclose) return evaluate(stack.aclose());
      return with_any_manager(eval(m.args.at(0), f),
                              [&stack](auto& cm) { return evaluate(stack.enter_context(cm)); });
    }
    ctxlib::async_exit_stack& stack = *std::get<ctxlib::async_exit_stack*>(object.v);
    if (m.method == stack_method::aclose) return evaluate(stack.aclose());
    return with_async_manager(eval(m.args.at(0), f), [&stack](auto& cm) {
      return evaluate(stack.enter_async_context(cm));
    });
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
  // Each value renders with a `seen` list of its own (an exception met again in its own chain is
  // written by its identity alone); the text is appended to `out`.
  void render_to(std::string& out, const value& v) {
    std::vector<const void*> seen;
    render_value(out, v, seen);
  }
  std::string render(const value& v) {
    std::string out;
    render_to(out, v);
    return out;
  }
  void render_list_to(std::string& out, const std::vector<value>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i != 0) out += ", ";
      render_to(out, values[i]);
    }
  }
  template <class CM>
  void render_instance_to(std::string& out, const CM& cm) {
    out += cm.decl().name;
    out += '(';
    render_list_to(out, cm.args());
    out += ')';
  }

 private:
  void render_value(std::string& out, const value& v, std::vector<const void*>& seen) {
    std::visit(
        [&](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, none_value>) {
            out += "None";
          } else if constexpr (std::is_same_v<T, bool>) {
            out += a ? "True" : "False";
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            out += std::to_string(a);
          } else if constexpr (std::is_same_v<T, std::string>) {
            out += python_repr(a);
          } else if constexpr (std::is_same_v<T, const py_class*>) {
            out += a->name;
          } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
            render_exception(out, a, seen);
          } else if constexpr (std::is_same_v<T, scripted_cm*> ||
                               std::is_same_v<T, scripted_acm*>) {
            out += '<';
            render_instance_to(out, *a);
            out += '>';
          } else if constexpr (std::is_same_v<T, ctxlib::exit_stack*>) {
            out += "<ExitStack>";
          } else if constexpr (std::is_same_v<T, ctxlib::async_exit_stack*>) {
            out += "<AsyncExitStack>";
          } else if constexpr (std::is_same_v<T, aclosing_cm*>) {
            out += "<aclosing>";
          } else if constexpr (std::is_same_v<T, ctxlib::neutral_exit_stack*>) {
            out += "<NeutralExitStack>";
          } else if constexpr (std::is_same_v<T, suppress_cm*>) {
            out += "<suppress>";
          } else if constexpr (std::is_same_v<T, nullcontext_cm*>) {
            out += "<nullcontext>";
          } else if constexpr (std::is_same_v<T, closing_cm*>) {
            out += "<closing>";
          } else if constexpr (std::is_same_v<T, generator_cm*> ||
                               std::is_same_v<T, agenerator_cm*>) {
            out += "<generator ";
            out += a->fn->name;
            out += '>';
          } else {
            out += "<function ";
            out += a->name;
            out += '>';
          }
        },
        v.v);
  }

  void render_exception(std::string& out, const std::exception_ptr& e,
                        std::vector<const void*>& seen) {
    auto* object = ctxlib::exception_cast<ctxlib::base_exception>(e);
    if (object == nullptr) {
      auto* std_error = ctxlib::exception_cast<std::exception>(e);
      out += "<C++ exception ";
      out += std_error ? std_error->what() : "of unknown type";
      out += '>';
      return;
    }
    out += '#';
    out += std::to_string(identity(object, e));
    if (std::find(seen.begin(), seen.end(), object) != seen.end()) return;
    seen.push_back(object);
    out += ' ';
    out += object->python_type_name();
    out += '(';
    if (auto* s = dynamic_cast<const script_info*>(object)) {
      if (auto* i = std::get_if<std::int64_t>(&s->arg())) out += std::to_string(*i);
      if (auto* str = std::get_if<std::string>(&s->arg())) out += python_repr(*str);
    } else if (!object->message().empty()) {
      out += python_repr(object->message());
    }
    out += ')';
    if (object->cause()) {
      out += " cause=(";
      render_exception(out, object->cause(), seen);
      out += ')';
    }
    if (object->suppress_context()) out += " suppress_context";
    if (object->context()) {
      out += " context=(";
      render_exception(out, object->context(), seen);
      out += ')';
    }
  }

  // The `#N` of an exception object: numbered in the order the run first renders them.
  int identity(const void* object, const std::exception_ptr& e) {
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == object) return static_cast<int>(i) + 1;
    }
    ids_.push_back(object);
    alive_.push_back(e);  // keep it alive so its address names only this object
    return static_cast<int>(ids_.size());
  }

  const program& program_;
  trace trace_;
  bool recording_ = true;
  std::deque<py_class> class_storage_;  // the program's classes (built-in ones are shared)
  by_name<py_class> classes_;
  by_name<cm_decl> cms_;
  by_name<function_decl> functions_;
  std::vector<const void*> ids_;  // exception objects by identity number (identity())
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
  const block empty_block_;  // what an `if` without `else` runs when its test fails
  // Sorted once made, for binary_search: sets of statements.
  std::vector<const stmt*> yielding_;  // statements of generator bodies that contain a `yield`
  std::vector<const stmt*> awaiting_;  // statements of async bodies that await
  bool async_main_ = false;            // the top-level code awaits: it runs as a task
  bool main_is_coroutine_ = false;     // and Python runs it as a coroutine (PEP 479 applies)
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
  ctxlib::task<evaluated> call =
      in_.acall_method(*this, decl_.enter, "enter", nullptr, std::nullopt);
  co_return interpreter::raise_or_result(co_await std::move(call));
}

ctxlib::task<bool> scripted_acm::aexit(std::exception_ptr exception) {
  value received = exception ? value{exception} : value{none_value{}};
  ctxlib::task<evaluated> call =
      in_.acall_method(*this, decl_.exit, "exit", &decl_.exit_param, std::move(received));
  co_return truthy(interpreter::raise_or_result(co_await std::move(call)));
}

ctxlib::task<value> scripted_acm::aclose() {
  ctxlib::task<evaluated> call =
      in_.acall_method(*this, decl_.close, "close", nullptr, std::nullopt);
  co_return interpreter::raise_or_result(co_await std::move(call));
}

}  // namespace

trace run(const program& checked_program) {
  return interpreter(checked_program).run();
}

}  // namespace ctxrunner
