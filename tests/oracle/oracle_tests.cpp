// oracle_tests: the embedded interpreter, the walker (hand-checked traces) and export_python
// (the exported script, run by python3, prints exactly the oracle's trace).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ctxmodel/builtins.hpp"
#include "ctxmodel/parse.hpp"
#include "ctxoracle/oracle.hpp"
#include "program_builder.hpp"

namespace {

using namespace build;
using ctxmodel::exception_attribute;
using ctxmodel::program;

ctxoracle::interpreter& python() {
  return ctxoracle::interpreter::instance();
}

std::string text_of(const ctxmodel::trace& t) {
  std::string text;
  for (const auto& event : t.events) text += event + "\n";
  return text;
}

// The oracle's trace text; fails the test on an oracle error.
std::string oracle_text(const program& p) {
  ctxoracle::oracle_result r = python().run(p);
  EXPECT_EQ(r.error, "");
  return r.trace ? text_of(*r.trace) : "<no trace>\n" + r.error;
}

// Runs `python3 script.py` (the interpreter the oracle embeds) and returns its stdout.
std::string run_exported(const program& p, const std::string& file_name) {
  std::filesystem::path dir = CTXORACLE_TEST_SCRATCH;
  std::filesystem::create_directories(dir);
  std::filesystem::path script = dir / file_name;
  std::ofstream(script) << ctxoracle::export_python(p);
  std::string command = std::string("'") + CTXORACLE_TEST_PYTHON + "' '" + script.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "<popen failed>";
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_EQ(status, 0) << "exported script failed: " << script;
  return output;
}

// Checks the oracle against a hand-verified trace, then the exported script against the oracle.
void expect_trace(const program& p, const std::string& expected, const std::string& name) {
  std::string got = oracle_text(p);
  EXPECT_EQ(got, expected) << "oracle trace of " << name;
  EXPECT_EQ(run_exported(p, name + ".py"), got) << "exported script of " << name;
}

// -- the hand-verified programs

// class E(Exception)
// cm Swallow(tag):
//     enter:
//         mark 'enter', tag
//         return self
//     exit(e):
//         mark e
//         return True
// with Swallow(1) as s:
//     mark s
//     raise E('boom')
// mark 'after'
program suppressing_exit() {
  program p;
  p.classes = {exception_class("E", "Exception")};
  p.cms = {cm("Swallow", {"tag"},
              {.enter = block{mark({str("enter"), name("tag")}), ret(name("self"))},
               .exit_param = "e",
               .exit = block{mark({name("e")}), ret(boolean(true))}})};
  p.main = {with({item(new_cm("Swallow", {num(1)}), "s")},
                 {mark({name("s")}), raise(new_exception("E", {str("boom")}))}),
            mark({str("after")})};
  return p;
}

TEST(Oracle, WithAndSuppressingExit) {
  expect_trace(suppressing_exit(), R"(enter Swallow(1)
mark 'enter' 1
mark <Swallow(1)>
exit Swallow(1) #1 E('boom')
mark #1 E('boom')
mark 'after'
outcome ok
)",
               "suppressing_exit");
}

// def boom(tag):
//     raise KeyError(tag)
// def seen(*exc):
//     mark exc
// with ExitStack() as stack:
//     stack.callback(boom, 'first')
//     stack.push(seen)
//     stack.callback(boom, 'second')
//     raise ValueError('body')
//
// boom('second') raises inside __exit__, so its __context__ is the body's ValueError; boom('first')
// gets ValueError too, which _fix_exception_context rewires to KeyError('second').
program exit_stack_chaining() {
  program p;
  p.functions = {function("boom", {"tag"}, {raise(new_exception("KeyError", {name("tag")}))}),
                 exit_function("seen", "exc", {mark({name("exc")})})};
  p.main = {with({item(exit_stack(), "stack")},
                 {stack_call("stack", stack_method::callback, {name("boom"), str("first")}),
                  stack_call("stack", stack_method::push, {name("seen")}),
                  stack_call("stack", stack_method::callback, {name("boom"), str("second")}),
                  raise(new_exception("ValueError", {str("body")}))})};
  return p;
}

TEST(Oracle, ExitStackCallbacksChainContexts) {
  expect_trace(exit_stack_chaining(), R"(call boom('second')
call seen(#1 KeyError('second') context=(#2 ValueError('body')))
mark #1 KeyError('second') context=(#2 ValueError('body'))
call boom('first')
outcome raised #3 KeyError('first') context=(#1 KeyError('second') context=(#2 ValueError('body')))
)",
               "exit_stack_chaining");
}

