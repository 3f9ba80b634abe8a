// generate.cpp: random valid programs from a stream of decisions (generate.hpp), and the
// inverse, the decisions that rebuild a given program (encode).
//
// One procedure does both. Every decision goes through `decide(bound, hint)`: generating, the
// source picks; encoding, the procedure walks the target program alongside, `hint` is the option
// the target took (computed only when there is a target), and the decision is recorded. So the
// encoder can never disagree with the generator about what a decision means.
//
// Validity by construction: the generator keeps a small copy of the checker's types (kinds, an
// exception's class/object-ness, a manager's possible origins) and only offers what the checker
// accepts there; ctxmodel::check confirms every program. No recursion: the code declarations
// (cms and functions) are made one after another, and code may only use those made before it
// (never `self` as a manager). Bounded: statements, nesting, declarations and expression depth
// are capped; a block that must not be empty has its statement reserved before anything else is
// spent.
#include "ctxmodel/generate.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ctxmodel/parse.hpp"

namespace ctxmodel {

std::size_t byte_choices::pick(std::size_t bound) {
  if (bound <= 1) return 0;
  const int width = bound <= 0x100 ? 1 : bound <= 0x10000 ? 2 : 4;
  std::size_t v = 0;
  for (int i = 0; i < width; ++i) {
    if (next_ < size_) v |= static_cast<std::size_t>(data_[next_++]) << (8 * i);
  }
  return v % bound;
}

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// A list that keeps its first N elements in place, for the many short lists generation makes
// and drops at once (options, visible variables, usable declarations): most never allocate.
// Trivially copyable elements only.
template <class T, std::size_t N = 16>
class small_vector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  small_vector() = default;
  small_vector(std::initializer_list<T> items) {
    for (const T& x : items) push_back(x);
  }
  small_vector(const small_vector& other) {
    for (const T& x : other) push_back(x);
  }
  small_vector& operator=(const small_vector& other) {
    if (this != &other) {
      size_ = 0;
      for (const T& x : other) push_back(x);
    }
    return *this;
  }
  ~small_vector() = default;

  void push_back(T x) {
    if (size_ == capacity_) grow();
    data_[size_++] = x;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  void grow() {
    auto bigger = std::make_unique<T[]>(capacity_ * 2);
    std::copy(data_, data_ + size_, bigger.get());
    capacity_ *= 2;
    heap_ = std::move(bigger);
    data_ = heap_.get();
  }

  T inline_[N];
  T* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
  std::unique_ptr<T[]> heap_;
};

// ---------------------------------------------------------------------------------------------
// Types: what the checker knows about a value (checker.cpp), as far as the generator needs it.

enum class kind : std::uint8_t { value, exception, exception_or_none, stack, async_stack, neutral };

struct type {
  kind k = kind::value;
  bool cm = false;                    // with k == value: a context-manager value (checker's cm)
  bool may_be_class = false;          // exception
  bool may_be_object = false;         // exception
  std::set<int> declared;             // cm: an instance of these declarations (cm or acm)
  std::set<int> generators;           // cm: a generator cm of these functions
  std::set<int> closing;              // cm: closing(an instance of these cms)
  std::set<int> aclosing;             // cm: aclosing(an instance of these acms)
  bool suppress = false;              // cm: a suppress
  std::shared_ptr<const type> inner;  // cm: a nullcontext binding this
};

type value_type() {
  return {};
}
type of_kind(kind k) {
  type t;
  t.k = k;
  return t;
}
type exception_type(bool cls, bool obj) {
  type t = of_kind(kind::exception);
  t.may_be_class = cls;
  t.may_be_object = obj;
  return t;
}
type manager_type() {
  type t;
  t.cm = true;
  return t;
}

// The checker's loose join: different kinds (cm counting as its own kind) give `value`.
type join(const type& a, const type& b) {
  if (a.k != b.k || a.cm != b.cm) return value_type();
  type r = a;
  r.may_be_class |= b.may_be_class;
  r.may_be_object |= b.may_be_object;
  r.declared.insert(b.declared.begin(), b.declared.end());
  r.generators.insert(b.generators.begin(), b.generators.end());
  r.closing.insert(b.closing.begin(), b.closing.end());
  r.aclosing.insert(b.aclosing.begin(), b.aclosing.end());
  r.suppress |= b.suppress;
  if (a.inner && b.inner && a.inner != b.inner)
    r.inner = std::make_shared<const type>(join(*a.inner, *b.inner));
  else if (b.inner)
    r.inner = b.inner;
  return r;
}

bool is_stack(kind k) {
  return k == kind::stack || k == kind::async_stack || k == kind::neutral;
}

bool exception_object(const type& t) {
  return t.k == kind::exception && t.may_be_object && !t.may_be_class;
}

// The built-in exception classes, simplest first (0 is what a shrinking source ends on).
constexpr std::array<std::string_view, 22> builtin_classes = {
    "Exception",          "KeyError",       "IndexError",        "ValueError",
    "TypeError",          "RuntimeError",   "ZeroDivisionError", "LookupError",
    "ArithmeticError",    "AttributeError", "NameError",         "NotImplementedError",
    "RecursionError",     "AssertionError", "OSError",           "StopIteration",
    "StopAsyncIteration", "GeneratorExit",  "KeyboardInterrupt", "SystemExit",
    "BaseException",      "CancelledError",
};

constexpr std::array<std::int64_t, 8> int_pool = {0, 1, 2, 3, -1, 10, 42, 100};
constexpr std::array<std::string_view, 12> string_pool = {
    "a",      "b", "c",    "x",          "body",      "top",
    "bottom", "",  "it's", "say \"hi\"", "tab\there", "two\nlines",
};
constexpr std::size_t max_custom_string = 16;
constexpr std::size_t custom_characters = 97;  // printable ASCII, then \n and \t

char custom_character(std::size_t i) {
  return i < 95 ? static_cast<char>(' ' + i) : i == 95 ? '\n' : '\t';
}
std::size_t custom_character_index(char c) {
  if (c >= ' ' && c <= '~') return static_cast<std::size_t>(c - ' ');
  return c == '\n' ? 95 : c == '\t' ? 96 : npos;
}

// ---------------------------------------------------------------------------------------------
// Declarations as the generator sees them.

struct decl_info {
  std::string name;
  bool is_cm = false;  // a cm/acm; otherwise a function
  bool is_async = false;
  bool exit_signature = false;
  bool generator = false;
  bool has_close = false;
  std::vector<param> params;
  type result;  // cm: what its enter returns; generator function: what it yields
};

struct variable {
  std::string name;
  type t;
  bool read_only = false;  // cm parameters inside methods
  bool narrowed = false;   // an exception-or-None seen as an exception object inside `if`
};

struct frame {
  enum class where : std::uint8_t { main, function, method, decorator } place = where::main;
  bool async_ok = false;
  std::string self_cm;          // in cm methods: the cm's name (`self`)
  bool generator = false;       // a @contextmanager / @asynccontextmanager body
  int yields = 0;               // yield statements so far (at most two: see generate.hpp)
  bool yield_reserved = false;  // a statement is reserved for a yield the body still lacks
  bool enter = false;           // an enter body: its returns make what `with` binds
  std::vector<type> returns;
  std::vector<type> yield_types;
  int handlers = 0;        // enclosing except handlers (bare `raise`)
  int depth = 0;           // block nesting
  std::size_t usable = 0;  // decls_[0, usable) may be used here
  std::vector<std::vector<variable>> scopes;
  std::map<std::string, std::string> renamed;  // encoding: the target's names -> ours
};

enum class sk : std::uint8_t {
  pass,
  mark,
  assign,
  raise,
  set_attribute,
  call,
  with,
  try_,
  if_,
  yield,
  return_,
  await_sleep,
  await_call,
  async_with,
  stack_method,
};

struct typed {
  expr e;
  type t;
};

expr make(expr_node n) {
  expr e;
  e.node = std::move(n);
  return e;
}
stmt make_stmt(stmt_node n) {
  stmt s;
  s.node = std::move(n);
  return s;
}
expr name_expr(std::string n) {
  return make(name_ref{std::move(n)});
}
expr call(std::string callee, std::vector<expr> args = {}) {
  call_expr c;
  c.callee = std::move(callee);
  c.args = std::move(args);
  return make(std::move(c));
}

template <class T>
const T* as(const expr* e) {
  return e ? std::get_if<T>(&e->node) : nullptr;
}
template <class T>
const T* as(const stmt* s) {
  return s ? std::get_if<T>(&s->node) : nullptr;
}
template <class T>
const T* at(const std::vector<T>* v, std::size_t i) {
  return v && i < v->size() ? &(*v)[i] : nullptr;
}

// Which options the target took, for `decide`'s hint.
template <class Options, class E>
std::size_t index_of(const Options& options, const E& wanted) {
  auto it = std::find(options.begin(), options.end(), wanted);
  return it == options.end() ? npos : static_cast<std::size_t>(it - options.begin());
}

// ---------------------------------------------------------------------------------------------

using var_list = small_vector<const variable*>;
using id_list = small_vector<int>;
using method_list = small_vector<stack_method>;

class generator {
 public:
  generator(choices* source, const generate_limits& limits, const program* target,
            std::vector<std::pair<std::size_t, std::size_t>>* record)
      : source_(source), limits_(limits), target_(target), record_(record) {
    budget_ = std::max(1, limits.max_statements);
    reserved_ = 1;  // the top level needs a statement
  }

  program run() {
    program p;
    classes(p);
    declarations(p);
    frame main;
    main.place = frame::where::main;
    main.async_ok = limits_.allow_async;
    main.usable = decls_.size();
    frames_.push_back(std::move(main));
    p.main = gen_block(target_ ? &target_->main : nullptr, /*nested=*/false);
    frames_.pop_back();
    return p;
  }

