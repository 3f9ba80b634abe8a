# ctxwalker: runs a ctxlib program on real CPython. The program arrives as nested tuples (built
# by oracle/src/convert.cpp, layout below) and every construct runs as the real Python
# statement: `with` as `with`, try/except/finally as try/except/finally, raise/raise from/bare
# raise as themselves, ExitStack/suppress/nullcontext/closing/contextmanager/ContextDecorator
# from contextlib. Nothing of contextlib is emulated.
#
# A @contextmanager function is the one thing not walked: its body is compiled from the Python
# the exporter writes for it (cached per declaration) and decorated with the real
# contextmanager. Walking it with generator versions of the executors chained by `yield from`
# would not be Python's: gen.throw() and close() chain the exception to the exc_info of the
# innermost generator only, and close() makes a new GeneratorExit per delegating level, so a
# yield inside a handler inside a try would see a different __context__ (and GeneratorExit
# identity) than the same code in one generator frame.
#
# The walker must be invisible to the program: its only except block is the one that stands for
# the program's own `except` clauses (and re-raises what none of them takes, as Python's
# compiled handlers do), program code never runs in any other handler of its own, and `return`
# is a status, not an exception. So __context__, __suppress_context__ and sys.exc_info() are
# exactly what they are in the exported script (tests/oracle/walker_differential.py checks it).
#
# Layout (each node is a tuple whose first item is its code):
#   program    (classes, cms, functions, main)
#   class      (name, base)
#   cm         (name, params, enter|None, exit_param, exit|None, close|None, is_async)
#   function   (name, params, is_exit, body, is_generator, decorator|None, is_async)
#              params: tuple of names; decorator: a NEW_CM or NEW_GENERATOR expression
#   block      tuple of statements
#   statements (PASS,) (MARK, exprs) (ASSIGN, name, expr) (SET_ATTR, name, attr, expr)
#              (RAISE,) (RAISE, expr) (RAISE, expr, cause) (RETURN, expr|None) (EXPR, expr)
#              (WITH, ((expr, name|None), ...), body, is_async) (AWAIT, call)
#              (TRY, body, ((classes|None, is_tuple, name|None, body), ...), final|None)
#              (IF, name, negated, body, else|None) (YIELD, expr|None)
#   expressions (CONST, value) (NAME, name) (NEW_EXCEPTION, class, args) (NEW_CM, cm, args)
#              (NEW_EXIT_STACK,) (NEW_SUPPRESS, args) (NEW_NULLCONTEXT, args)
#              (NEW_CLOSING, args) (CALL, function, args) (TUPLE, items)
#              (METHOD, name, method, args, awaited) (NEW_GENERATOR, function, args) (SLEEP,)
#              (NEW_ASYNC_EXIT_STACK,) (NEW_ACLOSING, args) (NEW_NEUTRAL_EXIT_STACK,)
#
# Programs with async constructs (acm, async def, await, async with) are not walked: the
# exporter's text of the whole program is compiled and run (see run_compiled), on one event
# loop created once for the process.
import asyncio
import builtins
import sys
import traceback
import types

from contextlib import AsyncExitStack, ExitStack, closing, contextmanager, nullcontext, suppress

import ctxtrace

PASS, MARK, ASSIGN, SET_ATTR, RAISE, RETURN, EXPR, WITH, TRY, IF, YIELD, AWAIT = range(12)
(CONST, NAME, NEW_EXCEPTION, NEW_CM, NEW_EXIT_STACK, NEW_SUPPRESS, NEW_NULLCONTEXT, NEW_CLOSING,
 CALL, TUPLE, METHOD, NEW_GENERATOR, SLEEP, NEW_ASYNC_EXIT_STACK, NEW_ACLOSING,
 NEW_NEUTRAL_EXIT_STACK) = range(16)

trace = ctxtrace._trace
# Each level of program nesting costs the walker about three Python frames; CPython's default
# keeps deep C recursion (with -> __enter__ -> ...) well inside an 8 MiB stack. A RecursionError
# CPython raises itself is reported as an oracle failure by ctxtrace, never as a trace.
sys.setrecursionlimit(1000)
RESULT = ' return'  # the key of a frame's return value: never a name (no spaces in names)
MISSING = object()
# The built-in exception classes of the language: Python's builtins and asyncio.CancelledError.
BUILTINS = dict(vars(builtins), CancelledError=asyncio.CancelledError)


class OracleFailure(BaseException):
    """The walker met something a checked program cannot contain: a bug, never a trace."""


# Per run: the declared names (Python's module globals) and each cm class's declaration.
names = {}
cm_decls = {}
failures = []