// The same callbacks with no exception coming in: nothing is active while they run, so nothing
// is chained (gh-102201, catalogue X14).
program exit_stack_no_incoming() {
  program p = exit_stack_chaining();
  p.functions.pop_back();
  p.main = {with({item(exit_stack(), "stack")},
                 {stack_call("stack", stack_method::callback, {name("boom"), str("first")}),
                  stack_call("stack", stack_method::callback, {name("boom"), str("second")})})};
  return p;
}

TEST(Oracle, ExitStackWithoutIncomingExceptionDoesNotChain) {
  expect_trace(exit_stack_no_incoming(), R"(call boom('second')
call boom('first')
outcome raised #1 KeyError('first')
)",
               "exit_stack_no_incoming");
}

// def boom(tag):
//     raise KeyError(tag)
// s = ExitStack()
// s.callback(boom, 'a')
// s.callback(boom, 'b')
// try:
//     raise ValueError('h')
// except:
//     s.close()
//
// close() inside an unrelated handler (catalogue X15): ExitStack takes the handled ValueError for
// its own frame exception and rewires KeyError('b')'s context from it to None, so the chain
// ends there (nested with statements would end in ValueError('h')). Only right if the walker
// leaves sys.exc_info() exactly as the program has it.
program close_inside_handler() {
  program p;
  p.functions = {function("boom", {"tag"}, {raise(new_exception("KeyError", {name("tag")}))})};
  p.main = {assign("s", exit_stack()),
            stack_call("s", stack_method::callback, {name("boom"), str("a")}),
            stack_call("s", stack_method::callback, {name("boom"), str("b")}),
            try_({raise(new_exception("ValueError", {str("h")}))},
                 {handler({}, {}, {stack_call("s", stack_method::close)})})};
  return p;
}

TEST(Oracle, ExitStackCloseInsideAHandler) {
  expect_trace(close_inside_handler(), R"(call boom('b')
call boom('a')
outcome raised #1 KeyError('a') context=(#2 KeyError('b'))
)",
               "close_inside_handler");
}

// try:
//     raise KeyboardInterrupt
// except as e:          (a bare except with a name: BaseException in Python)
//     mark e
program bare_except_as() {
  program p;
  p.main = {try_({raise(name("KeyboardInterrupt"))}, {handler({}, "e", {mark({name("e")})})})};
  return p;
}

TEST(Oracle, BareExceptWithAName) {
  expect_trace(bare_except_as(), R"(mark #1 KeyboardInterrupt()
outcome ok
)",
               "bare_except_as");
}

// try:
//     try:
//         raise KeyError('k')
//     except KeyError as e:
//         raise ValueError('v') from None
// except ValueError as v:
//     mark v
//     raise RuntimeError('r') from v
program raise_from_program() {
  program p;
  p.main = {try_({try_({raise(new_exception("KeyError", {str("k")}))},
                       {handler({"KeyError"}, "e",
                                {raise_from(new_exception("ValueError", {str("v")}), none())})})},
                 {handler({"ValueError"}, "v",
                          {mark({name("v")}),
                           raise_from(new_exception("RuntimeError", {str("r")}), name("v"))})})};
  return p;
}

TEST(Oracle, RaiseFromNoneAndFromAnException) {
  // The cause and the context are the same object: written in full once, then as #1.  // `from`
  // sets __suppress_context__ too (PEP 415), whatever the cause.
  expect_trace(raise_from_program(),
               R"(mark #1 ValueError('v') suppress_context context=(#2 KeyError('k'))
outcome raised #3 RuntimeError('r') cause=(#1 ValueError('v') suppress_context context=(#2 KeyError('k'))) suppress_context context=(#1)
)",
               "raise_from");
}

// x = KeyError('same')
// mark x
// mark x, x, KeyError('other')
// try:
//     raise x
// except KeyError as e:
//     mark e
program identity() {
  program p;
  p.main = {assign("x", new_exception("KeyError", {str("same")})), mark({name("x")}),
            mark({name("x"), name("x"), new_exception("KeyError", {str("other")})}),
            try_({raise(name("x"))}, {handler({"KeyError"}, "e", {mark({name("e")})})})};
  return p;
}

TEST(Oracle, SameObjectSameNumber) {
  // Every value of an event is rendered in full; the number says it is the same object.
  expect_trace(identity(), R"(mark #1 KeyError('same')
mark #1 KeyError('same') #1 KeyError('same') #2 KeyError('other')
mark #1 KeyError('same')
outcome ok
)",
               "identity");
}

// cm Pair(a, b):
//     pass
// x = KeyError('x')
// q = Pair(x, x)
// mark q
// with q as r:
//     mark r
program pair_arguments() {
  program p;
  p.cms = {cm("Pair", {"a", "b"}, {})};
  p.main = {assign("x", new_exception("KeyError", {str("x")})),
            assign("q", new_cm("Pair", {name("x"), name("x")})), mark({name("q")}),
            with({item(name("q"), "r")}, {mark({name("r")})})};
  return p;
}