 private:
  // ------------------------------------------------------------------ decisions
  std::size_t decide(std::size_t bound, std::size_t hint = 0) {
    if (bound <= 1) return 0;
    std::size_t v = 0;
    if (record_) {
      v = hint < bound ? hint : 0;
      record_->emplace_back(v, bound);
    } else {
      v = source_->pick(bound) % bound;
    }
    return v;
  }
  bool decide_bool(bool hint) { return decide(2, hint ? 1 : 0) == 1; }

  template <class Options>
  auto choose(const Options& options, std::size_t hint) {
    return options[decide(options.size(), hint)];
  }

  // ------------------------------------------------------------------ budget
  bool affordable(int n) const { return budget_ - reserved_ >= n; }

  // ------------------------------------------------------------------ names
  frame& cur() { return frames_.back(); }

  std::string fresh_variable(const std::string* target_name) {
    std::string n = "v" + std::to_string(++variables_);
    if (target_name) cur().renamed[*target_name] = n;
    return n;
  }
  // A target name as the generated program calls it.
  std::string mapped(const std::string& n) {
    if (!frames_.empty()) {
      if (auto it = cur().renamed.find(n); it != cur().renamed.end()) return it->second;
    }
    if (auto it = decl_names_.find(n); it != decl_names_.end()) return it->second;
    return n;
  }
  std::string mapped_name(const expr* e) {
    const name_ref* n = as<name_ref>(e);
    return n ? mapped(n->name) : std::string();
  }

  void push_scope() {
    if (cur().scopes.empty()) cur().scopes.reserve(8);
    cur().scopes.emplace_back();
  }
  void pop_scope() { cur().scopes.pop_back(); }
  void bind(const std::string& name, type t, bool read_only = false) {
    std::vector<variable>& scope = cur().scopes.back();
    if (scope.empty()) scope.reserve(4);
    scope.push_back(variable{name, std::move(t), read_only, false});
  }

  // Visible variables, outermost first; an inner binding of a name (a narrowed view) hides
  // the outer one. Names are otherwise unique, so views are the only shadowing.
  var_list visible() {
    var_list out;
    for (const auto& scope : cur().scopes) {
      for (const auto& v : scope) {
        auto hidden = v.narrowed
                          ? std::find_if(out.begin(), out.end(),
                                         [&](const variable* o) { return o->name == v.name; })
                          : out.end();
        if (hidden != out.end())
          *hidden = &v;
        else
          out.push_back(&v);
      }
    }
    return out;
  }
  template <class Pred>
  var_list visible_if(Pred pred) {
    return filter(visible(), pred);
  }
  // The variables of `vars` (visible ones) that `pred` takes, in order.
  template <class Pred>
  static var_list filter(const var_list& vars, Pred pred) {
    var_list out;
    for (const variable* v : vars)
      if (pred(*v)) out.push_back(v);
    return out;
  }
  std::size_t variable_hint(const var_list& vs, const std::string& name) {
    for (std::size_t i = 0; i < vs.size(); ++i)
      if (vs[i]->name == name) return i;
    return npos;
  }

  // ------------------------------------------------------------------ declarations in use
  template <class Pred>
  id_list usable_decls(Pred pred) {
    id_list out;
    for (std::size_t i = 0; i < cur().usable; ++i)
      if (pred(decls_[i])) out.push_back(static_cast<int>(i));
    return out;
  }
  std::size_t decl_hint(const id_list& ids, const std::string& generated_name) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (decls_[ids[i]].name == generated_name) return i;
    return npos;
  }
  const decl_info* find_decl(const std::string& generated_name) const {
    for (const auto& d : decls_)
      if (d.name == generated_name) return &d;
    return nullptr;
  }
  bool usable_id(int id) { return static_cast<std::size_t>(id) < cur().usable; }

  // The built-in classes (simplest first), then the declared ones.
  const std::vector<std::string>& class_names() const { return class_names_; }
  bool is_class_name(const std::string& n) const {
    return std::find(class_names_.begin(), class_names_.end(), n) != class_names_.end();
  }

  // Arguments can be made for these parameters here (a stack parameter needs an ExitStack).
  bool can_make_args(const std::vector<param>& ps) {
    for (const auto& p : ps)
      if (p.type == param_type::stack && sync_stacks().empty()) return false;
    return true;
  }
  // The same, `sync_stack` telling whether sync_stacks() is not empty.
  static bool can_make_args(const std::vector<param>& ps, bool sync_stack) {
    return sync_stack || std::none_of(ps.begin(), ps.end(),
                                      [](const param& p) { return p.type == param_type::stack; });
  }
  static bool has_sync_stack(const var_list& vars) {
    return std::any_of(vars.begin(), vars.end(),
                       [](const variable* v) { return v->t.k == kind::stack; });
  }
  var_list sync_stacks() {
    return visible_if([](const variable& v) { return v.t.k == kind::stack; });
  }

  // ------------------------------------------------------------------ manager types
  // The checker's manager_mismatch: may `with` (sync) / `async with` (async) take it?
  bool fits(const type& t, bool async) const {
    // `self` (a declaration still being made) is never entered.
    for (const auto* set : {&t.declared, &t.generators, &t.closing, &t.aclosing})
      for (int id : *set)
        if (static_cast<std::size_t>(id) >= decls_.size()) return false;
    if (t.k == kind::stack) return !async;
    if (t.k == kind::async_stack || t.k == kind::neutral) return async;
    if (!t.cm) return false;
    if (!async) {
      if (!t.aclosing.empty()) return false;
      for (int g : t.generators)
        if (decls_[g].is_async) return false;
      for (int d : t.declared)
        if (decls_[d].is_async) return false;
      return true;
    }
    if (t.suppress || !t.closing.empty()) return false;
    for (int g : t.generators)
      if (!decls_[g].is_async) return false;
    for (int d : t.declared)
      if (!decls_[d].is_async) return false;
    return true;
  }
  // Entering it here runs only declarations made before (no recursion, no `self`).
  bool origins_usable(const type& t) {
    for (const auto* set : {&t.declared, &t.generators, &t.closing, &t.aclosing})
      for (int id : *set)
        if (!usable_id(id)) return false;
    return true;
  }
  // What `with X as v` binds (the checker's as_type).
  type as_type(const type& t) const {
    if (is_stack(t.k)) return of_kind(t.k);
    std::optional<type> r;
    auto add = [&](const type& one) { r = r ? join(*r, one) : one; };
    for (int d : t.declared) add(decls_[d].result);
    for (int g : t.generators) add(decls_[g].result);
    if (t.suppress) add(value_type());
    if (t.inner) add(*t.inner);
    if (!t.closing.empty()) {
      type closed = manager_type();
      closed.declared = t.closing;
      add(closed);
    }
    if (!t.aclosing.empty()) {
      type closed = manager_type();
      closed.declared = t.aclosing;
      add(closed);
    }
    return r ? *r : value_type();
  }

  // ------------------------------------------------------------------ classes
  void classes(program& p) {
    const std::size_t want = target_ ? target_->classes.size() : 0;
    const auto most = static_cast<std::size_t>(std::max(0, limits_.max_classes));
    const int n = static_cast<int>(decide(most + 1, std::min(want, most)));
    for (int i = 0; i < n; ++i) {
      const class_decl* w = at(target_ ? &target_->classes : nullptr, i);
      class_decl c;
      c.name = "E" + std::to_string(i + 1);
      if (w) decl_names_[w->name] = c.name;
      c.base = choose(class_names_, w ? index_of(class_names_, mapped(w->base)) : 0);
      class_names_.push_back(c.name);
      p.classes.push_back(std::move(c));
    }
  }

  // ------------------------------------------------------------------ code declarations
  enum class dk : std::uint8_t {
    def,
    exit_def,
    cm,
    generator,
    async_def,
    async_exit_def,
    acm,
    async_generator
  };

  static dk kind_of(const cm_decl& c) { return c.is_async ? dk::acm : dk::cm; }
  static dk kind_of(const function_decl& f) {
    if (f.generator) return f.is_async ? dk::async_generator : dk::generator;
    if (f.exit_signature) return f.is_async ? dk::async_exit_def : dk::exit_def;
    return f.is_async ? dk::async_def : dk::def;
  }