def fail(message):
    # Recorded first, with where it happened: the program may catch what is raised here, the
    # run still fails.
    failures.append(message + '\n' + ''.join(traceback.format_stack(limit=8)))
    raise OracleFailure(message)


# -- statements: each returns True when a `return` ran (its value is frame[RESULT])

def run_block(block, frame):
    # The commonest statements run right here: every Python call saved is time, and a frame
    # fewer for each exception to pass through (same semantics as their s_* functions).
    for statement in block:
        code = statement[0]
        if code == MARK:
            trace.mark(*arguments(statement[1], frame))
        elif code == WITH and len(statement[1]) == 1:
            manager, name = statement[1][0]
            with EXPRESSIONS[manager[0]](manager, frame) as value:
                if name is not None:
                    frame[name] = value
                if run_block(statement[2], frame):
                    return True
        elif code == RAISE and len(statement) == 2:
            exc = statement[1]
            raise EXPRESSIONS[exc[0]](exc, frame)
        elif STATEMENTS[code](statement, frame):
            return True
    return False


def s_pass(statement, frame):
    return False


def s_mark(statement, frame):
    trace.mark(*arguments(statement[1], frame))
    return False


def s_assign(statement, frame):
    value = statement[2]
    frame[statement[1]] = EXPRESSIONS[value[0]](value, frame)
    return False


def s_set_attr(statement, frame):
    value = evaluate(statement[3], frame)  # Python evaluates the right side first
    target = lookup(statement[1], frame)
    if isinstance(target, type):
        class_cache.clear()  # a declared class was changed: never reuse it
    setattr(target, statement[2], value)
    return False


def s_raise(statement, frame):
    if len(statement) == 1:
        raise  # the exception the enclosing handler (a real except block) is handling
    exc = evaluate(statement[1], frame)
    if len(statement) == 3:
        cause = evaluate(statement[2], frame)
        raise exc from cause
    raise exc


def s_return(statement, frame):
    frame[RESULT] = None if statement[1] is None else evaluate(statement[1], frame)
    return True


def s_expr(statement, frame):
    value = statement[1]
    EXPRESSIONS[value[0]](value, frame)
    return False


def s_with(statement, frame):
    return enter_items(statement[1], 0, statement[2], frame)


def enter_items(items, index, body, frame):
    # `with A as a, B as b:` is exactly nested, B evaluated inside A's protected region (W3).
    manager, name = items[index]
    with evaluate(manager, frame) as value:
        if name is not None:
            frame[name] = value
        if index + 1 < len(items):
            return enter_items(items, index + 1, body, frame)
        return run_block(body, frame)


def s_try(statement, frame):
    body, handlers, final = statement[1], statement[2], statement[3]
    if final is None:
        return try_except(body, handlers, frame)
    try:
        returned = try_except(body, handlers, frame) if handlers else run_block(body, frame)
    finally:
        if run_block(final, frame):
            return True  # as in Python: a return in finally replaces a return or exception
    return returned


def try_except(body, handlers, frame):
    try:
        return run_block(body, frame)
    except BaseException as exc:
        # This except block stands for the program's handler, so the handler body runs in
        # it: what it raises gets __context__ = exc, and a bare raise re-raises exc.
        for classes, _, name, handler_body in handlers:
            if classes is None or matches(exc, classes, frame):
                if name is None:
                    return run_block(handler_body, frame)
                frame[name] = exc
                try:
                    return run_block(handler_body, frame)
                finally:
                    frame.pop(name, None)  # Python unbinds the target: `NAME = None; del NAME`
        raise  # no handler: the same exception goes on, untouched, as in Python


def s_if(statement, frame):
    value = lookup(statement[1], frame)
    if statement[2]:
        if not value:
            return run_block(statement[3], frame)
    elif value:
        return run_block(statement[3], frame)
    if statement[4] is not None:
        return run_block(statement[4], frame)
    return False


def s_yield(statement, frame):
    fail('yield outside a @contextmanager function (the program was not checked?)')


def s_await(statement, frame):
    fail('await in a walked program (async programs are compiled, see run_compiled)')


def e_sleep(expression, frame):
    fail('an async expression in a walked program (async programs are compiled, see '
         'run_compiled)')


def matches(exc, classes, frame):
    # Class names are looked up when the exception arrives, as Python evaluates except
    # clauses; except matching ignores __subclasscheck__, as type.__subclasscheck__ does here.
    kind = type(exc)
    for name in classes:
        if issubclass(kind, lookup(name, frame)):
            return True
    return False


# -- expressions

def evaluate(expression, frame):
    return EXPRESSIONS[expression[0]](expression, frame)