TEST(Oracle, CmArgumentsAreValuesOfTheirOwn) {
  // ARGS are rendered values, each in full, in `<Pair(...)>` as in the events. Without an
  // enter member, enter returns None.
  expect_trace(pair_arguments(), R"(mark <Pair(#1 KeyError('x'), #1 KeyError('x'))>
enter Pair(#1 KeyError('x'), #1 KeyError('x'))
mark None
exit Pair(#1 KeyError('x'), #1 KeyError('x')) None
outcome ok
)",
               "pair_arguments");
}

// a = KeyError('a')
// b = ValueError('b')
// a.__context__ = b
// b.__context__ = a
// b.__suppress_context__ = True
// mark a
// mark b
// raise a
program cyclic_context() {
  program p;
  p.main = {assign("a", new_exception("KeyError", {str("a")})),
            assign("b", new_exception("ValueError", {str("b")})),
            set_attribute("a", exception_attribute::context, name("b")),
            set_attribute("b", exception_attribute::context, name("a")),
            set_attribute("b", exception_attribute::suppress_context, boolean(true)),
            mark({name("a")}),
            mark({name("b")}),
            raise(name("a"))};
  return p;
}

TEST(Oracle, CyclicContextRendersAndTerminates) {
  // Raised with nothing active, so CPython leaves the hand-made cycle alone (no ExitStack: X16).
  expect_trace(cyclic_context(),
               R"(mark #1 KeyError('a') context=(#2 ValueError('b') suppress_context context=(#1))
mark #2 ValueError('b') suppress_context context=(#1 KeyError('a') context=(#2))
outcome raised #1 KeyError('a') context=(#2 ValueError('b') suppress_context context=(#1))
)",
               "cyclic_context");
}

// cm Res(n):
//     close:
//         mark 'closing', n
// c = closing(Res(8))
// mark c
// with closing(Res(7)) as r:
//     mark r
program closing_program() {
  program p;
  p.cms = {cm("Res", {"n"}, {.close = block{mark({str("closing"), name("n")})}})};
  p.main = {assign("c", closing(new_cm("Res", {num(8)}))), mark({name("c")}),
            with({item(closing(new_cm("Res", {num(7)})), "r")}, {mark({name("r")})})};
  return p;
}

TEST(Oracle, Closing) {
  expect_trace(closing_program(), R"(mark <closing>
mark <Res(7)>
close Res(7)
mark 'closing' 7
outcome ok
)",
               "closing");
}

// with nullcontext(5) as v:
//     mark v
// with nullcontext() as w:
//     mark w
// n = nullcontext(KeyError)
// mark n
// with n as k:
//     raise k
program nullcontext_program() {
  program p;
  p.main = {with({item(nullcontext({num(5)}), "v")}, {mark({name("v")})}),
            with({item(nullcontext(), "w")}, {mark({name("w")})}),
            assign("n", nullcontext({name("KeyError")})), mark({name("n")}),
            with({item(name("n"), "k")}, {raise(name("k"))})};
  return p;
}

TEST(Oracle, Nullcontext) {
  expect_trace(nullcontext_program(), R"(mark 5
mark None
mark <nullcontext>
outcome raised #1 KeyError()
)",
               "nullcontext");
}

// class MyError(LookupError)
// sp = suppress(KeyError)
// mark sp
// with suppress(ZeroDivisionError, (IndexError, MyError)) as s:
//     mark s
//     raise MyError('x')
// mark 'suppressed'
// with suppress((IndexError,)):
//     raise KeyError('not suppressed')
program suppress_program() {
  program p;
  p.classes = {exception_class("MyError", "LookupError")};
  p.main = {
      assign("sp", suppress({name("KeyError")})), mark({name("sp")}),
      with(
          {item(suppress({name("ZeroDivisionError"), tuple({name("IndexError"), name("MyError")})}),
                "s")},
          {mark({name("s")}), raise(new_exception("MyError", {str("x")}))}),
      mark({str("suppressed")}),
      with({item(suppress({tuple({name("IndexError")})}))},
           {raise(new_exception("KeyError", {str("not suppressed")}))})};
  return p;
}

TEST(Oracle, SuppressWithATuple) {
  expect_trace(suppress_program(), R"(mark <suppress>
mark None
mark 'suppressed'
outcome raised #1 KeyError('not suppressed')
)",
               "suppress");
}