  // The target's code declarations in an order the generator can make them in: everything a
  // declaration mentions comes first; otherwise in the order of the generator's own names
  // (which number declarations in the order they were made), then in source order.
  struct target_decl {
    const cm_decl* cm = nullptr;
    const function_decl* fn = nullptr;
    const std::string& name() const { return cm ? cm->name : fn->name; }
  };
  static void mentions(const expr& e, std::set<std::string>& out) {
    std::visit(
        [&](const auto& n) {
          using N = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<N, name_ref>) out.insert(n.name);
          if constexpr (std::is_same_v<N, call_expr>) {
            out.insert(n.callee);
            for (const auto& a : n.args) mentions(a, out);
          }
          if constexpr (std::is_same_v<N, tuple_expr>)
            for (const auto& a : n.items) mentions(a, out);
          if constexpr (std::is_same_v<N, method_call>)
            for (const auto& a : n.args) mentions(a, out);
        },
        e.node);
  }
  static void mentions(const block& b, std::set<std::string>& out) {
    for (const auto& s : b) {
      std::visit(
          [&](const auto& n) {
            using N = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<N, mark_stmt>)
              for (const auto& v : n.values) mentions(v, out);
            if constexpr (std::is_same_v<N, assign_stmt> || std::is_same_v<N, set_attribute_stmt>)
              mentions(n.value, out);
            if constexpr (std::is_same_v<N, raise_stmt>) {
              if (n.exception) mentions(*n.exception, out);
              if (n.cause) mentions(*n.cause, out);
            }
            if constexpr (std::is_same_v<N, return_stmt> || std::is_same_v<N, yield_stmt>)
              if (n.value) mentions(*n.value, out);
            if constexpr (std::is_same_v<N, expr_stmt>) mentions(n.value, out);
            if constexpr (std::is_same_v<N, await_stmt>) mentions(n.call, out);
            if constexpr (std::is_same_v<N, with_stmt>) {
              for (const auto& i : n.items) mentions(i.manager, out);
              mentions(n.body, out);
            }
            if constexpr (std::is_same_v<N, try_stmt>) {
              mentions(n.body, out);
              for (const auto& h : n.handlers) mentions(h.body, out);
              if (n.final_block) mentions(*n.final_block, out);
            }
            if constexpr (std::is_same_v<N, if_stmt>) {
              mentions(n.then_block, out);
              if (n.else_block) mentions(*n.else_block, out);
            }
          },
          s.node);
    }
  }
  static long generated_number(const std::string& n) {
    std::size_t i = 0;
    while (i < n.size() && (n[i] < '0' || n[i] > '9')) ++i;
    if (i == 0 || i == n.size() || n.size() - i > 6) return -1;
    for (std::size_t j = i; j < n.size(); ++j)
      if (n[j] < '0' || n[j] > '9') return -1;
    return std::stol(n.substr(i));
  }
  std::vector<target_decl> ordered_target_decls() const {
    std::vector<target_decl> all;
    for (const auto& c : target_->cms) all.push_back({&c, nullptr});
    for (const auto& f : target_->functions) all.push_back({nullptr, &f});
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < all.size(); ++i) index.emplace(all[i].name(), i);
    std::vector<std::set<std::size_t>> needs(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::set<std::string> names;
      if (const cm_decl* c = all[i].cm) {
        for (const auto* b : {&c->enter, &c->exit, &c->close})
          if (*b) mentions(**b, names);
      } else {
        mentions(all[i].fn->body, names);
        if (all[i].fn->decorator) mentions(*all[i].fn->decorator, names);
      }
      for (const auto& n : names)
        if (auto it = index.find(n); it != index.end() && it->second != i)
          needs[i].insert(it->second);
    }
    auto key = [&](std::size_t i) {
      const long number = generated_number(all[i].name());
      const source_pos at = all[i].cm ? all[i].cm->at : all[i].fn->at;
      return std::make_tuple(number < 0 ? 1L << 30 : number, at.line, at.column, i);
    };
    std::vector<target_decl> out;
    std::vector<char> done(all.size(), 0);
    while (out.size() < all.size()) {
      // The smallest ready declaration; on a cycle (the target does not check), the smallest.
      std::optional<std::size_t> best, fallback;
      for (std::size_t i = 0; i < all.size(); ++i) {
        if (done[i]) continue;
        if (!fallback || key(i) < key(*fallback)) fallback = i;
        const bool ready = std::all_of(needs[i].begin(), needs[i].end(),
                                       [&](std::size_t j) { return done[j] != 0; });
        if (ready && (!best || key(i) < key(*best))) best = i;
      }
      const std::size_t pick = best ? *best : *fallback;
      done[pick] = 1;
      out.push_back(all[pick]);
    }
    return out;
  }

  void declarations(program& p) {
    std::vector<target_decl> wanted;
    if (target_) wanted = ordered_target_decls();
    int cms = 0, functions = 0;
    for (std::size_t i = 0;; ++i) {
      const target_decl* w = at(&wanted, i);
      small_vector<dk> options;
      // Each body needs a statement (a generator's two: the body and a yield), besides the
      // top level's.
      if (functions < limits_.max_functions && affordable(1)) {
        options.push_back(dk::def);
        options.push_back(dk::exit_def);
        if (limits_.allow_generators && affordable(2)) options.push_back(dk::generator);
        if (limits_.allow_async) {
          options.push_back(dk::async_def);
          options.push_back(dk::async_exit_def);
          if (limits_.allow_async_generators && affordable(2))
            options.push_back(dk::async_generator);
        }
      }
      if (cms < limits_.max_cms) {
        options.push_back(dk::cm);
        if (limits_.allow_async) options.push_back(dk::acm);
      }
      if (options.empty() || !decide_bool(w != nullptr)) break;
      const dk want_kind = !w ? dk::def : w->cm ? kind_of(*w->cm) : kind_of(*w->fn);
      const dk k = choose(options, index_of(options, want_kind));
      const bool kind_matches = w && k == want_kind;
      const std::string name = std::string(k == dk::cm                ? "C"
                                           : k == dk::acm             ? "A"
                                           : k == dk::exit_def        ? "x"
                                           : k == dk::async_exit_def  ? "ax"
                                           : k == dk::generator       ? "g"
                                           : k == dk::async_generator ? "ag"
                                           : k == dk::async_def       ? "af"
                                                                      : "f") +
                               std::to_string(decls_.size() + 1);
      if (w) decl_names_[w->name()] = name;
      if (k == dk::cm || k == dk::acm) {
        ++cms;
        p.cms.push_back(gen_cm(name, k == dk::acm, kind_matches ? w->cm : nullptr));
      } else {
        ++functions;
        p.functions.push_back(gen_function(name, k, kind_matches ? w->fn : nullptr));
      }
    }
  }

  std::vector<param> gen_params(const std::vector<param>* want,
                                std::map<std::string, std::string>& renamed) {
    std::vector<param> ps;
    const std::size_t n = decide(3, want ? std::min<std::size_t>(want->size(), 2) : 0);
    for (std::size_t i = 0; i < n; ++i) {
      const param* w = at(want, i);
      param p;
      p.name = "p" + std::to_string(i + 1);
      p.type = static_cast<param_type>(decide(3, w ? static_cast<std::size_t>(w->type) : 0));
      if (w) renamed[w->name] = p.name;
      ps.push_back(std::move(p));
    }
    return ps;
  }

  // A frame for a declaration's body: it sees the declarations made before it.
  frame body_frame(frame::where place, bool async_ok) {
    frame f;
    f.place = place;
    f.async_ok = async_ok;
    f.usable = decls_.size();
    return f;
  }

  cm_decl gen_cm(const std::string& name, bool is_async, const cm_decl* want) {
    cm_decl c;
    c.name = name;
    c.is_async = is_async;
    std::map<std::string, std::string> renamed;
    c.params = gen_params(want ? &want->params : nullptr, renamed);
    decl_info info;
    info.name = name;
    info.is_cm = true;
    info.is_async = is_async;
    info.params = c.params;
    auto method = [&](const std::optional<block>* wanted_block, bool enter, bool exit) {
      std::optional<block> out;
      const block* w = wanted_block && *wanted_block ? &**wanted_block : nullptr;
      if (!affordable(1) || !decide_bool(w != nullptr)) return out;
      ++reserved_;
      frame f = body_frame(frame::where::method, is_async);
      f.self_cm = name;
      f.enter = enter;
      f.renamed = renamed;
      frames_.push_back(std::move(f));
      push_scope();
      for (const auto& p : c.params) {
        type t = p.type == param_type::exception ? exception_type(true, true)
                 : p.type == param_type::stack   ? of_kind(kind::stack)
                                                 : value_type();
        bind(p.name, t, /*read_only=*/true);
      }
      if (exit) {
        bind("exc", of_kind(kind::exception_or_none));
        if (want) cur().renamed[want->exit_param] = "exc";
      }
      out = gen_block(w, /*nested=*/false);
      if (enter) {
        const block& b = *out;
        const bool falls_off = !(std::holds_alternative<return_stmt>(b.back().node) ||
                                 std::holds_alternative<raise_stmt>(b.back().node));
        if (falls_off || cur().returns.empty()) cur().returns.push_back(value_type());
        type r = cur().returns.front();
        for (std::size_t i = 1; i < cur().returns.size(); ++i) r = join(r, cur().returns[i]);
        info.result = r;
      }
      frames_.pop_back();
      return out;
    };
    c.enter = method(want ? &want->enter : nullptr, true, false);
    c.exit = method(want ? &want->exit : nullptr, false, true);
    if (c.exit) c.exit_param = "exc";
    c.close = method(want ? &want->close : nullptr, false, false);
    info.has_close = c.close.has_value();
    decls_.push_back(std::move(info));
    return c;
  }

  function_decl gen_function(const std::string& name, dk k, const function_decl* want) {
    function_decl f;
    f.name = name;
    f.is_async = k == dk::async_def || k == dk::async_exit_def || k == dk::async_generator;
    f.generator = k == dk::generator || k == dk::async_generator;
    f.exit_signature = k == dk::exit_def || k == dk::async_exit_def;
    std::map<std::string, std::string> renamed;
    if (f.exit_signature) {
      f.params.push_back(param{"exc", param_type::value});
      if (want && !want->params.empty()) renamed[want->params[0].name] = "exc";
    } else {
      f.params = gen_params(want ? &want->params : nullptr, renamed);
    }
    if (!f.generator) f.decorator = gen_decorator(f, want ? &want->decorator : nullptr);

    // The body's statement, and a generator's yield in case the body has none, were reserved
    // when this declaration was chosen.
    ++reserved_;
    if (f.generator) ++reserved_;
    frame fr = body_frame(frame::where::function, f.is_async);
    fr.generator = f.generator;
    fr.yield_reserved = f.generator;
    fr.renamed = std::move(renamed);
    frames_.push_back(std::move(fr));
    push_scope();
    if (f.exit_signature) {
      bind("exc", of_kind(kind::exception_or_none));
    } else {
      for (const auto& p : f.params) {
        type t = p.type == param_type::exception ? exception_type(true, true)
                 : p.type == param_type::stack   ? of_kind(kind::stack)
                                                 : value_type();
        bind(p.name, t);
      }
    }
    f.body = gen_block(want ? &want->body : nullptr, /*nested=*/false);
    decl_info info;
    info.name = name;
    info.is_async = f.is_async;
    info.generator = f.generator;
    info.exit_signature = f.exit_signature;
    info.params = f.params;
    if (f.generator) {
      if (cur().yield_reserved) {
        cur().yield_reserved = false;
        // Python makes a function a generator only if it yields: put one in the body.
        --reserved_;
        --budget_;
        // Encoding: where the target has its first top-level yield, and what it yields.
        std::size_t where_hint = 0;
        const yield_stmt* wy = nullptr;
        for (std::size_t i = 0; want && i < want->body.size() && !wy; ++i)
          if ((wy = as<yield_stmt>(&want->body[i]))) where_hint = i;
        const std::string wanted_value = wy && wy->value ? mapped_name(&*wy->value) : "";
        std::size_t value_hint = npos;
        for (std::size_t i = 0; i < f.params.size(); ++i)
          if (f.params[i].name == wanted_value) value_hint = i;
        const std::size_t where = decide(f.body.size() + 1, where_hint);
        yield_stmt y;
        if (!f.params.empty() && decide_bool(value_hint != npos)) {
          const std::size_t i = decide(f.params.size(), value_hint);
          y.value = name_expr(f.params[i].name);
          cur().yield_types.push_back(f.params[i].type == param_type::exception
                                          ? exception_type(true, true)
                                      : f.params[i].type == param_type::stack ? of_kind(kind::stack)
                                                                              : value_type());
        } else {
          cur().yield_types.push_back(value_type());
        }
        f.body.insert(f.body.begin() + static_cast<std::ptrdiff_t>(where), make_stmt(std::move(y)));
      }
      type r = cur().yield_types.front();
      for (std::size_t i = 1; i < cur().yield_types.size(); ++i) r = join(r, cur().yield_types[i]);
      info.result = r;
    }
    frames_.pop_back();
    decls_.push_back(std::move(info));
    return f;
  }

  // `@C(ARGS)` / `@g(ARGS)` above a def: a cm (acm above an async def) or a generator function of
  // the same syncness, made before; its arguments see no variables.
  std::optional<expr> gen_decorator(const function_decl& f, const std::optional<expr>* want) {
    frame fr = body_frame(frame::where::decorator, false);
    frames_.push_back(std::move(fr));
    push_scope();
    id_list ids = usable_decls([&](const decl_info& d) {
      return (d.is_cm || d.generator) && d.is_async == f.is_async && can_make_args(d.params);
    });
    const call_expr* w = want && *want ? as<call_expr>(&**want) : nullptr;
    std::optional<expr> out;
    std::size_t hint = 0;
    if (w)
      hint = [&] {
        const std::size_t i = decl_hint(ids, mapped(w->callee));
        return i == npos ? npos : i + 1;
      }();
    if (!ids.empty()) {
      const std::size_t k = decide(ids.size() + 1, hint);
      if (k > 0) {
        const decl_info& d = decls_[ids[k - 1]];
        out = call(d.name, gen_args(d.params, w ? &w->args : nullptr, 1));
      }
    }
    frames_.pop_back();
    return out;
  }

  // ------------------------------------------------------------------ blocks and statements
  // A block; its first statement was reserved by whoever decided to make it.
  block gen_block(const block* want, bool nested) {
    --reserved_;
    if (nested) ++cur().depth;
    push_scope();
    block b;
    b.reserve(4);  // most blocks are short: one allocation, no moves of statements
    b.push_back(gen_stmt(at(want, 0)));
    for (std::size_t i = 1; affordable(1) && decide_bool(want && i < want->size()); ++i)
      b.push_back(gen_stmt(at(want, i)));
    pop_scope();
    if (nested) --cur().depth;
    return b;
  }

  static sk classify(const stmt& s) {
    return std::visit(
        [](const auto& n) -> sk {
          using N = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<N, pass_stmt>) return sk::pass;
          if constexpr (std::is_same_v<N, mark_stmt>) return sk::mark;
          if constexpr (std::is_same_v<N, assign_stmt>) return sk::assign;
          if constexpr (std::is_same_v<N, set_attribute_stmt>) return sk::set_attribute;
          if constexpr (std::is_same_v<N, raise_stmt>) return sk::raise;
          if constexpr (std::is_same_v<N, return_stmt>) return sk::return_;
          if constexpr (std::is_same_v<N, expr_stmt>)
            return std::holds_alternative<method_call>(n.value.node) ? sk::stack_method : sk::call;
          if constexpr (std::is_same_v<N, with_stmt>) return n.is_async ? sk::async_with : sk::with;
          if constexpr (std::is_same_v<N, try_stmt>) return sk::try_;
          if constexpr (std::is_same_v<N, if_stmt>) return sk::if_;
          if constexpr (std::is_same_v<N, yield_stmt>) return sk::yield;
          if constexpr (std::is_same_v<N, await_stmt>) {
            const auto* c = std::get_if<call_expr>(&n.call.node);
            return c && c->callee == "sleep" ? sk::await_sleep : sk::await_call;
          }
          return sk::pass;
        },
        s.node);
  }

  stmt gen_stmt(const stmt* want) {
    --budget_;
    frame& f = cur();
    const bool nest = f.depth < limits_.max_depth;
    // The variables and the callable functions here, looked at once for all the options.
    const var_list vars = visible();
    auto any_variable = [&vars](auto pred) {
      return std::any_of(vars.begin(), vars.end(), [&](const variable* v) { return pred(*v); });
    };
    const bool sync_stack = has_sync_stack(vars);
    auto any_callable = [&](bool async) {
      for (std::size_t i = 0; i < f.usable; ++i) {
        if (callable(decls_[i], async, false, sync_stack)) return true;
      }
      return false;
    };
    small_vector<sk> options{sk::pass, sk::mark, sk::assign, sk::raise};
    if (any_variable([](const variable& v) { return exception_object(v.t); }))
      options.push_back(sk::set_attribute);
    if (any_callable(false)) options.push_back(sk::call);
    if (nest && affordable(1)) options.push_back(sk::with);
    if (nest && affordable(2)) options.push_back(sk::try_);
    if (nest && affordable(1) && !vars.empty()) options.push_back(sk::if_);
    if (f.generator && f.yields < 2) options.push_back(sk::yield);
    if (f.place == frame::where::function || f.place == frame::where::method)
      options.push_back(sk::return_);
    if (f.async_ok) {
      options.push_back(sk::await_sleep);
      if (any_callable(true)) options.push_back(sk::await_call);
      if (nest && affordable(1)) options.push_back(sk::async_with);
    }
    // stack_statements_possible() is not empty: every stack takes push, so statement_methods
    // is never empty.
    if (any_variable([](const variable& v) { return is_stack(v.t.k); }))
      options.push_back(sk::stack_method);

    const sk k = choose(options, want ? index_of(options, classify(*want)) : 0);
    switch (k) {
      case sk::pass:
        return make_stmt(pass_stmt{});
      case sk::mark:
        return make_stmt(gen_mark(as<mark_stmt>(want)));
      case sk::assign:
        return make_stmt(gen_assign(as<assign_stmt>(want)));
      case sk::raise:
        return make_stmt(gen_raise(as<raise_stmt>(want)));
      case sk::set_attribute:
        return make_stmt(gen_set_attribute(as<set_attribute_stmt>(want)));
      case sk::call:
        return make_stmt(gen_call_statement(as<expr_stmt>(want)));
      case sk::with:
      case sk::async_with:
        return make_stmt(gen_with(as<with_stmt>(want), k == sk::async_with));
      case sk::try_:
        return make_stmt(gen_try(as<try_stmt>(want)));
      case sk::if_:
        return make_stmt(gen_if(as<if_stmt>(want)));
      case sk::yield:
        return make_stmt(gen_yield(as<yield_stmt>(want)));
      case sk::return_:
        return make_stmt(gen_return(as<return_stmt>(want)));
      case sk::await_sleep:
        return make_stmt(await_stmt{call("sleep")});
      case sk::await_call:
        return make_stmt(gen_await_call(as<await_stmt>(want)));
      case sk::stack_method:
        return make_stmt(gen_stack_statement(as<expr_stmt>(want)));
    }
    return make_stmt(pass_stmt{});
  }

  mark_stmt gen_mark(const mark_stmt* want) {
    mark_stmt m;
    const std::size_t n =
        1 + decide(3, want ? std::min<std::size_t>(want->values.size(), 3) - 1 : 0);
    m.values.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      m.values.push_back(gen_value(at(want ? &want->values : nullptr, i), 0).e);
    return m;
  }

  // `v = EXPR`: a new variable, or a variable rebound to a value of a kind it keeps.
  assign_stmt gen_assign(const assign_stmt* want) {
    auto rebindable = visible_if([](const variable& v) {
      return !v.read_only && !v.narrowed && !v.t.cm &&
             (v.t.k == kind::value || v.t.k == kind::exception || v.t.k == kind::exception_or_none);
    });
    std::size_t hint = 0;
    if (want) {
      const std::string target = mapped(want->target);
      const std::size_t i = variable_hint(rebindable, target);
      hint = i == npos ? 0 : i + 1;
    }
    const std::size_t k = decide(rebindable.size() + 1, hint);
    assign_stmt a;
    if (k > 0) {
      variable* v = const_cast<variable*>(rebindable[k - 1]);
      a.target = v->name;
      const expr* w = want ? &want->value : nullptr;
      if (v->t.k == kind::value) {
        a.value = gen_literal(w);
      } else if (v->t.k == kind::exception_or_none) {
        const bool none = decide_bool(!w || !as<none_literal>(w)) == false;
        a.value = none ? make(none_literal{}) : gen_new_exception(w);
      } else {
        typed e = gen_exception(w, /*variables=*/false);
        a.value = std::move(e.e);
        v->t = join(v->t, e.t);
      }
      return a;
    }
    // A new variable.
    const expr* w = want ? &want->value : nullptr;
    enum class form : std::uint8_t { value, stack_value, new_stack };
    small_vector<form> forms{form::value};
    if (!stack_values_possible().empty()) forms.push_back(form::stack_value);
    if (cur().place == frame::where::main) forms.push_back(form::new_stack);
    form wanted = form::value;
    if (as<method_call>(w)) wanted = form::stack_value;
    if (const call_expr* c = as<call_expr>(w);
        c && (c->callee == "ExitStack" || c->callee == "AsyncExitStack" ||
              c->callee == "NeutralExitStack"))
      wanted = form::new_stack;
    const form f = choose(forms, w ? index_of(forms, wanted) : 0);
    typed value;
    if (f == form::value) {
      value = gen_value(w, 0);
    } else if (f == form::stack_value) {
      value = gen_stack_value(as<method_call>(w));
    } else {
      std::vector<std::string> ctors{"ExitStack"};
      if (limits_.allow_async) {
        ctors.push_back("AsyncExitStack");
        ctors.push_back("NeutralExitStack");
      }
      const call_expr* c = as<call_expr>(w);
      const std::string ctor = choose(ctors, c ? index_of(ctors, c->callee) : 0);
      value.e = call(ctor);
      value.t = of_kind(ctor == "ExitStack"        ? kind::stack
                        : ctor == "AsyncExitStack" ? kind::async_stack
                                                   : kind::neutral);
    }
    a.target = fresh_variable(want ? &want->target : nullptr);
    a.value = std::move(value.e);
    bind(a.target, std::move(value.t));
    return a;
  }

  raise_stmt gen_raise(const raise_stmt* want) {
    // 0: raise X, 1: raise X from Y, 2: bare raise (in a handler).
    small_vector<int> forms{0, 1};
    if (cur().handlers > 0) forms.push_back(2);
    int wanted = !want ? 0 : !want->exception ? 2 : want->cause ? 1 : 0;
    const int f = choose(forms, want ? index_of(forms, wanted) : 0);
    raise_stmt r;
    if (f == 2) return r;
    r.exception = gen_exception(want && want->exception ? &*want->exception : nullptr, true).e;
    if (f == 1) r.cause = gen_cause(want && want->cause ? &*want->cause : nullptr);
    return r;
  }

  set_attribute_stmt gen_set_attribute(const set_attribute_stmt* want) {
    auto objects = visible_if([](const variable& v) { return exception_object(v.t); });
    set_attribute_stmt s;
    s.target = choose(objects, want ? variable_hint(objects, mapped(want->target)) : 0)->name;
    s.attribute = static_cast<exception_attribute>(
        decide(3, want ? static_cast<std::size_t>(want->attribute) : 0));
    const expr* w = want ? &want->value : nullptr;
    switch (s.attribute) {
      case exception_attribute::context:
        // None or a new object: never an existing exception, which could close a cycle.
        s.value =
            decide_bool(w && !as<none_literal>(w)) ? gen_new_exception(w) : make(none_literal{});
        break;
      case exception_attribute::cause: {
        auto values = visible_if([](const variable& v) {
          return exception_object(v.t) || v.t.k == kind::exception_or_none;
        });
        small_vector<int> forms{0, 1};  // None, a new object
        if (!values.empty()) forms.push_back(2);
        int wanted = !w || as<none_literal>(w) ? 0 : as<name_ref>(w) ? 2 : 1;
        const int f = choose(forms, w ? index_of(forms, wanted) : 0);
        if (f == 0) s.value = make(none_literal{});
        if (f == 1) s.value = gen_new_exception(w);
        if (f == 2)
          s.value = name_expr(choose(values, variable_hint(values, mapped_name(w)))->name);
        break;
      }
      case exception_attribute::suppress_context: {
        const bool_literal* b = as<bool_literal>(w);
        s.value = make(bool_literal{decide_bool(b && b->value)});
        break;
      }
    }
    return s;
  }

  // Declared functions that can be called here: sync defs as statements (`f(...)`), async defs
  // with await; never exit functions or generator functions.
  id_list callables(bool async, bool either) {
    const bool sync_stack = !sync_stacks().empty();
    return usable_decls([&](const decl_info& d) { return callable(d, async, either, sync_stack); });
  }
  // Whether `d` is among callables(async, either), `sync_stack` telling whether an ExitStack
  // variable is visible (can_make_args).
  static bool callable(const decl_info& d, bool async, bool either, bool sync_stack) {
    if (d.is_cm || d.generator || d.exit_signature || (!either && d.is_async != async))
      return false;
    return can_make_args(d.params, sync_stack);
  }

  expr_stmt gen_call_statement(const expr_stmt* want) {
    const call_expr* w = want ? as<call_expr>(&want->value) : nullptr;
    id_list ids = callables(false, false);
    const decl_info& d = decls_[choose(ids, w ? decl_hint(ids, mapped(w->callee)) : 0)];
    return expr_stmt{call(d.name, gen_args(d.params, w ? &w->args : nullptr, 1))};
  }

  await_stmt gen_await_call(const await_stmt* want) {
    const call_expr* w = want ? as<call_expr>(&want->call) : nullptr;
    id_list ids = callables(true, false);
    const decl_info& d = decls_[choose(ids, w ? decl_hint(ids, mapped(w->callee)) : 0)];
    return await_stmt{call(d.name, gen_args(d.params, w ? &w->args : nullptr, 1))};
  }

  std::vector<expr> gen_args(const std::vector<param>& ps, const std::vector<expr>* want,
                             int depth) {
    std::vector<expr> args;
    args.reserve(ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const expr* w = at(want, i);
      switch (ps[i].type) {
        case param_type::value:
          args.push_back(gen_value(w, depth).e);
          break;
        case param_type::exception:
          args.push_back(gen_exception(w, true).e);
          break;
        case param_type::stack: {
          auto stacks = sync_stacks();
          args.push_back(name_expr(choose(stacks, variable_hint(stacks, mapped_name(w)))->name));
          break;
        }
      }
    }
    return args;
  }

  with_stmt gen_with(const with_stmt* want, bool is_async) {
    with_stmt s;
    s.is_async = is_async;
    ++reserved_;   // the body
    push_scope();  // the as-names: visible in later items and the body
    const std::size_t n =
        1 + decide(3, want ? std::min<std::size_t>(want->items.size(), 3) - 1 : 0);
    s.items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const with_item* w = at(want ? &want->items : nullptr, i);
      typed m = gen_manager(w ? &w->manager : nullptr, is_async, true, 0);
      with_item item{std::move(m.e), std::nullopt};
      if (decide_bool(w && w->as)) {
        item.as = fresh_variable(w && w->as ? &*w->as : nullptr);
        bind(*item.as, as_type(m.t));
      }
      s.items.push_back(std::move(item));
    }
    s.body = gen_block(want ? &want->body : nullptr, true);
    pop_scope();
    return s;
  }

  try_stmt gen_try(const try_stmt* want) {
    try_stmt t;
    const int room = budget_ - reserved_ - 1;  // after the body (>= 1: try needs two more)
    const std::size_t most = static_cast<std::size_t>(std::min(2, room));
    const std::size_t n =
        decide(most + 1, want ? std::min<std::size_t>(want->handlers.size(), most) : 0);
    const bool final_block =
        n == 0 || (room - static_cast<int>(n) >= 1 && decide_bool(want && want->final_block));
    reserved_ += 1 + static_cast<int>(n) + (final_block ? 1 : 0);
    t.body = gen_block(want ? &want->body : nullptr, true);
    for (std::size_t i = 0; i < n; ++i) {
      const except_clause* w = at(want ? &want->handlers : nullptr, i);
      t.handlers.push_back(gen_handler(w, i + 1 == n));
    }
    if (final_block)
      t.final_block = gen_block(want && want->final_block ? &*want->final_block : nullptr, true);
    return t;
  }

  except_clause gen_handler(const except_clause* want, bool last) {
    except_clause h;
    // 0: one class, 1: a tuple of one, 2: a tuple of two, 3: bare (last handler only).
    small_vector<int> forms{0, 1, 2};
    if (last) forms.push_back(3);
    int wanted = 0;
    if (want) {
      wanted = want->classes.empty() ? 3 : !want->tuple ? 0 : want->classes.size() == 1 ? 1 : 2;
    }
    const int f = choose(forms, want ? index_of(forms, wanted) : 0);
    const std::vector<std::string>& names = class_names();
    auto pick_class = [&](std::size_t i) {
      const std::string* w = want && i < want->classes.size() ? &want->classes[i] : nullptr;
      return choose(names, w ? index_of(names, mapped(*w)) : 0);
    };
    if (f != 3) {
      h.classes.push_back(pick_class(0));
      if (f == 2) h.classes.push_back(pick_class(1));
      h.tuple = f != 0;
    }
    push_scope();
    if (decide_bool(want && want->as)) {
      h.as = fresh_variable(want && want->as ? &*want->as : nullptr);
      bind(*h.as, exception_type(false, true));
    }
    ++cur().handlers;
    h.body = gen_block(want ? &want->body : nullptr, true);
    --cur().handlers;
    pop_scope();
    return h;
  }

  if_stmt gen_if(const if_stmt* want) {
    if_stmt i;
    auto vs = visible();
    const variable* v = choose(vs, want ? variable_hint(vs, mapped(want->name)) : 0);
    i.name = v->name;
    i.negated = decide_bool(want && want->negated);
    const bool has_else = affordable(2) && decide_bool(want && want->else_block);
    reserved_ += has_else ? 2 : 1;
    const bool narrows = v->t.k == kind::exception_or_none && !v->narrowed;
    const variable view{v->name, exception_type(false, true), false, true};
    auto branch = [&](const block* w, bool true_branch) {
      push_scope();
      if (narrows && true_branch) cur().scopes.back().push_back(view);
      block b = gen_block(w, true);
      pop_scope();
      return b;
    };
    i.then_block = branch(want ? &want->then_block : nullptr, !i.negated);
    if (has_else)
      i.else_block = branch(want && want->else_block ? &*want->else_block : nullptr, i.negated);
    return i;
  }

  yield_stmt gen_yield(const yield_stmt* want) {
    yield_stmt y;
    ++cur().yields;
    if (cur().yield_reserved) {  // the body has its yield: the spare statement is free again
      cur().yield_reserved = false;
      --reserved_;
    }
    if (decide_bool(want && want->value)) {
      typed v = gen_value(want && want->value ? &*want->value : nullptr, 0);
      y.value = std::move(v.e);
      cur().yield_types.push_back(std::move(v.t));
    } else {
      cur().yield_types.push_back(value_type());
    }
    return y;
  }

  return_stmt gen_return(const return_stmt* want) {
    return_stmt r;
    // A generator's return carries no value (ctxlib's contextmanager has none to carry).
    if (!cur().generator && decide_bool(want && want->value)) {
      typed v = gen_value(want && want->value ? &*want->value : nullptr, 0);
      r.value = std::move(v.e);
      if (cur().enter) cur().returns.push_back(std::move(v.t));
    } else if (cur().enter) {
      cur().returns.push_back(value_type());
    }
    return r;
  }

  // ------------------------------------------------------------------ exit stacks
  id_list exit_functions(bool sync, bool async) {
    return usable_decls([&](const decl_info& d) {
      return !d.is_cm && d.exit_signature && (d.is_async ? async : sync);
    });
  }

  // The statements a stack of kind k takes here.
  method_list statement_methods(kind k) {
    const bool a = cur().async_ok;
    method_list out;
    if (k == kind::neutral) {
      if (a) out.push_back(stack_method::enter_context);
      out.push_back(stack_method::push);
      if (!callables(false, true).empty()) out.push_back(stack_method::callback);
      if (a) out.push_back(stack_method::aclose);
      return out;
    }
    out.push_back(stack_method::enter_context);
    out.push_back(stack_method::push);
    if (!callables(false, false).empty()) out.push_back(stack_method::callback);
    if (k == kind::stack) {
      out.push_back(stack_method::close);
      return out;
    }
    if (a) out.push_back(stack_method::enter_async_context);
    out.push_back(stack_method::push_async_exit);
    if (!callables(true, false).empty()) out.push_back(stack_method::push_async_callback);
    if (a) out.push_back(stack_method::aclose);
    return out;
  }
  // The values a stack of kind k gives here (`v = s.enter_context(X)`, `t = s.pop_all()`).
  method_list value_methods(kind k) {
    const bool a = cur().async_ok;
    // An unclosed stack from pop_all() is bound only at top level, where Python keeps it until
    // the program ends (a function's would be dropped, and its generators collected, early).
    const bool main = cur().place == frame::where::main;
    method_list out;
    if (k != kind::neutral || a) out.push_back(stack_method::enter_context);
    if (k == kind::async_stack && a) out.push_back(stack_method::enter_async_context);
    if (main) out.push_back(stack_method::pop_all);
    return out;
  }
  var_list stack_statements_possible() {
    return visible_if(
        [&](const variable& v) { return is_stack(v.t.k) && !statement_methods(v.t.k).empty(); });
  }
  var_list stack_values_possible() {
    return visible_if(
        [&](const variable& v) { return is_stack(v.t.k) && !value_methods(v.t.k).empty(); });
  }

  // A stack among `stacks` and one of the methods `methods_of` gives for its kind.
  struct stack_call {
    kind k;
    method_call mc;
    const expr* arg;  // encoding: the target's first argument
  };
  stack_call choose_stack_call(const var_list& stacks, method_list (generator::*methods_of)(kind),
                               const method_call* w) {
    const variable* s = choose(stacks, w ? variable_hint(stacks, mapped(w->object)) : 0);
    method_list methods = (this->*methods_of)(s->t.k);
    method_call mc;
    mc.object = s->name;
    mc.method = choose(methods, w ? index_of(methods, w->method) : 0);
    return stack_call{s->t.k, std::move(mc), w && !w->args.empty() ? &w->args[0] : nullptr};
  }

  expr_stmt gen_stack_statement(const expr_stmt* want) {
    const method_call* w = want ? as<method_call>(&want->value) : nullptr;
    auto [k, mc, arg] =
        choose_stack_call(stack_statements_possible(), &generator::statement_methods, w);
    const stack_method m = mc.method;
    switch (m) {
      case stack_method::enter_context:
        if (k == kind::neutral) {
          mc.awaited = true;
          mc.args.push_back(gen_neutral_entry(arg, false).e);
        } else {
          mc.args.push_back(gen_manager(arg, false, true, 0).e);
        }
        break;
      case stack_method::enter_async_context:
        mc.awaited = true;
        mc.args.push_back(gen_manager(arg, true, true, 0).e);
        break;
      case stack_method::push:
        mc.args.push_back(k == kind::neutral ? gen_neutral_entry(arg, true).e
                                             : gen_exit(arg, false));
        break;
      case stack_method::push_async_exit:
        mc.args.push_back(gen_exit(arg, true));
        break;
      case stack_method::callback:
      case stack_method::push_async_callback: {
        id_list ids = m == stack_method::push_async_callback ? callables(true, false)
                      : k == kind::neutral                   ? callables(false, true)
                                                             : callables(false, false);
        const decl_info& d = decls_[choose(ids, arg ? decl_hint(ids, mapped_name(arg)) : 0)];
        std::vector<expr> rest;
        if (w && w->args.size() > 1) rest.assign(w->args.begin() + 1, w->args.end());
        mc.args = gen_args(d.params, w ? &rest : nullptr, 1);
        mc.args.insert(mc.args.begin(), name_expr(d.name));
        break;
      }
      case stack_method::close:
        break;
      case stack_method::aclose:
        mc.awaited = true;
        break;
      case stack_method::pop_all:
        break;  // never a statement (its result must be used)
    }
    return expr_stmt{make(std::move(mc))};
  }

  typed gen_stack_value(const method_call* want) {
    auto [k, mc, arg] = choose_stack_call(stack_values_possible(), &generator::value_methods, want);
    const stack_method m = mc.method;
    type t;
    if (m == stack_method::pop_all) {
      t = of_kind(k);
    } else {
      typed entered = k == kind::neutral
                          ? gen_neutral_entry(arg, false)
                          : gen_manager(arg, m == stack_method::enter_async_context, true, 0);
      mc.awaited = k == kind::neutral || m == stack_method::enter_async_context;
      t = as_type(entered.t);
      mc.args.push_back(std::move(entered.e));
    }
    return typed{make(std::move(mc)), std::move(t)};
  }

  // What a NeutralExitStack's enter_context / push takes: a manager that is certainly sync or
  // certainly async, or (push) an exit function of either kind.
  typed gen_neutral_entry(const expr* want, bool push) {
    id_list exits = push ? exit_functions(true, true) : id_list{};
    // 0: a sync manager, 1: an async one, 2: an exit function.
    small_vector<int> forms{0, 1};
    if (!exits.empty()) forms.push_back(2);
    int wanted = 0;
    if (want) {
      const std::string n = as<name_ref>(want) ? mapped_name(want) : "";
      if (const decl_info* d = find_decl(n); d && d->exit_signature)
        wanted = 2;
      else
        wanted = looks_async(want) ? 1 : 0;
    }
    const int f = choose(forms, want ? index_of(forms, wanted) : 0);
    if (f == 2) {
      return typed{name_expr(decls_[choose(exits, decl_hint(exits, mapped_name(want)))].name),
                   value_type()};
    }
    return gen_manager(want, f == 1, true, 0);
  }

  // push's argument: an exit function or a manager (push runs only its exit).
  expr gen_exit(const expr* want, bool async) {
    id_list exits = exit_functions(!async, async);
    const std::size_t wanted_exit = as<name_ref>(want) ? decl_hint(exits, mapped_name(want)) : npos;
    if (!exits.empty() && decide_bool(wanted_exit != npos))
      return name_expr(decls_[choose(exits, wanted_exit)].name);
    return gen_manager(want, async, true, 0).e;
  }

  // Whether a target's manager expression is an async one (for hints only).
  bool looks_async(const expr* e) {
    if (const call_expr* c = as<call_expr>(e)) {
      if (c->callee == "AsyncExitStack" || c->callee == "NeutralExitStack" ||
          c->callee == "aclosing")
        return true;
      if (const decl_info* d = find_decl(mapped(c->callee))) return d->is_async;
      return false;
    }
    if (const name_ref* n = as<name_ref>(e)) {
      for (const variable* v : visible())
        if (v->name == mapped(n->name)) return fits(v->t, true) && !fits(v->t, false);
    }
    if (const method_call* m = as<method_call>(e)) {
      for (const variable* v : visible())
        if (v->name == mapped(m->object)) return v->t.k != kind::stack;
    }
    return false;
  }

  // ------------------------------------------------------------------ managers
  enum class mk : std::uint8_t {
    nullcontext,
    instance,
    generator,
    new_stack,
    new_neutral_stack,
    suppress,
    closing,
    variable,
    pop_all,
  };

  mk manager_kind(const expr* e) {
    if (const call_expr* c = as<call_expr>(e)) {
      const std::string& n = c->callee;
      if (n == "nullcontext") return mk::nullcontext;
      if (n == "ExitStack" || n == "AsyncExitStack") return mk::new_stack;
      if (n == "NeutralExitStack") return mk::new_neutral_stack;
      if (n == "suppress") return mk::suppress;
      if (n == "closing" || n == "aclosing") return mk::closing;
      if (const decl_info* d = find_decl(mapped(n))) return d->is_cm ? mk::instance : mk::generator;
      return mk::nullcontext;
    }
    if (as<name_ref>(e)) return mk::variable;
    if (as<method_call>(e)) return mk::pop_all;
    return mk::nullcontext;
  }

  // Cms / acms made before, whose arguments can be made here (`sync_stack`: has_sync_stack()).
  id_list instances(bool async, bool closable, bool sync_stack) {
    return usable_decls([&](const decl_info& d) {
      return d.is_cm && d.is_async == async && (!closable || d.has_close) &&
             can_make_args(d.params, sync_stack);
    });
  }
  id_list generator_functions(bool async, bool sync_stack) {
    return usable_decls([&](const decl_info& d) {
      return !d.is_cm && d.generator && d.is_async == async && can_make_args(d.params, sync_stack);
    });
  }
  // Of the visible variables `vars`: those that can be entered here.
  var_list manager_variables(bool async, const var_list& vars) {
    return filter(vars, [&](const variable& v) {
      if (v.t.k != kind::value && !is_stack(v.t.k)) return false;
      if (v.t.k == kind::value && !v.t.cm) return false;
      return origins_usable(v.t) && fits(v.t, async);
    });
  }
  var_list closable_variables(bool async, const var_list& vars) {
    return filter(vars, [&](const variable& v) {
      if (!v.t.cm || v.t.declared.empty() || !v.t.closing.empty() || !v.t.aclosing.empty() ||
          v.t.suppress || v.t.inner || !v.t.generators.empty() || !origins_usable(v.t))
        return false;
      return std::all_of(v.t.declared.begin(), v.t.declared.end(),
                         [&](int d) { return decls_[d].has_close && decls_[d].is_async == async; });
    });
  }
  static var_list popping_stacks(bool async, const var_list& vars) {
    return filter(vars, [&](const variable& v) {
      return async ? (v.t.k == kind::async_stack || v.t.k == kind::neutral) : v.t.k == kind::stack;
    });
  }

  typed instance_of(int id, const call_expr* want, int depth) {
    const decl_info& d = decls_[id];
    typed r{call(d.name, gen_args(d.params, want ? &want->args : nullptr, depth + 1)),
            manager_type()};
    (d.is_cm ? r.t.declared : r.t.generators).insert(id);
    return r;
  }

  // A manager for `with` (async: `async with`, enter_async_context...). pop_all() only where its
  // stack is entered or owned at once (a with item, an entered or pushed stack).
  typed gen_manager(const expr* want, bool async, bool allow_pop_all, int depth) {
    small_vector<mk> options{mk::nullcontext};
    const var_list here = visible();
    const bool sync_stack = has_sync_stack(here);
    const auto cms = instances(async, false, sync_stack);
    const auto gens = generator_functions(async, sync_stack);
    const auto closable = instances(async, true, sync_stack);
    const auto closable_vars = closable_variables(async, here);
    const auto vars = manager_variables(async, here);
    const auto popping = allow_pop_all ? popping_stacks(async, here) : var_list{};
    if (!cms.empty()) options.push_back(mk::instance);
    if (!gens.empty()) options.push_back(mk::generator);
    options.push_back(mk::new_stack);
    if (async) options.push_back(mk::new_neutral_stack);
    if (!async) options.push_back(mk::suppress);
    if (!closable.empty() || !closable_vars.empty()) options.push_back(mk::closing);
    if (!vars.empty()) options.push_back(mk::variable);
    if (!popping.empty()) options.push_back(mk::pop_all);
    const mk k = choose(options, want ? index_of(options, manager_kind(want)) : 0);
    const call_expr* wc = as<call_expr>(want);
    switch (k) {
      case mk::nullcontext:
        return gen_nullcontext(wc, depth);
      case mk::instance:
        return instance_of(choose(cms, wc ? decl_hint(cms, mapped(wc->callee)) : 0), wc, depth);
      case mk::generator:
        return instance_of(choose(gens, wc ? decl_hint(gens, mapped(wc->callee)) : 0), wc, depth);
      case mk::new_stack:
        return async ? typed{call("AsyncExitStack"), of_kind(kind::async_stack)}
                     : typed{call("ExitStack"), of_kind(kind::stack)};
      case mk::new_neutral_stack:
        return typed{call("NeutralExitStack"), of_kind(kind::neutral)};
      case mk::suppress:
        return gen_suppress(wc);
      case mk::closing: {
        const expr* inner = wc && !wc->args.empty() ? &wc->args[0] : nullptr;
        typed r{call(async ? "aclosing" : "closing"), manager_type()};
        type closed;
        // 0: a new instance, 1: a variable holding one.
        small_vector<int> forms;
        if (!closable.empty()) forms.push_back(0);
        if (!closable_vars.empty()) forms.push_back(1);
        const int f = choose(forms, index_of(forms, as<name_ref>(inner) ? 1 : 0));
        if (f == 0) {
          const call_expr* ic = as<call_expr>(inner);
          typed i = instance_of(choose(closable, ic ? decl_hint(closable, mapped(ic->callee)) : 0),
                                ic, depth + 1);
          std::get<call_expr>(r.e.node).args.push_back(std::move(i.e));
          closed = std::move(i.t);
        } else {
          const variable* v =
              choose(closable_vars, variable_hint(closable_vars, mapped_name(inner)));
          std::get<call_expr>(r.e.node).args.push_back(name_expr(v->name));
          closed = v->t;
        }
        (async ? r.t.aclosing : r.t.closing) = closed.declared;
        return r;
      }
      case mk::variable: {
        const variable* v = choose(vars, variable_hint(vars, mapped_name(want)));
        return typed{name_expr(v->name), v->t};
      }
      case mk::pop_all: {
        const method_call* wm = as<method_call>(want);
        const variable* v = choose(popping, wm ? variable_hint(popping, mapped(wm->object)) : 0);
        method_call mc;
        mc.object = v->name;
        mc.method = stack_method::pop_all;
        return typed{make(std::move(mc)), of_kind(v->t.k)};
      }
    }
    return typed{call("nullcontext"), manager_type()};
  }

  // nullcontext() / nullcontext(VALUE): binds VALUE (None without one).
  typed gen_nullcontext(const call_expr* want, int depth) {
    typed r{call("nullcontext"), manager_type()};
    const expr* inner =
        want && want->callee == "nullcontext" && !want->args.empty() ? &want->args[0] : nullptr;
    type bound = value_type();
    if (depth < 2 && decide_bool(inner != nullptr)) {
      typed v = gen_value(inner, depth + 1);
      std::get<call_expr>(r.e.node).args.push_back(std::move(v.e));
      bound = std::move(v.t);
    }
    r.t.inner = std::make_shared<const type>(std::move(bound));
    return r;
  }

  typed gen_suppress(const call_expr* want) {
    typed r{call("suppress"), manager_type()};
    r.t.suppress = true;
    const std::vector<std::string>& names = class_names();
    auto pick_class = [&](const expr* w) {
      return name_expr(choose(names, w ? index_of(names, mapped_name(w)) : 0));
    };
    const std::size_t n = decide(3, want ? std::min<std::size_t>(want->args.size(), 2) : 0);
    for (std::size_t i = 0; i < n; ++i) {
      const expr* w = at(want ? &want->args : nullptr, i);
      const tuple_expr* wt = as<tuple_expr>(w);
      if (decide_bool(wt != nullptr)) {
        tuple_expr t;
        const std::size_t items =
            1 + decide(2, wt ? std::min<std::size_t>(wt->items.size(), 2) - 1 : 0);
        for (std::size_t j = 0; j < items; ++j)
          t.items.push_back(pick_class(at(wt ? &wt->items : nullptr, j)));
        std::get<call_expr>(r.e.node).args.push_back(make(std::move(t)));
      } else {
        std::get<call_expr>(r.e.node).args.push_back(pick_class(w));
      }
    }
    return r;
  }

  // ------------------------------------------------------------------ values
  enum class vk : std::uint8_t {
    literal,
    variable,
    class_name,
    new_exception,
    function,
    self,
    instance,
    nullcontext,
    suppress,
    generator,
  };

  vk value_kind(const expr& e) {
    if (as<name_ref>(&e)) {
      const std::string n = mapped_name(&e);
      if (n == "self") return vk::self;
      for (const variable* v : visible())
        if (v->name == n) return vk::variable;
      if (is_class_name(n)) return vk::class_name;
      return vk::function;
    }
    if (const call_expr* c = as<call_expr>(&e)) {
      const std::string n = mapped(c->callee);
      if (is_class_name(n)) return vk::new_exception;
      if (n == "nullcontext") return vk::nullcontext;
      if (n == "suppress") return vk::suppress;
      if (const decl_info* d = find_decl(n)) return d->is_cm ? vk::instance : vk::generator;
    }
    return vk::literal;
  }

  // Any expression usable as a value (mark, arguments, yield, return, assignment). Never a new
  // stack: one made here could hold entries and be dropped unclosed.
  typed gen_value(const expr* want, int depth) {
    const bool compound = depth < 2;
    small_vector<vk> options{vk::literal};
    const auto vars = visible();
    const bool sync_stack = has_sync_stack(vars);
    const auto functions = usable_decls([](const decl_info& d) { return !d.is_cm; });
    const auto cms = usable_decls(
        [&](const decl_info& d) { return d.is_cm && can_make_args(d.params, sync_stack); });
    const auto gens = usable_decls([&](const decl_info& d) {
      return !d.is_cm && d.generator && can_make_args(d.params, sync_stack);
    });
    if (!vars.empty()) options.push_back(vk::variable);
    options.push_back(vk::class_name);
    options.push_back(vk::new_exception);
    if (!functions.empty()) options.push_back(vk::function);
    if (!cur().self_cm.empty()) options.push_back(vk::self);
    if (compound) {
      if (!cms.empty()) options.push_back(vk::instance);
      options.push_back(vk::nullcontext);
      options.push_back(vk::suppress);
      if (!gens.empty()) options.push_back(vk::generator);
    }
    const vk k = choose(options, want ? index_of(options, value_kind(*want)) : 0);
    const call_expr* wc = as<call_expr>(want);
    switch (k) {
      case vk::literal:
        return typed{gen_literal(want), value_type()};
      case vk::variable: {
        const variable* v = choose(vars, variable_hint(vars, mapped_name(want)));
        return typed{name_expr(v->name), v->t};
      }
      case vk::class_name:
      case vk::new_exception:
        return typed{k == vk::class_name ? gen_class_name(want) : gen_new_exception(want),
                     exception_type(k == vk::class_name, k == vk::new_exception)};
      case vk::function:
        return typed{
            name_expr(decls_[choose(functions, decl_hint(functions, mapped_name(want)))].name),
            value_type()};
      case vk::self: {
        type t = manager_type();
        // `self` is the instance of the cm being declared, which is not in decls_ yet: its
        // type names an id no code here may enter (origins_usable is false for it).
        t.declared.insert(static_cast<int>(decls_.size()));
        return typed{name_expr("self"), std::move(t)};
      }
      case vk::instance:
        return instance_of(choose(cms, wc ? decl_hint(cms, mapped(wc->callee)) : 0), wc, depth);
      case vk::generator:
        return instance_of(choose(gens, wc ? decl_hint(gens, mapped(wc->callee)) : 0), wc, depth);
      case vk::nullcontext:
        return gen_nullcontext(wc, depth);
      case vk::suppress:
        return gen_suppress(wc);
    }
    return typed{make(none_literal{}), value_type()};
  }

  expr gen_literal(const expr* want) {
    // 0 None, 1 True, 2 False, 3 an int, 4 a string.
    std::size_t wanted = 0;
    if (const bool_literal* b = as<bool_literal>(want)) wanted = b->value ? 1 : 2;
    if (as<int_literal>(want)) wanted = 3;
    if (as<string_literal>(want)) wanted = 4;
    switch (decide(5, wanted)) {
      case 1:
        return make(bool_literal{true});
      case 2:
        return make(bool_literal{false});
      case 3:
        return make(int_literal{gen_int(as<int_literal>(want))});
      case 4:
        return make(string_literal{gen_string(as<string_literal>(want))});
      default:
        return make(none_literal{});
    }
  }

  std::int64_t gen_int(const int_literal* want) {
    std::size_t hint = 0;
    if (want) {
      auto it = std::find(int_pool.begin(), int_pool.end(), want->value);
      hint =
          it != int_pool.end() ? static_cast<std::size_t>(it - int_pool.begin()) : int_pool.size();
    }
    const std::size_t i = decide(int_pool.size() + 1, hint);
    if (i < int_pool.size()) return int_pool[i];
    // Any other: a sign and a magnitude below 65536.
    const std::int64_t w = want ? want->value : 0;
    const bool negative = decide_bool(w < 0);
    const std::uint64_t m =
        w < 0 ? 0 - static_cast<std::uint64_t>(w) : static_cast<std::uint64_t>(w);
    const auto magnitude = static_cast<std::int64_t>(decide(0x10000, m < 0x10000 ? m : 0));
    return negative ? -magnitude : magnitude;
  }

  std::string gen_string(const string_literal* want) {
    std::size_t hint = 0;
    if (want) {
      auto it = std::find(string_pool.begin(), string_pool.end(), want->value);
      hint = it != string_pool.end() ? static_cast<std::size_t>(it - string_pool.begin())
                                     : string_pool.size();
    }
    const std::size_t i = decide(string_pool.size() + 1, hint);
    if (i < string_pool.size()) return std::string(string_pool[i]);
    const std::string w = want ? want->value : std::string();
    const std::size_t n = decide(max_custom_string + 1, std::min(w.size(), max_custom_string));
    std::string s;
    for (std::size_t j = 0; j < n; ++j)
      s += custom_character(
          decide(custom_characters, j < w.size() ? custom_character_index(w[j]) : 0));
    return s;
  }

  expr gen_class_name(const expr* want) {
    const std::vector<std::string>& names = class_names();
    return name_expr(choose(names, want ? index_of(names, mapped_name(want)) : 0));
  }

  // CLASS(), CLASS(INT), CLASS(STRING): a new exception object.
  expr gen_new_exception(const expr* want) {
    const call_expr* w = as<call_expr>(want);
    const std::vector<std::string>& names = class_names();
    call_expr c;
    c.callee = choose(names, w ? index_of(names, mapped(w->callee)) : 0);
    const expr* arg = w && !w->args.empty() ? &w->args[0] : nullptr;
    const std::size_t form = decide(3, as<int_literal>(arg) ? 1 : as<string_literal>(arg) ? 2 : 0);
    if (form == 1) c.args.push_back(make(int_literal{gen_int(as<int_literal>(arg))}));
    if (form == 2) c.args.push_back(make(string_literal{gen_string(as<string_literal>(arg))}));
    return make(std::move(c));
  }

  // What `raise` takes: a class, a new object, or a variable of kind exception.
  typed gen_exception(const expr* want, bool variables) {
    auto vars = variables ? visible_if([](const variable& v) { return v.t.k == kind::exception; })
                          : var_list{};
    // 0: a class, 1: a new object, 2: a variable.
    small_vector<int> forms{0, 1};
    if (!vars.empty()) forms.push_back(2);
    int wanted = 0;
    if (as<call_expr>(want)) wanted = 1;
    if (as<name_ref>(want) && !is_class_name(mapped_name(want))) wanted = 2;
    const int f = choose(forms, want ? index_of(forms, wanted) : 0);
    if (f == 0) return typed{gen_class_name(want), exception_type(true, false)};
    if (f == 1) return typed{gen_new_exception(want), exception_type(false, true)};
    const variable* v = choose(vars, variable_hint(vars, mapped_name(want)));
    return typed{name_expr(v->name), v->t};
  }

  // What `from` takes: None, an exception, or an exception-or-None variable.
  expr gen_cause(const expr* want) {
    auto maybe = visible_if([](const variable& v) { return v.t.k == kind::exception_or_none; });
    small_vector<int> forms{0, 1};
    if (!maybe.empty()) forms.push_back(2);
    int wanted = 1;
    if (!want || as<none_literal>(want)) wanted = 0;
    if (variable_hint(maybe, mapped_name(want)) != npos) wanted = 2;
    const int f = choose(forms, index_of(forms, wanted));
    if (f == 0) return make(none_literal{});
    if (f == 1) return gen_exception(want, true).e;
    return name_expr(choose(maybe, variable_hint(maybe, mapped_name(want)))->name);
  }

  // ------------------------------------------------------------------ state
  choices* source_;
  generate_limits limits_;
  const program* target_;
  std::vector<std::pair<std::size_t, std::size_t>>* record_;
  int budget_ = 0;
  int reserved_ = 0;
  int variables_ = 0;
  std::vector<std::string> class_names_{builtin_classes.begin(), builtin_classes.end()};
  std::vector<decl_info> decls_;
  std::vector<frame> frames_;
  std::map<std::string, std::string> decl_names_;
};

