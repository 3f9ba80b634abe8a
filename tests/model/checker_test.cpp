// Checker: every static rule of docs/language.md, each violated at least once, plus the
// derived kinds (what `with X as v` binds) and the resolution of call kinds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctxmodel/parse.hpp"
#include "test_util.hpp"

namespace ctxmodel {
namespace {

using test::joined;
using test::must_fail;
using test::must_load;

// Shared declarations, prepended to the table's programs (10 lines).
constexpr const char* prelude =
    "class MyError(KeyError)\n"     // 1
    "cm Plain(a, e: exception):\n"  // 2
    "    exit(exc):\n"              // 3
    "        mark exc\n"            // 4
    "cm Closable:\n"                // 5
    "    close:\n"                  // 6
    "        mark 'closed'\n"       // 7
    "def fn(x, e: exception):\n"    // 8
    "    mark x\n"                  // 9
    "def onexit(*exc):\n"           // 10
    "    mark exc\n";               // 11
constexpr int prelude_lines = 11;

struct violation {
  const char* name;
  std::string text;  // after the prelude; line numbers below count from its first line
  int line;
  int column;
  const char* message;
  std::size_t count = 1;  // how many diagnostics in all
};

void PrintTo(const violation& v, std::ostream* os) {
  *os << v.name;
}

const std::vector<violation>& violations() {
  static const std::vector<violation> cases = {
      // names and scoping
      {"unknown_name", "mark nope\n", 1, 6, "unknown name 'nope'"},
      {"with_binding_ends_with_block", "with Plain(1, KeyError) as v:\n    pass\nmark v\n", 3, 6,
       "unknown name 'v'"},
      {"assignment_ends_with_block", "with Plain(1, KeyError):\n    x = 1\nmark x\n", 3, 6,
       "unknown name 'x'"},
      {"try_body_binding_not_in_handler", "try:\n    x = 1\nexcept:\n    mark x\n", 4, 10,
       "unknown name 'x'"},
      {"except_binding_only_in_handler",
       "try:\n    pass\nexcept KeyError as e:\n    pass\nmark e\n", 5, 6, "unknown name 'e'"},
      {"except_name_must_be_new",
       "e = KeyError()\ntry:\n    pass\nexcept KeyError as e:\n    pass\n", 4, 1,
       "'e' is already bound"},
      {"later_item_sees_earlier_as",
       "with Plain(1, KeyError) as v, nullcontext(w) as w:\n    pass\n", 1, 43, "unknown name 'w'"},
      // kinds
      {"rebind_other_kind", "x = 1\nx = KeyError()\n", 2, 1,
       "'x' was first bound as kind value (line 1) and cannot be rebound as kind exception"},
      {"rebind_in_nested_block", "s = ExitStack()\nwith s:\n    s = suppress()\n", 3, 5,
       "first bound as kind stack"},
      {"rebind_by_with_as", "x = KeyError()\nwith ExitStack() as x:\n    pass\n", 2, 6,
       "cannot be rebound as kind stack"},
      {"raise_value", "raise 1\n", 1, 7,
       "'raise' needs an exception class or object, found a value"},
      {"raise_cm", "raise Plain(1, KeyError)\n", 1, 7, "found a context manager"},
      {"raise_from_value", "raise KeyError from 'x'\n", 1, 21, "'from' needs None or an exception"},
      {"raise_function_name", "raise fn\n", 1, 7, "found a value of kind value"},
      {"with_value", "with 1:\n    pass\n", 1, 6, "'with' needs a context manager, found a value"},
      {"with_exception", "with KeyError():\n    pass\n", 1, 6,
       "'with' needs a context manager, found an exception object"},
      // bare raise and return
      {"bare_raise_top_level", "raise\n", 1, 1,
       "bare 'raise' is only allowed inside an except handler"},
      {"bare_raise_in_try_body", "try:\n    raise\nexcept:\n    pass\n", 2, 5, "bare 'raise'"},
      {"bare_raise_in_finally", "try:\n    pass\nfinally:\n    raise\n", 4, 5, "bare 'raise'"},
      {"return_top_level", "return\n", 1, 1,
       "'return' is only allowed in cm methods and functions"},
      {"return_in_with_at_top_level", "with nullcontext():\n    return 1\n", 2, 5,
       "'return' is only"},
      // self
      {"self_at_top_level", "mark self\n", 1, 6, "'self' is only available inside cm methods"},
      {"bind_self", "self = 1\n", 1, 1, "cannot bind 'self'"},
      // exception constructors
      {"exception_two_args", "raise KeyError(1, 2)\n", 1, 7, "takes at most one argument, got 2"},
      {"exception_arg_not_literal", "x = 1\nraise KeyError(x)\n", 2, 16,
       "must be an int or string literal"},
      {"exception_arg_none", "raise KeyError(None)\n", 1, 16, "must be an int or string literal"},
      // cm constructors and function calls
      {"cm_arity", "with Plain(1):\n    pass\n", 1, 6, "'Plain' takes 2 arguments, got 1"},
      {"cm_exception_param", "with Plain(1, 2):\n    pass\n", 1, 15,
       "argument for parameter 'e' of 'Plain' must be an exception"},
      {"function_arity", "fn(1)\n", 1, 1, "'fn' takes 2 arguments, got 1"},
      {"function_arg_kind", "fn(1, 'x')\n", 1, 7, "must be an exception"},
      {"function_call_as_value", "mark fn(1, KeyError)\n", 1, 6,
       "a call of function 'fn' is a statement"},
      {"exit_function_called", "onexit(None)\n", 1, 1, "exit function 'onexit' cannot be called"},
      {"constructor_as_statement", "KeyError()\n", 1, 1,
       "a call statement must call a declared function"},
      {"call_variable", "x = 1\nx()\n", 2, 1, "'x' is not callable"},
      {"unknown_callee", "nope()\n", 1, 1, "unknown callee 'nope'"},
      {"cm_name_as_value", "mark Plain\n", 1, 6, "cm 'Plain' cannot be used as a value"},
      {"constructor_name_as_value", "mark ExitStack\n", 1, 6, "'ExitStack' must be called"},
      {"exit_stack_args", "mark ExitStack(1)\n", 1, 6, "'ExitStack' takes no arguments, got 1"},
      {"nullcontext_args", "mark nullcontext(1, 2)\n", 1, 6, "'nullcontext' takes at most one"},
      // exit stacks
      {"method_on_value", "x = 1\nx.close()\n", 2, 1, "'x' is not an ExitStack (kind value)"},
      {"method_on_cm", "c = Plain(1, KeyError)\nc.push(onexit)\n", 2, 1,
       "not an ExitStack (kind cm)"},
      {"method_on_unknown", "s.close()\n", 1, 1, "unknown name 's'"},
      {"enter_context_arity", "s = ExitStack()\ns.enter_context()\n", 2, 1,
       "'.enter_context' takes 1 argument, got 0"},
      {"close_arity", "s = ExitStack()\ns.close(1)\n", 2, 1, "'.close' takes 0 arguments, got 1"},
      {"enter_context_value", "s = ExitStack()\ns.enter_context(1)\n", 2, 17,
       "'.enter_context' needs a context manager"},
      {"push_value", "s = ExitStack()\ns.push('x')\n", 2, 8,
       "'.push' needs a context manager or an exit function"},
      {"push_normal_function", "s = ExitStack()\ns.push(fn)\n", 2, 8, "'fn' is a normal function"},
      {"callback_exit_function", "s = ExitStack()\ns.callback(onexit)\n", 2, 12,
       "'onexit' is an exit function"},
      {"callback_not_function", "s = ExitStack()\ns.callback(Plain)\n", 2, 12,
       "'.callback' needs the name of a declared function"},
      {"callback_arity", "s = ExitStack()\ns.callback(fn, 1)\n", 2, 1,
       "'fn' takes 2 arguments, got 1"},
      {"callback_arg_kind", "s = ExitStack()\ns.callback(fn, 1, 2)\n", 2, 19,
       "must be an exception"},
      {"pop_all_statement", "s = ExitStack()\ns.pop_all()\n", 2, 1,
       "the result of 'pop_all()' must be used"},
      {"push_as_value", "s = ExitStack()\nmark s.push(onexit)\n", 2, 6,
       "'.push(...)' is a statement"},
      {"close_as_value", "s = ExitStack()\nx = s.close()\n", 2, 5, "'.close(...)' is a statement"},
      // closing and suppress
      {"closing_without_close", "with closing(Plain(1, KeyError)):\n    pass\n", 1, 14,
       "'closing' needs an instance of a cm that declares 'close'"},
      {"closing_of_closing", "with closing(closing(Closable())):\n    pass\n", 1, 14,
       "'closing' needs an instance"},
      {"closing_arity", "with closing():\n    pass\n", 1, 6, "'closing' takes 1 argument, got 0"},
      {"closing_mixed_variable",
       "c = Closable()\nc = Plain(1, KeyError)\nwith closing(c):\n    pass\n", 3, 14,
       "'closing' needs an instance"},
      {"suppress_object", "with suppress(KeyError()):\n    pass\n", 1, 15,
       "suppress needs exception classes, found an exception object"},
      {"suppress_value_in_tuple", "with suppress((KeyError, 1)):\n    pass\n", 1, 26,
       "suppress needs exception classes"},
      {"tuple_outside_suppress", "mark (KeyError,)\n", 1, 6,
       "a parenthesised tuple is only allowed as an argument of suppress"},
      // exception attributes
      {"attribute_on_class", "KeyError.__context__ = None\n", 1, 1, "'KeyError' is a class"},
      {"attribute_on_maybe_class", "k = KeyError\nk.__cause__ = None\n", 2, 1,
       "'k' may hold an exception class"},
      {"attribute_on_value", "x = 1\nx.__cause__ = None\n", 2, 1, "'x' is of kind value"},
      {"attribute_on_exception_param",
       "cm C(e: exception):\n    enter:\n        e.__context__ = None\nmark 1\n", 3, 9,
       "may hold an exception class"},
      {"attribute_value_class", "e = KeyError()\ne.__context__ = KeyError\n", 2, 17,
       "must be set to None or an exception object, found an exception class"},
      {"attribute_value_int", "e = KeyError()\ne.__cause__ = 1\n", 2, 15,
       "must be set to None or an exception object"},
      {"suppress_context_not_bool", "e = KeyError()\ne.__suppress_context__ = None\n", 2, 26,
       "must be set to True or False"},
      // handlers
      {"bare_except_not_last", "try:\n    pass\nexcept:\n    pass\nexcept KeyError:\n    pass\n", 3,
       1, "a bare 'except:' must be the last handler"},
      {"except_unknown_class", "try:\n    pass\nexcept Nope:\n    pass\n", 3, 1,
       "unknown exception class 'Nope'"},
      {"except_cm_class", "try:\n    pass\nexcept (KeyError, Plain):\n    pass\n", 3, 1,
       "'except' needs exception classes, found 'Plain'"},
      // declarations and names
      {"duplicate_declaration", "cm fn:\n    pass\nmark 1\n", 1, 4,
       "duplicate declaration of 'fn' (first declared on line -3)"},
      {"builtin_class_redeclared", "class ValueError(Exception)\nmark 1\n", 1, 7,
       "names a built-in exception class"},
      {"reserved_underscore", "_x = 1\n", 1, 1, "names starting with '_' are reserved"},
      {"python_keyword_name", "lambda = 1\n", 1, 1, "'lambda' is a Python keyword"},
      {"library_name", "suppress = 1\n", 1, 1, "'suppress' names a contextlib constructor"},
      {"bind_class_name", "MyError = 1\n", 1, 1, "cannot bind 'MyError': 'MyError' names a class"},
      {"bind_function_name", "with nullcontext() as fn:\n    pass\n", 1, 6,
       "'fn' names a function"},
      {"bind_cm_name", "Plain = 1\n", 1, 1, "'Plain' names a cm"},
      {"base_not_declared", "class A(B)\nmark 1\n", 1, 7, "unknown base class 'B'"},
      {"base_declared_later", "class A(B)\nclass B(Exception)\nmark 1\n", 1, 7,
       "base class 'B' of 'A' must be declared before it"},
      {"base_not_a_class", "class A(Plain)\nmark 1\n", 1, 7,
       "base of class 'A' must be an exception class, found 'Plain'"},
      {"base_itself", "class A(A)\nmark 1\n", 1, 7, "cannot derive from itself"},
      {"duplicate_parameter", "def g(a, a):\n    pass\nmark 1\n", 1, 5, "duplicate parameter 'a'"},
      {"parameter_named_class", "def g(KeyError):\n    pass\nmark 1\n", 1, 5,
       "cannot bind 'KeyError'"},
      {"exit_param_typ", "cm C:\n    exit(typ):\n        pass\nmark 1\n", 1, 4,
       "cannot name the exit parameter 'typ'"},
      {"exit_function_param_tb", "def g(*tb):\n    pass\nmark 1\n", 1, 5,
       "cannot name the exit parameter 'tb'"},
      {"exit_param_clashes", "cm C(e):\n    exit(e):\n        pass\nmark 1\n", 1, 4,
       "exit parameter 'e' has the name of a parameter"},
      {"cm_param_rebound", "cm C(a):\n    enter:\n        a = 2\nmark 1\n", 3, 9,
       "cannot rebind cm parameter 'a' inside a method"},
      // functions and methods see only their own names
      {"function_sees_no_globals", "def g():\n    mark top\ntop = 1\n", 2, 10,
       "unknown name 'top' (functions and cm methods see only"},
      {"method_sees_no_globals", "cm C:\n    exit(e):\n        mark top\ntop = 1\n", 3, 14,
       "unknown name 'top'"},
      {"exit_param_is_exception_or_none", "cm C:\n    exit(e):\n        raise e\nmark 1\n", 3, 15,
       "'raise' needs an exception class or object, found an exception or None (inside 'if "
       "NAME:'"},
      {"bare_raise_in_exit", "cm C:\n    exit(e):\n        raise\nmark 1\n", 3, 9, "bare 'raise'"},
      {"exit_function_param_is_exception_or_none", "def g(*e):\n    raise e\nmark 1\n", 2, 11,
       "found an exception or None"},
      {"exit_param_attribute", "cm C:\n    exit(e):\n        e.__context__ = None\nmark 1\n", 3, 9,
       "cannot set 'e.__context__': 'e' is of kind exception or None, not an exception object"},
      {"exit_param_rebound_as_value", "cm C:\n    exit(e):\n        e = 1\nmark 1\n", 3, 9,
       "'e' was first bound as kind exception or None (line 1) and cannot be rebound as kind "
       "value"},
      {"exit_param_not_an_exception_argument", "def g(*e):\n    fn(1, e)\nmark 1\n", 2, 11,
       "argument for parameter 'e' of 'fn' must be an exception (class or object), found an "
       "exception or None"},
      // if and narrowing
      {"if_unknown_name", "if nope:\n    pass\n", 1, 4, "unknown name 'nope'"},
      {"if_cm_name", "if Plain:\n    pass\n", 1, 4, "cm 'Plain' cannot be used as a value"},
      {"narrowed_only_where_true",
       "cm C:\n    exit(e):\n        if e:\n            pass\n        else:\n            raise e\n"
       "mark 1\n",
       6, 19, "found an exception or None"},
      {"if_not_narrows_the_else_block",
       "cm C:\n    exit(e):\n        if not e:\n            raise e\nmark 1\n", 4, 19,
       "found an exception or None"},
      {"narrowing_ends_with_the_block",
       "cm C:\n    exit(e):\n        if e:\n            pass\n        raise e\nmark 1\n", 5, 15,
       "found an exception or None"},
      {"value_is_not_narrowed", "def g(v):\n    if v:\n        raise v\nmark 1\n", 3, 15,
       "found a value of kind value"},
      {"narrowed_rebound_to_class",
       "cm C:\n    exit(e):\n        if e:\n            e = KeyError\nmark 1\n", 4, 13,
       "cannot rebind 'e' to an exception class here: inside this 'if' 'e' is narrowed"},
      {"narrowed_rebound_to_none",
       "cm C:\n    exit(e):\n        if e:\n            e = None\nmark 1\n", 4, 13,
       "cannot rebind 'e' to a value of kind value here"},
      {"narrowed_name_in_except_as",
       "cm C:\n    exit(e):\n        if e:\n            try:\n                pass\n"
       "            except KeyError as e:\n                pass\nmark 1\n",
       6, 13, "'e' is already bound"},
      // generators
      {"yield_in_function", "def g():\n    yield\nmark 1\n", 2, 5,
       "'yield' is only allowed in @contextmanager and @asynccontextmanager functions"},
      {"yield_at_top_level", "yield 1\n", 1, 1, "'yield' is only allowed in @contextmanager"},
      {"yield_in_cm_method", "cm C:\n    exit(e):\n        yield\nmark 1\n", 3, 9,
       "'yield' is only allowed in @contextmanager"},
      {"yield_value_checked", "@contextmanager\ndef g():\n    yield nope\nmark 1\n", 3, 11,
       "unknown name 'nope'"},
      {"generator_without_yield", "@contextmanager\ndef g():\n    pass\nmark 1\n", 2, 5,
       "@contextmanager function 'g' has no 'yield'"},
      {"generator_return_value", "@contextmanager\ndef g():\n    yield\n    return 1\nmark 1\n", 4,
       12, "'return' in a @contextmanager function takes no value"},
      {"generator_exit_signature", "@contextmanager\ndef g(*e):\n    yield\nmark 1\n", 2, 5,
       "@contextmanager function 'g' cannot be an exit function"},
      {"generator_call_statement", "@contextmanager\ndef g():\n    yield\ng()\n", 4, 1,
       "the value of 'g(...)' would be unused"},
      {"generator_callback",
       "@contextmanager\ndef g():\n    yield\nwith ExitStack() as s:\n    s.callback(g)\n", 5, 16,
       "'.callback' needs a normal function; 'g' is a @contextmanager function"},
      {"generator_pushed_by_name",
       "@contextmanager\ndef g():\n    yield\nwith ExitStack() as s:\n    s.push(g)\n", 5, 12,
       "'g' is a @contextmanager function (push one of its cms: g(...))"},
      {"generator_arity", "@contextmanager\ndef g(a):\n    yield\nwith g():\n    pass\n", 4, 6,
       "'g' takes 1 argument, got 0"},
      {"generator_exception_argument",
       "@contextmanager\ndef g(e: exception):\n    yield\nwith g(1):\n    pass\n", 4, 8,
       "argument for parameter 'e' of 'g' must be an exception"},
      {"generator_not_closable",
       "@contextmanager\ndef g():\n    yield\nwith closing(g()):\n    pass\n", 4, 14,
       "'closing' needs an instance of a cm that declares 'close'"},
      {"generator_recursion", "@contextmanager\ndef g():\n    with g():\n        yield\nmark 1\n",
       3, 10, "'g' can run itself again (g -> g)"},
      {"generator_yield_kind",
       "@contextmanager\ndef g():\n    yield 1\nwith g() as v:\n    raise v\n", 5, 11,
       "found a value of kind value"},
      {"generator_yields_differ",
       "@contextmanager\ndef g():\n    yield KeyError()\n    yield ExitStack()\nwith g() as v:\n"
       "    raise v\n",
       6, 11, "found a value of kind value"},
      {"bind_contextmanager", "contextmanager = 1\n", 1, 1,
       "'contextmanager' names a contextlib decorator"},
      // decorators
      {"decorator_function", "@fn(1, KeyError)\ndef d():\n    pass\nmark 1\n", 1, 2,
       "a decorator must be a cm or a @contextmanager function, found 'fn'"},
      {"decorator_suppress", "@suppress(KeyError)\ndef d():\n    pass\nmark 1\n", 1, 2,
       "found 'suppress'"},
      {"decorator_class", "@KeyError()\ndef d():\n    pass\nmark 1\n", 1, 2, "found 'KeyError'"},
      {"decorator_arity", "@Plain(1)\ndef d():\n    pass\nmark 1\n", 1, 2,
       "'Plain' takes 2 arguments, got 1"},
      {"decorator_sees_no_variables", "@Plain(x, KeyError)\ndef d():\n    pass\nx = 1\nd()\n", 1, 8,
       "unknown name 'x'"},
      {"decorator_defined_later",
       "@g()\ndef d():\n    pass\n@contextmanager\ndef g():\n    yield\nmark 1\n", 1, 2,
       "decorator of 'd' uses 'g', which must be defined before it"},
      {"decorator_argument_defined_later",
       "@Plain(later, KeyError)\ndef d():\n    pass\ndef later():\n    pass\nmark 1\n", 1, 8,
       "decorator of 'd' uses 'later', which must be defined before it"},
      {"decorator_itself", "@Plain(d, KeyError)\ndef d():\n    pass\nmark 1\n", 1, 8,
       "decorator of 'd' uses 'd'"},
      {"decorated_call_arity", "@Plain(1, KeyError)\ndef d(a):\n    pass\nd()\n", 4, 1,
       "'d' takes 1 argument, got 0"},
      {"decorator_recursion",
       "cm G:\n    exit(e):\n        d()\n@G()\ndef d():\n    pass\nmark 1\n", 3, 9,
       "'G' can run itself again (G -> d -> G)"},
      // stack parameters
      {"stack_argument", "def g(s: stack):\n    pass\ng(1)\n", 3, 3,
       "argument for parameter 's' of 'g' must be an ExitStack, found a value of kind value"},
      {"stack_argument_cm", "cm K(s: stack):\n    pass\nwith K(suppress()):\n    pass\n", 3, 8,
       "must be an ExitStack, found a context manager"},
      {"stack_parameter_rebound", "def g(s: stack):\n    s = 1\nmark 1\n", 2, 5,
       "'s' was first bound as kind stack"},
      {"value_parameter_is_no_stack", "def g(s):\n    s.close()\nmark 1\n", 2, 5,
       "'s' is not an ExitStack (kind value)"},
      {"recursion_through_stack_parameter", "def g(s: stack):\n    s.callback(g, s)\nmark 1\n", 2,
       16, "'g' can run itself again (g -> g)"},
      // recursion
      {"recursive_function", "def g():\n    g()\nmark 1\n", 2, 5,
       "recursion is not allowed: 'g' can run itself again (g -> g)"},
      {"mutual_recursion", "def g():\n    h()\ndef h():\n    g()\nmark 1\n", 2, 5,
       "'g' can run itself again (g -> h -> g)"},
      {"recursion_through_callback",
       "def g():\n    with ExitStack() as s:\n        s.callback(g)\nmark 1\n", 3, 20,
       "recursion is not allowed"},
      {"recursion_through_cm",
       "cm C:\n    exit(e):\n        k()\ndef k():\n    with C():\n        pass\nmark 1\n", 3, 9,
       "'C' can run itself again (C -> k -> C)"},
      {"recursion_through_self",
       "cm C:\n    close:\n        with closing(self):\n            pass\nmark 1\n", 3, 14,
       "'C' can run itself again (C -> C)"},
      // derived as-kinds
      {"suppress_binds_none", "with suppress() as v:\n    raise v\n", 2, 11, "found a value"},
      {"nullcontext_binds_its_value", "with nullcontext(1) as v:\n    raise v\n", 2, 11,
       "found a value"},
      {"enter_default_returns_none", "with Plain(1, KeyError) as v:\n    raise v\n", 2, 11,
       "found a value"},
      {"enter_mixed_returns",
       "cm C:\n    enter:\n        try:\n            return KeyError()\n        except:\n"
       "            return 1\nwith C() as v:\n    raise v\n",
       8, 11, "found a value"},
      {"enter_may_fall_off",
       "cm C:\n    enter:\n        try:\n            return KeyError()\n        finally:\n"
       "            pass\nwith C() as v:\n    raise v\n",
       8, 11, "found a value"},
      {"enter_context_binds_like_with",
       "s = ExitStack()\nv = s.enter_context(suppress())\nraise v\n", 3, 7, "found a value"},
      {"closing_binds_the_cm", "with closing(Closable()) as c:\n    raise c\n", 2, 11,
       "found a context manager"},
      // async constructs
      {"await_in_sync_def", "def d():\n    await sleep()\nmark 1\n", 2, 5,
       "'await' is only allowed at top level, in async defs and in acm members"},
      {"async_with_in_sync_cm",
       "cm C:\n    enter:\n        async with nullcontext():\n"
       "            pass\nmark 1\n",
       3, 9, "'async with' is only allowed at top level"},
      {"with_on_acm", "acm A:\n    pass\nwith A():\n    pass\n", 3, 6,
       "'with': the manager may be an instance of acm 'A' (enter it with 'async with')"},
      {"async_with_on_cm", "async with Plain(1, KeyError):\n    pass\n", 1, 12,
       "'async with': the manager may be an instance of cm 'Plain' (enter it with 'with')"},
      {"async_with_on_exit_stack", "async with ExitStack():\n    pass\n", 1, 12,
       "an ExitStack is not an async context manager"},
      {"async_with_on_suppress", "async with suppress():\n    pass\n", 1, 12,
       "suppress is not an async context manager"},
      {"async_def_called_without_await", "async def af():\n    pass\naf()\n", 3, 1,
       "async def 'af' must be awaited: await af(...)"},
      {"await_a_sync_function", "await fn(1, KeyError)\n", 1, 7,
       "'await' needs a call of an async def (not an exit function) or sleep(), found 'fn'"},
      {"await_sleep_with_argument", "await sleep(1)\n", 1, 7, "'sleep' takes no arguments"},
      {"await_arity", "async def af(x):\n    pass\nawait af()\n", 3, 7,
       "'af' takes 1 argument, got 0"},
      {"enter_context_acm", "acm A:\n    pass\ns = ExitStack()\ns.enter_context(A())\n", 4, 17,
       "'.enter_context': the manager may be an instance of acm 'A'"},
      {"push_acm", "acm A:\n    pass\ns = ExitStack()\ns.push(A())\n", 4, 8,
       "'.push': the manager may be an instance of acm 'A'"},
      {"push_async_exit_function", "async def af(*e):\n    pass\ns = ExitStack()\ns.push(af)\n", 4,
       8, "'.push' on an ExitStack needs a sync exit function; 'af' is an async def"},
      {"callback_async_def", "async def af():\n    pass\ns = ExitStack()\ns.callback(af)\n", 4, 12,
       "'.callback' on an ExitStack needs a sync function; 'af' is an async def"},
      {"closing_acm", "acm A:\n    aclose:\n        pass\nwith closing(A()):\n    pass\n", 4, 14,
       "'closing' needs an instance of a cm that declares 'close'"},
      {"async_generator_in_sync_with",
       "@asynccontextmanager\nasync def g():\n    yield\nwith g():\n    pass\n", 4, 6,
       "'with': the manager may be an @asynccontextmanager generator of 'g' (enter it with "
       "'async with')"},
      {"generator_in_async_with",
       "@contextmanager\ndef g():\n    yield\nasync with g():\n    pass\n", 4, 12,
       "'async with': the manager may be a @contextmanager generator of 'g', not an async "
       "context manager"},
      {"async_generator_in_enter_context",
       "@asynccontextmanager\nasync def g():\n    yield\ns = ExitStack()\ns.enter_context(g())\n",
       5, 17, "'.enter_context': the manager may be an @asynccontextmanager generator of 'g'"},
      {"async_generator_decorates_sync_def",
       "@asynccontextmanager\nasync def g():\n    yield\n@g()\ndef f():\n    pass\nmark 1\n", 4, 2,
       "@asynccontextmanager function 'g' can only decorate an async def"},
      {"async_generator_without_yield",
       "@asynccontextmanager\nasync def g():\n    await sleep()\nmark 1\n", 2, 11,
       "@asynccontextmanager function 'g' has no 'yield'"},
      {"cm_decorates_async_def",
       "async def d():\n    pass\n@Plain(1, KeyError)\nasync def d2():\n    pass\nmark 1\n", 3, 2,
       "a decorator above an async def must be an acm or an @asynccontextmanager function "
       "(AsyncContextDecorator), found 'Plain'"},
      {"acm_decorates_sync_def", "acm A:\n    pass\n@A()\ndef d():\n    pass\nmark 1\n", 3, 2,
       "acm 'A' can only decorate an async def"},
      {"bind_sleep", "sleep = 1\n", 1, 1, "'sleep' is reserved for 'await sleep()'"},
      {"acm_recursion",
       "acm A:\n    aenter:\n        async with A():\n            pass\nasync with A():\n"
       "    pass\n",
       3, 20, "recursion is not allowed: 'A' can run itself again"},
      {"async_def_recursion", "async def af():\n    await af()\nawait af()\n", 2, 11,
       "recursion is not allowed: 'af' can run itself again"},
      {"enter_async_context_not_awaited",
       "acm A:\n    pass\ns = AsyncExitStack()\nv = s.enter_async_context(A())\n", 4, 5,
       "'.enter_async_context(...)' must be awaited"},
      {"aclose_not_awaited", "s = AsyncExitStack()\ns.aclose()\n", 2, 1,
       "'.aclose(...)' must be awaited"},
      {"async_method_on_exit_stack", "s = ExitStack()\nawait s.aclose()\n", 2, 7,
       "'s' is an ExitStack; '.aclose' needs an AsyncExitStack"},
      {"close_on_async_stack", "s = AsyncExitStack()\ns.close()\n", 2, 1,
       "an AsyncExitStack has no '.close()'"},
      {"with_on_async_stack", "with AsyncExitStack():\n    pass\n", 1, 6,
       "an AsyncExitStack is an async context manager (use 'async with')"},
      {"enter_async_context_sync_cm",
       "s = AsyncExitStack()\nawait s.enter_async_context(Plain(1, KeyError))\n", 2, 29,
       "'.enter_async_context': the manager may be an instance of cm 'Plain'"},
      {"push_async_callback_sync", "s = AsyncExitStack()\ns.push_async_callback(fn, 1, KeyError)\n",
       2, 23, "'.push_async_callback' needs the name of an async def"},
      {"push_async_exit_sync_exit_function", "s = AsyncExitStack()\ns.push_async_exit(onexit)\n", 2,
       19, "'.push_async_exit' needs an async exit function"},
      {"aclosing_needs_acm_with_aclose", "acm A:\n    pass\nasync with aclosing(A()):\n    pass\n",
       3, 21, "'aclosing' needs an instance of an acm that declares 'aclose'"},
      {"aclosing_in_sync_with",
       "acm A:\n    aclose:\n        pass\nwith aclosing(A()):\n    pass\n", 4, 6,
       "aclosing is an async context manager (use 'async with')"},
      {"neutral_enter_context_not_awaited",
       "s = NeutralExitStack()\nv = s.enter_context(Plain(1, KeyError))\n", 2, 5,
       "'.enter_context(...)' must be awaited on a NeutralExitStack"},
      {"neutral_has_no_close", "s = NeutralExitStack()\ns.close()\n", 2, 1,
       "a NeutralExitStack has no '.close'"},
      {"neutral_mixed_manager",
       "acm A:\n    pass\nx = Plain(1, KeyError)\nif x:\n    x = A()\ns = NeutralExitStack()\n"
       "s.push(x)\n",
       7, 8, "needs a manager that is certainly sync or certainly async"},
      // several errors, reported in source order
      {"several_errors", "mark a\nmark b\nraise 1\n", 1, 6, "unknown name 'a'", 3},
  };
  return cases;
}

class Violation : public testing::TestWithParam<violation> {};

TEST_P(Violation, IsReported) {
  const violation& v = GetParam();
  const std::string text = std::string(prelude) + v.text;
  load_result r = load(text, "c.ctx");
  EXPECT_FALSE(r.program.has_value());
  ASSERT_EQ(r.errors.size(), v.count) << joined(r.errors);
  const diagnostic& d = r.errors[0];
  // Messages may quote line numbers of the prelude; normalise "line N" to the table's frame.
  std::string message = d.message;
  if (auto at = message.find("line "); at != std::string::npos) {
    std::size_t end = at + 5;
    while (end < message.size() && isdigit(static_cast<unsigned char>(message[end]))) ++end;
    if (end > at + 5) {
      const int n = std::stoi(message.substr(at + 5, end - at - 5)) - prelude_lines;
      message = message.substr(0, at + 5) + std::to_string(n) + message.substr(end);
    }
  }
  EXPECT_EQ(d.line - prelude_lines, v.line) << d.to_string();
  EXPECT_EQ(d.column, v.column) << d.to_string();
  EXPECT_NE(message.find(v.message), std::string::npos) << d.to_string();
  for (std::size_t i = 1; i < r.errors.size(); ++i) {
    const auto& a = r.errors[i - 1];
    const auto& b = r.errors[i];
    EXPECT_TRUE(a.line < b.line || (a.line == b.line && a.column <= b.column)) << joined(r.errors);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, Violation, testing::ValuesIn(violations()),
                         [](const testing::TestParamInfo<violation>& i) { return i.param.name; });

TEST(Checker, PreludeIsValid) {
  must_load(std::string(prelude) + "mark 1\n");
}

TEST(Checker, ValidKindsAndScopes) {
  must_load(std::string(prelude) +
            "cm Self:\n"
            "    enter:\n"
            "        return self\n"
            "cm Raises:\n"
            "    enter:\n"
            "        return MyError('x')\n"
            "cm Stack:\n"
            "    enter:\n"
            "        s = ExitStack()\n"
            "        return s\n"
            "x = 1\n"
            "x = 'rebound, same kind'\n"
            "with Self() as me, me as again, Raises() as err, Stack() as st:\n"
            "    with again:\n"
            "        pass\n"
            "    st.push(onexit)\n"
            "    raise err from None\n"
            "with ExitStack() as stack:\n"
            "    c = stack.enter_context(closing(Closable()))\n"
            "    with closing(c):\n"
            "        pass\n"
            "    e = stack.enter_context(Raises())\n"
            "    e.__cause__ = MyError()\n"
            "    stack.callback(fn, x, e)\n"
            "    moved = stack.pop_all()\n"
            "    with moved:\n"
            "        moved.close()\n"
            "    with nullcontext(e) as same:\n"
            "        raise same\n"
            "try:\n"
            "    pass\n"
            "except (MyError, IndexError) as caught:\n"
            "    caught.__context__ = None\n"
            "    caught.__suppress_context__ = False\n"
            "    try:\n"
            "        raise\n"
            "    except KeyError as inner:\n"
            "        raise inner from caught\n"
            "except BaseException:\n"
            "    raise\n"
            "finally:\n"
            "    mark x\n"
            "try:\n"
            "    pass\n"
            "except KeyError as caught:\n"  // the same name again, in another handler
            "    mark caught\n"
            "with suppress(KeyError, (IndexError, (MyError,)), ()):\n"
            "    k = KeyError\n"
            "    raise k\n");
}

TEST(Checker, FunctionsAndMethods) {
  must_load(
      "cm C(a, e: exception):\n"
      "    enter:\n"
      "        mark a, self\n"
      "        raise e\n"
      "    exit(exc):\n"
      "        mark exc\n"
      "        exc = KeyError('x')\n"  // the exit parameter (exception or None) takes an object
      "        exc = None\n"           // or None
      "        helper(a)\n"
      "        return True\n"
      "    close:\n"
      "        return\n"
      "def helper(v):\n"
      "    v = 2\n"  // function parameters may be rebound
      "    with ExitStack() as s:\n"
      "        s.push(on_exit)\n"
      "        s.callback(leaf)\n"
      "    return v\n"
      "def on_exit(*exc):\n"
      "    try:\n"
      "        raise KeyError\n"
      "    except KeyError:\n"
      "        raise\n"
      "def leaf():\n"
      "    pass\n"
      "mark helper, on_exit\n"
      "with C(1, KeyError):\n"
      "    helper(C(2, ValueError('x')))\n");
}

TEST(Checker, IfNarrowsExceptionOrNone) {
  must_load(
      "class E(Exception)\n"
      "cm C(tag):\n"
      "    exit(exc):\n"
      "        if exc:\n"
      "            mark exc\n"
      "            exc.__context__ = None\n"
      "            exc.__cause__ = exc\n"
      "            exc.__suppress_context__ = True\n"
      "            exc = E('other')\n"  // an object keeps the narrowing true
      "            if exc:\n"
      "                raise exc\n"
      "            raise E('x') from exc\n"
      "        else:\n"
      "            mark 'no exception', exc\n"
      "        if not exc:\n"
      "            return False\n"
      "        else:\n"
      "            raise exc\n"
      "def on_exit(*e):\n"
      "    copy = e\n"  // the kind travels with the value
      "    if copy:\n"
      "        raise copy\n"
      "    x = E()\n"
      "    x.__context__ = e\n"  // None or an exception object: both allowed
      "    x.__cause__ = copy\n"
      "    raise E() from e\n"
      "def plain(v, w: exception):\n"
      "    if v:\n"
      "        mark v\n"
      "    if not w:\n"
      "        pass\n"
      "    if plain:\n"
      "        pass\n"
      "if E:\n"
      "    mark E\n"
      "plain(0, KeyError)\n");
}

TEST(Checker, StackParameters) {
  must_load(
      "cm Holder(s: stack, v):\n"
      "    enter:\n"
      "        s.callback(leaf, v)\n"
      "        return self\n"
      "    exit(exc):\n"
      "        s.push(on_exit)\n"
      "def push_more(s: stack, v):\n"
      "    s.callback(leaf, v)\n"
      "    s.enter_context(Holder(s, v))\n"
      "    moved = s.pop_all()\n"
      "    with s, moved:\n"
      "        pass\n"
      "    s.close()\n"
      "def leaf(v):\n"
      "    mark v\n"
      "def on_exit(*e):\n"
      "    pass\n"
      "with ExitStack() as stack:\n"
      "    stack.callback(push_more, stack, 1)\n"
      "    push_more(stack, 0)\n"
      "    with Holder(stack.pop_all(), 2):\n"
      "        pass\n");
}

TEST(Checker, GeneratorsAndDecorators) {
  program p = must_load(
      "class E(Exception)\n"
      "cm Guard(tag):\n"
      "    exit(exc):\n"
      "        if exc:\n"
      "            return True\n"
      "@contextmanager\n"
      "def gen(a, e: exception, s: stack):\n"
      "    mark a\n"
      "    try:\n"
      "        yield e\n"
      "    except E as caught:\n"
      "        yield caught\n"
      "        raise\n"
      "    finally:\n"
      "        with ExitStack() as inner:\n"
      "            if a:\n"
      "                yield inner\n"
      "    return\n"
      "@gen(1, E, ExitStack())\n"
      "def decorated(x):\n"
      "    mark x\n"
      "@Guard(gen)\n"  // a function name is a value
      "def on_exit(*exc):\n"
      "    pass\n"
      "@contextmanager\n"
      "def plain():\n"
      "    yield E\n"
      "with gen(1, E(), ExitStack()) as v, plain() as cls:\n"
      "    mark v\n"
      "    raise cls\n"  // all of plain's yields are exceptions
      "s = ExitStack()\n"
      "s.enter_context(gen(0, E, s))\n"
      "s.push(gen(0, E, s))\n"
      "s.push(on_exit)\n"
      "s.callback(decorated, 2)\n"
      "decorated(3)\n"
      "c = gen(1, E, s)\n"
      "with c, nullcontext(c) as same:\n"
      "    with same:\n"
      "        pass\n"
      "mark gen, decorated, c\n");
  const auto& d = std::get<call_expr>(p.functions[1].decorator->node);
  EXPECT_EQ(d.kind, call_kind::new_generator);
  EXPECT_EQ(std::get<call_expr>(p.functions[2].decorator->node).kind, call_kind::new_cm);
  const auto& w = std::get<with_stmt>(p.main[0].node);
  EXPECT_EQ(std::get<call_expr>(w.items[0].manager.node).kind, call_kind::new_generator);
}

TEST(Checker, AsyncConstructs) {
  program p = must_load(
      "acm A(n):\n"
      "    aenter:\n"
      "        await sleep()\n"
      "        return KeyError(1)\n"
      "    aexit(exc):\n"
      "        async with nullcontext(exc):\n"
      "            await helper(exc)\n"
      "        return True\n"
      "    aclose:\n"
      "        pass\n"
      "async def helper(x):\n"
      "    with nullcontext():\n"
      "        await sleep()\n"
      "async def on_exit(*exc):\n"
      "    pass\n"
      "try:\n"
      "    async with A(1) as e, nullcontext(2) as two:\n"
      "        raise e\n"  // aenter's returns are exceptions
      "except KeyError:\n"
      "    await helper(on_exit)\n"
      "    raise\n");
  EXPECT_TRUE(p.cms[0].is_async);
  EXPECT_TRUE(p.functions[0].is_async);
  EXPECT_TRUE(p.functions[1].exit_signature);
  const auto& t = std::get<try_stmt>(p.main[0].node);
  const auto& w = std::get<with_stmt>(t.body[0].node);
  EXPECT_TRUE(w.is_async);
  EXPECT_EQ(std::get<call_expr>(w.items[0].manager.node).kind, call_kind::new_cm);
  const auto& a = std::get<await_stmt>(t.handlers[0].body[0].node);
  EXPECT_EQ(std::get<call_expr>(a.call.node).kind, call_kind::call_function);
  const auto& sleep = std::get<await_stmt>((*p.cms[0].enter)[0].node);
  EXPECT_EQ(std::get<call_expr>(sleep.call.node).kind, call_kind::sleep);
}

TEST(Checker, ResolvesCallKinds) {
  program p = must_load(
      "cm C:\n"
      "    close:\n"
      "        pass\n"
      "def f():\n"
      "    pass\n"
      "mark KeyError(), C(), ExitStack(), suppress(), nullcontext(), closing(C())\n"
      "f()\n");
  const auto& m = std::get<mark_stmt>(p.main[0].node);
  const call_kind expected[] = {call_kind::new_exception,   call_kind::new_cm,
                                call_kind::new_exit_stack,  call_kind::new_suppress,
                                call_kind::new_nullcontext, call_kind::new_closing};
  for (std::size_t i = 0; i < 6; ++i)
    EXPECT_EQ(std::get<call_expr>(m.values[i].node).kind, expected[i]) << i;
  const auto& e = std::get<expr_stmt>(p.main[1].node);
  EXPECT_EQ(std::get<call_expr>(e.value.node).kind, call_kind::call_function);
}

// Whether Python's top level is a coroutine: awaiting a NeutralExitStack's enter_context of a
// sync manager is, for CPython's AsyncExitStack, a plain call.
TEST(Checker, PythonAwaitsFollowsTheNeutralStacksMethodPerEntry) {
  const char* decls =
      "acm A:\n"
      "    aenter:\n"
      "        pass\n"
      "cm S:\n"
      "    exit(e):\n"
      "        pass\n";
  struct row {
    const char* main;
    bool awaits;
  };
  const row rows[] = {
      {"s = NeutralExitStack()\nv = await s.enter_context(S())\n", false},
      {"s = NeutralExitStack()\nv = await s.enter_context(A())\n", true},
      {"s = NeutralExitStack()\nx = 1\nif x:\n    await s.aclose()\n", true},
      {"try:\n    pass\nfinally:\n    await sleep()\n", true},
      {"async with A():\n    pass\n", true},
      {"with S():\n    mark 1\n", false},
      {"x = 1\nif x:\n    pass\nelse:\n    await sleep()\n", true},
      {"try:\n    mark 1\nexcept KeyError:\n    await sleep()\n", true},
      {"try:\n    mark 1\nexcept KeyError:\n    mark 2\nfinally:\n    pass\n", false},
  };
  for (const row& r : rows) {
    program p = must_load(std::string(decls) + r.main);
    EXPECT_EQ(python_awaits(p.main), r.awaits) << r.main;
    EXPECT_EQ(python_awaits(p.main.back()), r.awaits) << r.main;  // the oracle's per-statement flag
  }
}

TEST(Checker, CycleInEnterKindsTerminates) {
  // A's enter needs B's as-kind and B's needs A's: reported as recursion, and no hang.
  diagnostics ds = must_fail(
      "cm A:\n"
      "    enter:\n"
      "        with B() as b:\n"
      "            return b\n"
      "cm B:\n"
      "    enter:\n"
      "        with A() as a:\n"
      "            return a\n"
      "mark 1\n");
  ASSERT_EQ(ds.size(), 1u) << joined(ds);
  EXPECT_NE(ds[0].message.find("recursion"), std::string::npos);
}

// Programs built directly (by generators) must also obey the shapes the parser guarantees,
// or print() would not read back.
TEST(Checker, TreeInvariants) {
  auto expr_of = [](expr_node n) { return expr{std::move(n), {}}; };
  auto stmt_of = [](stmt_node n) { return stmt{std::move(n), {}}; };
  auto errors_for = [](program p) { return check(p, "built"); };
  auto has = [](const diagnostics& ds, const std::string& what) {
    for (const auto& d : ds)
      if (d.message.find(what) != std::string::npos) return true;
    ADD_FAILURE() << "no '" << what << "' in:\n" << joined(ds);
    return false;
  };
  const stmt pass = stmt_of(pass_stmt{});

  has(errors_for(program{}), "a program needs at least one top-level statement");
  {
    program p;
    p.main.push_back(stmt_of(with_stmt{{{expr_of(call_expr{"ExitStack", {}, {}}), {}}}, {}}));
    has(errors_for(p), "empty block");
  }
  {
    program p;
    p.main.push_back(stmt_of(mark_stmt{}));
    has(errors_for(p), "'mark' needs at least one value");
  }
  {
    program p;
    p.main.push_back(stmt_of(with_stmt{{}, {pass}}));
    has(errors_for(p), "'with' needs at least one item");
  }
  {
    program p;
    p.main.push_back(stmt_of(try_stmt{{pass}, {}, std::nullopt}));
    has(errors_for(p), "'try' needs at least one 'except' or a 'finally'");
  }
  {
    program p;
    p.main.push_back(stmt_of(raise_stmt{std::nullopt, expr_of(none_literal{})}));
    has(errors_for(p), "needs an exception before 'from'");
  }
  {
    program p;
    except_clause h{{}, true, std::nullopt, {pass}, {}};
    p.main.push_back(stmt_of(try_stmt{{pass}, {h}, std::nullopt}));
    has(errors_for(p), "'except ()' needs at least one class");
    p.main[0] = stmt_of(
        try_stmt{{pass},
                 {except_clause{{"KeyError", "IndexError"}, false, std::nullopt, {pass}, {}}},
                 std::nullopt});
    has(errors_for(p), "must be written as a tuple");
  }
  {
    program p;
    p.cms.push_back(cm_decl{"C", {}, std::nullopt, "e", std::nullopt, std::nullopt, {}});
    p.main.push_back(pass);
    has(errors_for(p), "names an exit parameter but has no exit");
    p.cms[0] = cm_decl{"C", {}, std::nullopt, "", block{pass}, std::nullopt, {}};
    has(errors_for(p), "needs a name for its exit parameter");
  }
  {
    program p;
    p.functions.push_back(
        function_decl{"f", {{"e", param_type::exception}}, true, {pass}, {}, false, {}});
    p.main.push_back(pass);
    has(errors_for(p), "must have exactly one parameter of type value");
  }
  {
    // The parser takes one decorator per function; a built one may carry both kinds.
    program p;
    p.cms.push_back(cm_decl{"G", {}, std::nullopt, "", std::nullopt, std::nullopt, {}});
    p.functions.push_back(function_decl{
        "f", {}, false, {stmt_of(yield_stmt{})}, {}, true, expr_of(call_expr{"G", {}, {}})});
    p.main.push_back(pass);
    has(errors_for(p), "@contextmanager function 'f' cannot have another decorator");
  }
  {
    program p;
    p.functions.push_back(function_decl{"f", {}, false, {pass}, {}, false, expr_of(name_ref{"x"})});
    p.main.push_back(pass);
    has(errors_for(p), "a decorator is written @NAME(ARGS)");
  }
  {
    program p;
    p.main.push_back(stmt_of(mark_stmt{{expr_of(string_literal{"caf\xc3\xa9"})}}));
    has(errors_for(p), "string literal holds a character the language does not allow");
  }
  {
    program p;
    p.main.push_back(stmt_of(assign_stmt{"1x", expr_of(int_literal{1})}));
    has(errors_for(p), "'1x' is not a valid name");
    p.main[0] = stmt_of(assign_stmt{"with", expr_of(int_literal{1})});
    has(errors_for(p), "'with' is a keyword");
  }
  {
    program p;
    p.main.push_back(stmt_of(expr_stmt{expr_of(int_literal{1})}));
    has(errors_for(p), "an expression on its own is only allowed as a call");
  }
  {
    // Deeper than the parser allows: rejected, so print() never makes unreadable text. (The
    // tree types themselves copy and compare recursively, so keep it modest.)
    expr e = expr_of(int_literal{1});
    for (int i = 0; i < 300; ++i) {
      call_expr c;
      c.callee = "nullcontext";
      c.args.push_back(std::move(e));
      e = expr_of(std::move(c));
    }
    program p;
    mark_stmt m;
    m.values.push_back(std::move(e));
    p.main.push_back(stmt_of(std::move(m)));
    has(errors_for(std::move(p)), "expression nested too deeply");
    block b{pass};
    for (int i = 0; i < 300; ++i) {
      with_stmt w;
      w.items.push_back(with_item{expr_of(call_expr{"ExitStack", {}, {}}), {}});
      w.body = std::move(b);
      b = block{};
      b.push_back(stmt_of(std::move(w)));
    }
    program q;
    q.main = std::move(b);
    has(errors_for(std::move(q)), "blocks nested too deeply");
  }
}

}  // namespace
}  // namespace ctxmodel