// class AppError(Exception)
// cm Res(label):
//     enter:
//         return label
//     exit(e):
//         mark 'exit', e
// def quiet(*e):
//     mark 'quiet', e
//     return True
// def helper(x: exception):
//     raise x
// def swallow():
//     try:
//         raise ValueError('lost')
//     finally:
//         return
// with ExitStack() as stack:
//     v = stack.enter_context(Res('a'))
//     mark v
//     stack.push(quiet)
//     moved = stack.pop_all()
// with moved:
//     raise AppError(1)
// mark 'quieted'
// swallow()
// try:
//     try:
//         helper(KeyError('k'))
//     except (IndexError, KeyError) as e:
//         mark e
//         raise
//     finally:
//         mark 'finally'
// except LookupError as outer:
//     mark outer
// with Res('b') as b, Res('c'):
//     mark b
program mixed() {
  program p;
  p.classes = {exception_class("AppError", "Exception")};
  p.cms = {cm("Res", {"label"},
              {.enter = block{ret(name("label"))},
               .exit_param = "e",
               .exit = block{mark({str("exit"), name("e")})}})};
  p.functions = {
      exit_function("quiet", "e", {mark({str("quiet"), name("e")}), ret(boolean(true))}),
      function("helper", {"x"}, {raise(name("x"))}),
      function("swallow", {},
               {try_({raise(new_exception("ValueError", {str("lost")}))}, {}, block{ret()})})};
  p.main = {
      with({item(exit_stack(), "stack")},
           {assign("v", method("stack", stack_method::enter_context, {new_cm("Res", {str("a")})})),
            mark({name("v")}), stack_call("stack", stack_method::push, {name("quiet")}),
            assign("moved", method("stack", stack_method::pop_all))}),
      with({item(name("moved"))}, {raise(new_exception("AppError", {num(1)}))}),
      mark({str("quieted")}),
      call_function("swallow"),
      try_({try_({call_function("helper", {new_exception("KeyError", {str("k")})})},
                 {handler({"IndexError", "KeyError"}, "e", {mark({name("e")}), reraise()}, true)},
                 block{mark({str("finally")})})},
           {handler({"LookupError"}, "outer", {mark({name("outer")})})}),
      with({item(new_cm("Res", {str("b")}), "b"), item(new_cm("Res", {str("c")}))},
           {mark({name("b")})})};
  return p;
}

TEST(Oracle, StackOperationsHandlersAndFinally) {
  expect_trace(mixed(), R"(enter Res('a')
mark 'a'
call quiet(#1 AppError(1))
mark 'quiet' #1 AppError(1)
exit Res('a') None
mark 'exit' None
mark 'quieted'
call swallow()
call helper(#2 KeyError('k'))
mark #2 KeyError('k')
mark 'finally'
mark #2 KeyError('k')
enter Res('b')
enter Res('c')
mark 'b'
exit Res('c') None
mark 'exit' None
exit Res('b') None
mark 'exit' None
outcome ok
)",
               "mixed");
}

// cm Replace:
//     exit(e):
//         raise RuntimeError('from exit')
// with Replace():
//     raise SystemExit(3)
program exit_replaces() {
  program p;
  p.cms = {cm("Replace", {},
              {.exit_param = "e",
               .exit = block{raise(new_exception("RuntimeError", {str("from exit")}))}})};
  p.main = {with({item(new_cm("Replace"))}, {raise(new_exception("SystemExit", {num(3)}))})};
  return p;
}

TEST(Oracle, ExitRaisingReplacesAndChains) {
  // SystemExit is only a value here: it never stops the host process.
  expect_trace(exit_replaces(), R"(enter Replace()
exit Replace() #1 SystemExit(3)
outcome raised #2 RuntimeError('from exit') context=(#1 SystemExit(3))
)",
               "exit_replaces");
}

// Names the checker allows but Python's builtins have: a declared `print` or `repr` would hide
// the builtin from the script's prelude, so the export renames them; the trace does not.
TEST(Oracle, ExportRenamesDeclaredBuiltinNames) {
  ctxmodel::load_result loaded = ctxmodel::load(R"(class Trace(Exception)
class print(Trace)
cm main(sys):
    enter:
        mark sys
        return sys
    exit(exc):
        mark exc
def repr(tb: exception):
    mark tb
def trace(*e):
    mark e
    return True
x = Trace('t')
isinstance = print('p')
with main(x) as sys:
    mark sys, isinstance
with ExitStack() as s:
    s.push(trace)
    s.callback(repr, x)
    raise isinstance
)",
                                                "builtin_names.ctx");
  ASSERT_TRUE(loaded.program) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  expect_trace(*loaded.program, R"(enter main(#1 Trace('t'))
mark #1 Trace('t')
mark #1 Trace('t') #2 print('p')
exit main(#1 Trace('t')) None
mark None
call repr(#1 Trace('t'))
mark #1 Trace('t')
call trace(#2 print('p'))
mark #2 print('p')
outcome ok
)",
               "builtin_names");
}

// Through the parser and checker, as the conformance run does. Catalogue X19: with no exception
// coming in, a callback's error that a later exit suppresses is swallowed.
TEST(Oracle, ParsedProgram) {
  ctxmodel::load_result loaded = ctxmodel::load(R"(def boom():
    raise KeyError('boom')
def swallow(*exc):
    mark exc
    return True
with ExitStack() as stack:
    stack.push(swallow)
    stack.callback(boom)
mark 'after'
)",
                                                "x19.ctx");
  ASSERT_TRUE(loaded.program) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  expect_trace(*loaded.program, R"(call boom()
call swallow(#1 KeyError('boom'))
mark #1 KeyError('boom')
mark 'after'
outcome ok
)",
               "x19");
}