// Zero picks: with them generation records the decisions an encoding replays.
class no_choices final : public choices {
 public:
  std::size_t pick(std::size_t) override { return 0; }
};

void confirm(program& p) {
  diagnostics errors = check(p, "<generated>");
  if (errors.empty()) return;
  // Positions are those of the printed text, so the message points into it.
  const std::string text = print(p);
  load_result again = load(text, "<generated>");
  std::string message = "ctxmodel::generate built a program that does not check:\n" + text;
  for (const auto& d : again.errors.empty() ? errors : again.errors)
    message += d.to_string() + "\n";
  throw std::logic_error(message);
}

int count_block(const block& b);

int count_statement(const stmt& s) {
  return 1 + std::visit(
                 [](const auto& n) {
                   using N = std::decay_t<decltype(n)>;
                   int c = 0;
                   if constexpr (std::is_same_v<N, with_stmt>) c += count_block(n.body);
                   if constexpr (std::is_same_v<N, try_stmt>) {
                     c += count_block(n.body);
                     for (const auto& h : n.handlers) c += count_block(h.body);
                     if (n.final_block) c += count_block(*n.final_block);
                   }
                   if constexpr (std::is_same_v<N, if_stmt>) {
                     c += count_block(n.then_block);
                     if (n.else_block) c += count_block(*n.else_block);
                   }
                   return c;
                 },
                 s.node);
}