def arguments(expressions, frame):
    # A loop, not a comprehension: in 3.11 a comprehension is one more frame per call.
    values = []
    for e in expressions:
        values.append(EXPRESSIONS[e[0]](e, frame))
    return values


def lookup(name, frame):
    # Python's order: the frame's locals, then the declarations (globals), then builtins.
    value = frame.get(name, MISSING)
    if value is MISSING:
        value = names.get(name, MISSING)
        if value is MISSING:
            value = BUILTINS.get(name, MISSING)
            if value is MISSING:
                fail('name %r is not bound (the program was not checked?)' % name)
    return value


def e_const(expression, frame):
    return expression[1]


def e_name(expression, frame):
    value = frame.get(expression[1], MISSING)  # the common case, inline
    return lookup(expression[1], frame) if value is MISSING else value


def e_new(expression, frame):
    # CLASS(args) and CMNAME(args): a real call of the real class.
    return lookup(expression[1], frame)(*arguments(expression[2], frame))


def e_new_exit_stack(expression, frame):
    return ExitStack()


def e_new_async_exit_stack(expression, frame):
    return AsyncExitStack()  # only its sync methods run in a walked program


def e_new_neutral_exit_stack(expression, frame):
    return ctxtrace._NeutralExitStack()  # only its sync methods run in a walked program


def e_new_suppress(expression, frame):
    return suppress(*arguments(expression[1], frame))


def e_new_nullcontext(expression, frame):
    return nullcontext(*arguments(expression[1], frame))


def e_new_closing(expression, frame):
    return closing(*arguments(expression[1], frame))


def e_tuple(expression, frame):
    return tuple(arguments(expression[1], frame))


def e_method(expression, frame):
    stack = lookup(expression[1], frame)
    return getattr(stack, expression[2])(*arguments(expression[3], frame))


STATEMENTS = [s_pass, s_mark, s_assign, s_set_attr, s_raise, s_return, s_expr, s_with, s_try,
              s_if, s_yield, s_await]
EXPRESSIONS = [e_const, e_name, e_new, e_new, e_new_exit_stack, e_new_suppress,
               e_new_nullcontext, e_new_closing, e_new, e_tuple, e_method, e_new, e_sleep,
               e_new_async_exit_stack, e_sleep, e_new_neutral_exit_stack]


# -- declarations

class WalkerCM(ctxtrace._DeclaredCM):
    """A declared cm: records the event, then runs the declared block as the method."""

    def __enter__(self):
        trace.enter(self)
        decl = cm_decls[type(self)]
        return run_method(decl, decl[2], self, None, None)

    def __exit__(self, typ, exc, tb):
        trace.exit(self, exc)
        decl = cm_decls[type(self)]
        return run_method(decl, decl[4], self, decl[3], exc)


class WalkerClosableCM(WalkerCM):
    def close(self):
        trace.close(self)
        decl = cm_decls[type(self)]
        return run_method(decl, decl[5], self, None, None)


def run_method(decl, block, instance, exc_param, exc):
    if block is None:
        return None  # the default method body: return None
    params = decl[1]
    args = instance._args
    if len(params) != len(args):
        fail('%s takes %d arguments, got %d' % (decl[0], len(params), len(args)))
    frame = dict(zip(params, args))
    frame['self'] = instance
    if exc_param is not None:
        frame[exc_param] = exc
    if run_block(block, frame):
        return frame[RESULT]
    return None


def make_function(decl):
    name, params, is_exit, body = decl[:4]
    if is_exit:
        def function(typ, exc, tb):
            trace.call(name, exc)
            frame = {params[0]: exc}
            return frame[RESULT] if run_block(body, frame) else None
    else:
        def function(*args):
            trace.call(name, *args)
            if len(args) != len(params):
                fail('%s takes %d arguments, got %d' % (name, len(params), len(args)))
            frame = dict(zip(params, args))
            return frame[RESULT] if run_block(body, frame) else None
    function.__name__ = function.__qualname__ = name
    return function


# The globals of compiled generator functions: this run's declarations (filled by declare) and
# what the exported code names besides them.
GENERATOR_GLOBALS = {}
GENERATOR_BASE = {'__builtins__': builtins, '_trace': trace, 'contextmanager': contextmanager,
                  'ExitStack': ExitStack, 'suppress': suppress, 'nullcontext': nullcontext,
                  'closing': closing, 'CancelledError': asyncio.CancelledError}
generator_code = {}  # declaration -> code object of its function