program loaded(const char* text) {
  ctxmodel::load_result r = ctxmodel::load(text, "test.ctx");
  EXPECT_TRUE(r.program) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.program ? *r.program : program{};
}

// CPython's ExitStack loops forever in its context fix-up once an exception's chain is cyclic
// (X16; found by a fuzz campaign: two exits raise the same object, and the stack is entered into
// itself). The oracle interrupts the run at its time limit, also when the program catches the
// interruption, and the next run is unaffected.
TEST(Oracle, AProgramCPythonLoopsForeverOnIsInterrupted) {
  const std::string hang = R"(    with ExitStack() as v4:
        v4.enter_context(C1(v1))
        v4.enter_context(C1(v1))
        with C1(Exception(2)):
            v4.enter_context(v4)
)";
  const program once = loaded((R"(cm C1(p1: exception):
    exit(exc):
        raise p1

v1 = Exception(1)
try:
)" + hang + R"(except Exception:
    pass
)")
                                  .c_str());
  const program caught = loaded((R"(cm C1(p1: exception):
    exit(exc):
        raise p1

v1 = Exception(1)
try:
)" + hang + R"(except:
    mark 'caught the interruption'
try:
)" + hang + R"(except Exception:
    pass
)")
                                    .c_str());
  const auto limit = python().time_limit();
  python().set_time_limit(std::chrono::milliseconds(300));
  for (const program* p : {&once, &caught}) {
    const auto start = std::chrono::steady_clock::now();
    ctxoracle::oracle_result r = python().run(*p);
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.trace);
    EXPECT_NE(r.error.find("did not finish within 300 ms"), std::string::npos) << r.error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  }
  python().set_time_limit(limit);
  expect_trace(loaded("mark 'next run'\n"), "mark 'next run'\noutcome ok\n", "after_timeout");
}

// Python truthiness decides `if NAME:` (None, False, 0 and '' are false; classes, exceptions,
// managers and functions true).
TEST(Oracle, IfTruthiness) {
  expect_trace(loaded(R"(def check(v):
    if v:
        mark 'true', v
    else:
        mark 'false', v
    if not v:
        mark 'not'
check(None)
check(False)
check(0)
check('')
check(True)
check(-7)
check('a')
check(KeyError)
check(KeyError())
check(ExitStack())
check(nullcontext())
check(check)
)"),
               R"(call check(None)
mark 'false' None
mark 'not'
call check(False)
mark 'false' False
mark 'not'
call check(0)
mark 'false' 0
mark 'not'
call check('')
mark 'false' ''
mark 'not'
call check(True)
mark 'true' True
call check(-7)
mark 'true' -7
call check('a')
mark 'true' 'a'
call check(KeyError)
mark 'true' KeyError
call check(#1 KeyError())
mark 'true' #1 KeyError()
call check(<ExitStack>)
mark 'true' <ExitStack>
call check(<nullcontext>)
mark 'true' <nullcontext>
call check(<function check>)
mark 'true' <function check>
outcome ok
)",
               "if_truthiness");
}