int count_block(const block& b) {
  int c = 0;
  for (const auto& s : b) c += count_statement(s);
  return c;
}

}  // namespace

int count_statements(const program& p) {
  int c = count_block(p.main);
  for (const auto& cm : p.cms)
    for (const auto* m : {&cm.enter, &cm.exit, &cm.close})
      if (*m) c += count_block(**m);
  for (const auto& f : p.functions) c += count_block(f.body);
  return c;
}

program generate(choices& source, const generate_limits& limits) {
  generator g(&source, limits, nullptr, nullptr);
  program p = g.run();
  confirm(p);
  return p;
}

std::vector<std::uint8_t> encode(const program& target, const generate_limits& limits) {
  std::vector<std::pair<std::size_t, std::size_t>> decisions;
  no_choices none;
  generator g(&none, limits, &target, &decisions);
  program built = g.run();
  confirm(built);
  std::vector<std::uint8_t> bytes;
  for (const auto& [value, bound] : decisions) {
    if (bound <= 1) continue;
    const int width = bound <= 0x100 ? 1 : bound <= 0x10000 ? 2 : 4;
    for (int i = 0; i < width; ++i) bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  while (!bytes.empty() && bytes.back() == 0) bytes.pop_back();
  return bytes;
}

}  // namespace ctxmodel