def generator_function(decl):
    """The @contextmanager function: real Python compiled from the exporter's text."""
    code = generator_code.get(decl)
    if code is None:
        import ctxexport  # here: ctxexport imports this module
        if len(generator_code) > CLASS_CACHE_LIMIT:
            generator_code.clear()
        namespace = {}
        exec(compile(ctxexport.generator_source(decl), '<generator %s>' % decl[0], 'exec'),
             namespace)
        code = generator_code[decl] = namespace[decl[0]].__code__
    return contextmanager(types.FunctionType(code, GENERATOR_GLOBALS, decl[0]))


# Creating a class costs ~7 µs, about as much as running a small program, so classes are
# reused across runs: exception classes by (name, base), cm classes by (name, has close). A
# cm class finds this run's declaration through cm_decls. Nothing of a run stays in them,
# except when a program assigns to a class attribute; then the cache is dropped.
class_cache = {}
CLASS_CACHE_LIMIT = 4096


def exception_class(name, base):
    key = (name, base)
    cls = class_cache.get(key)
    if cls is None:
        cls = class_cache[key] = type(name, (base,), {'__module__': '__main__'})
    return cls


def cm_class(name, closable):
    key = (name, closable)
    cls = class_cache.get(key)
    if cls is None:
        base = WalkerClosableCM if closable else WalkerCM
        cls = class_cache[key] = type(name, (base,), {'__module__': '__main__'})
    return cls


def declare(program):
    classes, cms, functions = program[0], program[1], program[2]
    if len(class_cache) > CLASS_CACHE_LIMIT:
        class_cache.clear()
    names.clear()
    cm_decls.clear()
    del failures[:]
    for name, base in classes:
        base_class = names.get(base) or BUILTINS.get(base)
        if not (isinstance(base_class, type) and issubclass(base_class, BaseException)):
            fail('class %s: base %s is not an exception class' % (name, base))
        names[name] = exception_class(name, base_class)
    for decl in cms:
        cls = names[decl[0]] = cm_class(decl[0], decl[5] is not None)
        cm_decls[cls] = decl
    GENERATOR_GLOBALS.clear()
    for decl in functions:
        if decl[4]:
            names[decl[0]] = generator_function(decl)
            continue
        function = make_function(decl)
        if decl[5] is not None:
            # As Python applies `@NAME(ARGS)`: the decorator expression is evaluated where the
            # function is defined, then called with the function (ContextDecorator.__call__).
            function = evaluate(decl[5], {})(function)
        names[decl[0]] = function
    GENERATOR_GLOBALS.update(GENERATOR_BASE)
    GENERATOR_GLOBALS.update(names)


def main_awaits(block):
    """Whether top-level code awaits (an `await` or `async with` anywhere in it)."""
    for s in block or ():
        code = s[0]
        if code == AWAIT or (code == WITH and s[3]):
            return True
        if code in (EXPR, ASSIGN) and s[-1][0] == METHOD and s[-1][4]:
            return True  # an awaited AsyncExitStack method
        if code == WITH and main_awaits(s[2]):
            return True
        if code == TRY and (main_awaits(s[1]) or main_awaits(s[3])
                            or any(main_awaits(h[3]) for h in s[2])):
            return True
        if code == IF and (main_awaits(s[3]) or main_awaits(s[4])):
            return True
    return False


def is_async(program):
    return (main_awaits(program[3]) or any(c[6] for c in program[1])
            or any(f[6] for f in program[2]))


# The one event loop of the process: created on first use and reused by every program.
loop = None


def run_compiled(program):
    """An async program: the exporter's text of it compiled and run (its top level as a
    coroutine on the process's event loop, when it awaits), with ctxtrace's names as globals."""
    global loop
    import ctxexport  # here: ctxexport imports this module
    del failures[:]
    namespace = dict(vars(ctxtrace))
    namespace['__name__'] = '__ctxprogram__'
    exec(compile(ctxexport.program_source(program), '<program>', 'exec'), namespace)
    main = namespace['_main']
    try:
        if main_awaits(program[3]):
            if loop is None:
                loop = asyncio.new_event_loop()
            events = trace.run(lambda: ctxtrace._run_async(main, loop))
        else:
            events = trace.run(main)
        if trace.problems:
            raise OracleFailure('; '.join(trace.problems))
        return events
    finally:
        namespace.clear()
        trace.reset()


def run(program):
    """Runs the program and returns its trace events, ending in the outcome line."""
    if is_async(program):
        return run_compiled(program)
    declare(program)
    frame = {}
    try:
        events = trace.run(lambda: run_block(program[3], frame))
        if failures or trace.problems:
            raise OracleFailure('; '.join(failures + trace.problems))
        return events
    finally:
        # Drop this run's objects now: a cached class must not keep them alive.
        frame.clear()
        names.clear()
        cm_decls.clear()
        GENERATOR_GLOBALS.clear()
        trace.reset()