// An exit function narrowed by `if exc:` re-raises what it received; a function given the stack
// pushes onto it during the unwind, and what it pushes runs next (catalogue W8, X9). Setting
// __cause__ sets __suppress_context__ too.
TEST(Oracle, NarrowedExitParameterAndStackParameter) {
  expect_trace(loaded(R"(def reraise(*exc):
    if exc:
        exc.__cause__ = exc
        raise exc
    mark 'no exception'
def leaf(v):
    mark v
def push_more(s: stack, v):
    s.callback(leaf, v)
    s.push(reraise)
try:
    with ExitStack() as stack:
        stack.push(reraise)
        stack.callback(push_more, stack, 'pushed')
        raise KeyError('body')
except KeyError as e:
    mark e
)"),
               R"(call push_more(<ExitStack>, 'pushed')
call reraise(#1 KeyError('body'))
call leaf('pushed')
mark 'pushed'
call reraise(#1 KeyError('body') cause=(#1) suppress_context)
mark #1 KeyError('body') cause=(#1) suppress_context
outcome ok
)",
               "narrowed_exit_parameter");
}

// A yield inside a handler, inside a try: what is thrown in there chains to the generator's
// own handled exception (KeyError), not to the caller's — the body's ValueError, then the
// GeneratorExit of the close that follows "didn't stop after throw()" (G18). A generator cm
// renders as <generator NAME>, the function as <function NAME>.
TEST(Oracle, GeneratorYieldInsideAHandler) {
  expect_trace(loaded(R"(@contextmanager
def gen(tag):
    try:
        raise KeyError('handled')
    except KeyError:
        try:
            yield tag
        except ValueError as e:
            mark 'caught', e
        try:
            yield 'again'
        except GeneratorExit as g:
            mark 'closing', g
            raise
with gen(1) as v:
    mark v, gen
    raise ValueError('thrown')
)"),
               R"trace(call gen(1)
mark 1 <function gen>
mark 'caught' #1 ValueError('thrown') context=(#2 KeyError('handled'))
mark 'closing' #3 GeneratorExit() context=(#2 KeyError('handled'))
outcome raised #4 RuntimeError("generator didn't stop after throw()") context=(#1 ValueError('thrown') context=(#2 KeyError('handled')))
)trace",
               "generator_yield_inside_handler");
}

// Decorators (D1-D3): the class-based cm made once at the definition (its argument is the same
// object on every call) is re-entered per call and suppresses (the call returns None); the
// @contextmanager one makes a fresh generator per call; nothing runs before the first call.
TEST(Oracle, Decorators) {
  expect_trace(loaded(R"(cm Guard(tag):
    enter:
        return self
    exit(exc):
        mark 'guard exit', exc
        if exc:
            return True
@contextmanager
def fresh(n):
    mark 'setup', n
    yield
    mark 'teardown', n
@Guard(KeyError('once'))
def f(x):
    mark 'f', x
    raise ValueError('f')
@fresh(7)
def g():
    mark 'g'
c = fresh(0)
mark c, f, g
f(1)
f(2)
g()
g()
)"),
               R"(mark <generator fresh> <function f> <function g>
enter Guard(#1 KeyError('once'))
call f(1)
mark 'f' 1
exit Guard(#1 KeyError('once')) #2 ValueError('f')
mark 'guard exit' #2 ValueError('f')
enter Guard(#1 KeyError('once'))
call f(2)
mark 'f' 2
exit Guard(#1 KeyError('once')) #3 ValueError('f')
mark 'guard exit' #3 ValueError('f')
call fresh(7)
mark 'setup' 7
call g()
mark 'g'
mark 'teardown' 7
call fresh(7)
mark 'setup' 7
call g()
mark 'g'
mark 'teardown' 7
outcome ok
)",
               "decorators");
}

// Built in code: a generator whose yield sits in a with inside a finally, under `if not`.
TEST(Oracle, BuiltGenerator) {
  program p;
  p.functions = {generator_function(
      "gen", {"n"},
      {try_({mark({name("n")})}, {},
            block{if_("n", {with({item(nullcontext({name("n")}), "v")}, {yield_(name("v"))})},
                      std::nullopt, true)})})};
  p.main = {with({item(new_generator("gen", {num(0)}), "x")}, {mark({name("x")})})};
  expect_trace(p, R"(call gen(0)
mark 0
mark 0
outcome ok
)",
               "built_generator");
}

TEST(Oracle, RunsAreIndependent) {
  // Numbering restarts and the reused classes carry nothing over.
  std::string first = oracle_text(exit_stack_chaining());
  EXPECT_EQ(oracle_text(exit_stack_chaining()), first);
  EXPECT_EQ(oracle_text(raise_from_program()), oracle_text(raise_from_program()));
}

// Generators a program leaves suspended (in stacks never closed; one in a reference cycle with
// its stack, so only the collector would free it; ones that ignore GeneratorExit and yield
// again) must not act during a later program: their clean-up would write into its trace, and
// an async generator's finalizer would run on the shared event loop inside it.
program leaves_generators_suspended() {
  return loaded(R"(@contextmanager
def held(s: stack):
    try:
        yield 1
    finally:
        mark 'held closed late'

@contextmanager
def stubborn():
    try:
        yield 1
    finally:
        yield 2
        mark 'stubborn closed late'

@asynccontextmanager
async def aheld():
    try:
        yield 1
    finally:
        await sleep()
        mark 'aheld closed late'

@asynccontextmanager
async def astubborn():
    try:
        yield 1
    finally:
        yield 2
        mark 'astubborn closed late'

s = ExitStack()
v = s.enter_context(held(s))
w = s.enter_context(stubborn())
a = AsyncExitStack()
x = await a.enter_async_context(aheld())
y = await a.enter_async_context(astubborn())
mark v, w, x, y
)");
}

// How many generators of those names the interpreter still holds unfinished.
std::string unfinished_generators() {
  return python().evaluate(
      "sum(1 for o in __import__('gc').get_objects()"
      " if type(o).__name__ in ('generator', 'async_generator')"
      " and o.__name__ in ('held', 'stubborn', 'aheld', 'astubborn')"
      " and (o.ag_frame if type(o).__name__ == 'async_generator' else o.gi_frame) is not None)");
}

TEST(Oracle, GeneratorsLeftSuspendedDoNotReachTheNextRun) {
  const program later = loaded(R"(@contextmanager
def g():
    yield
with g():
    await sleep()
    mark 'clean'
)");
  const std::string clean = "call g()\nmark 'clean'\noutcome ok\n";
  // The exported script leaves them too (and ends as asyncio.run does): it must agree.
  expect_trace(leaves_generators_suspended(), R"(call held(<ExitStack>)
call stubborn()
call aheld()
call astubborn()
mark 1 1 1 1
outcome ok
)",
               "leaves_generators_suspended");
  EXPECT_EQ(unfinished_generators(), "0");
  // The collector runs at every allocation of the next run: nothing of the first may surface.
  const std::string thresholds = python().evaluate("__import__('gc').get_threshold()");
  python().evaluate("__import__('gc').set_threshold(1, 1, 1)");
  std::string next = oracle_text(later);
  python().evaluate("__import__('gc').set_threshold(*" + thresholds + ")");
  EXPECT_EQ(next, clean);
  EXPECT_EQ(oracle_text(leaves_generators_suspended()).substr(0, 23), "call held(<ExitStack>)\n");
  EXPECT_EQ(oracle_text(later), clean);
  EXPECT_EQ(unfinished_generators(), "0");
}

// -- the interpreter

TEST(Interpreter, VersionIsTheEmbeddedInterpreters) {
  EXPECT_EQ(python().version(), std::string("cpython ") + CTXORACLE_TEST_PYTHON_VERSION);
  EXPECT_EQ(python().version(),
            "cpython " + python().evaluate("'%d.%d.%d' % __import__('sys').version_info[:3]"));
}

TEST(Interpreter, RunsFromAnotherThread) {
  // Any thread may call: the oracle takes the GIL per call.
  std::string expected = oracle_text(identity());
  std::string got;
  std::thread([&] { got = oracle_text(identity()); }).join();
  EXPECT_EQ(got, expected);
}

TEST(Interpreter, StartedAsConfigured) {
  EXPECT_EQ(python().evaluate("__import__('sys').flags.isolated"), "1");
  EXPECT_EQ(python().evaluate("__import__('sys').flags.hash_randomization"), "0");
  EXPECT_EQ(python().evaluate("hash('ctxlib') == hash('ctxlib')"), "True");
  EXPECT_EQ(python().evaluate("'site' in __import__('sys').modules"), "False");
  // The walker's reraise is the oracle's own C function (not the ctypes fallback).
  EXPECT_EQ(python().evaluate("__import__('ctxwalker').reraise.__module__"), "_ctxoracle");
}

TEST(Interpreter, BuiltinExceptionTableMatchesCPython) {
  for (const ctxmodel::builtin_exception_class& c : ctxmodel::builtin_exception_classes()) {
    std::string name(c.name);
    SCOPED_TRACE(name);
    std::string expected_bases = c.base.empty() ? "object" : std::string(c.base);
    // CancelledError is asyncio's; every other class is a builtin.
    const std::string module = name == "CancelledError" ? "asyncio" : "builtins";
    EXPECT_EQ(python().evaluate("' '.join(b.__name__ for b in __import__('" + module + "')." +
                                name + ".__bases__)"),
              expected_bases);
    EXPECT_EQ(ctxmodel::find_builtin_exception_class(c.name), &c);
  }
}

TEST(Interpreter, EvaluateReportsPythonErrors) {
  try {
    python().evaluate("1 / 0");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ZeroDivisionError"), std::string::npos) << e.what();
  }
}

// -- oracle failures: an error, never a trace, and the interpreter stays usable

TEST(OracleErrors, UncheckedCallIsAnError) {
  program p;
  p.main = {raise(call(call_kind::unresolved, "KeyError"))};
  ctxoracle::oracle_result r = python().run(p);
  EXPECT_FALSE(r.trace);
  EXPECT_NE(r.error.find("unresolved"), std::string::npos) << r.error;
  EXPECT_THROW(ctxoracle::export_python(p), std::runtime_error);
}

TEST(OracleErrors, UnboundNameIsAnErrorWithTraceback) {
  // Even caught by the program's bare except, the walker's failure is reported.
  program p;
  p.main = {try_({mark({name("nowhere")})}, {handler({}, {}, {pass()})})};
  ctxoracle::oracle_result r = python().run(p);
  EXPECT_FALSE(r.trace);
  EXPECT_NE(r.error.find("Traceback"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("'nowhere' is not bound"), std::string::npos) << r.error;
  EXPECT_EQ(oracle_text(suppressing_exit()).substr(0, 17), "enter Swallow(1)\n");
}

TEST(OracleErrors, ArityMismatchIsAnError) {
  program p = exit_stack_chaining();
  p.main = {call_function("boom", {str("a"), str("b")})};
  ctxoracle::oracle_result r = python().run(p);
  EXPECT_FALSE(r.trace);
  EXPECT_NE(r.error.find("boom takes 1 arguments, got 2"), std::string::npos) << r.error;
}

// -- many runs in one process (a fuzzer's life): no state carries over. Speed is measured by
// the benchmarks (tests/oracle/oracle_bench, bench/), never by a test.

// A typical 10-statement program: a cm, a function, a with, an ExitStack, a try.
program typical() {
  program p = mixed();
  p.main.resize(5);
  p.main.push_back(assign("x", new_exception("KeyError", {str("x")})));
  p.main.push_back(mark({name("x"), num(1), str("s")}));
  p.main.push_back(try_({raise(name("x"))}, {handler({"KeyError"}, "e", {mark({name("e")})})}));
  p.main.push_back(with({item(suppress({name("KeyError")}))}, {raise(name("x"))}));
  p.main.push_back(mark({str("done")}));
  return p;
}

TEST(OracleRuns, ATypicalProgramGivesTheSameTraceEveryRun) {
  program p = typical();
  ASSERT_EQ(p.main.size(), 10u);
  const std::string first = oracle_text(p);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(oracle_text(p), first) << "run " << i;
}

}  // namespace

// Async constructs (W11): the program is compiled from the exporter's text and its top level
// runs as a coroutine on the oracle's one event loop. A handler whose body awaits still handles
// its exception (the raise in the awaited async def chains to it); aexit receives the body's
// exception and its raise chains to it; a bare raise after an await re-raises the same object.
TEST(Oracle, AsyncWithAndAwaitingHandlers) {
  const program p = loaded(R"(acm A(n):
    aenter:
        await sleep()
        return n
    aexit(e):
        mark 'aexit', n, e
        await sleep()
        raise IndexError('aexit')
async def f(x):
    await sleep()
    raise ValueError('a')
try:
    raise KeyError('outer')
except KeyError:
    try:
        await f('a')
    except ValueError as v:
        mark v
try:
    async with A(1) as one:
        mark one
        raise KeyError('body')
except IndexError as i:
    mark i
try:
    raise KeyError('again')
except KeyError:
    try:
        await sleep()
        raise
    except KeyError as k:
        mark k
)");
  const std::string expected = R"(call f('a')
mark #1 ValueError('a') context=(#2 KeyError('outer'))
enter A(1)
mark 1
exit A(1) #3 KeyError('body')
mark 'aexit' 1 #3 KeyError('body')
mark #4 IndexError('aexit') context=(#3 KeyError('body'))
mark #5 KeyError('again')
outcome ok
)";
  expect_trace(p, expected, "async_with_and_awaiting_handlers");
  // The same loop serves the next run (and a program whose top level does not await).
  EXPECT_EQ(oracle_text(p), expected);
  expect_trace(loaded(R"(acm A:
    pass
async def f():
    pass
mark 'sync top level'
)"),
               "mark 'sync top level'\noutcome ok\n", "async_declarations_sync_main");
}

// A StopIteration leaving code that awaits crosses the oracle's coroutine executors unchanged:
// still the same object, its __context__ the exception handled where it was raised (IndexError),
// not the one handled further out (KeyError). Only where the program's own coroutine ends
// (`async def f`) does CPython turn it into RuntimeError (PEP 479).
TEST(Oracle, StopIterationCrossesAwaitingCodeUnchanged) {
  expect_trace(
      loaded(R"(async def f():
    await sleep()
    raise StopIteration('inner')
try:
    raise KeyError('outer')
except KeyError:
    try:
        async with nullcontext():
            try:
                raise IndexError('i')
            except IndexError:
                await sleep()
                raise StopIteration('s')
    except StopIteration as e:
        mark e
try:
    await f()
except RuntimeError as r:
    mark r
)"),
      R"(mark #1 StopIteration('s') context=(#2 IndexError('i') context=(#3 KeyError('outer')))
call f()
mark #4 RuntimeError('coroutine raised StopIteration') cause=(#5 StopIteration('inner')) suppress_context context=(#5)
outcome ok
)",
      "stop_iteration_crosses_awaiting_code");
}
