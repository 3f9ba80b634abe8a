# ctxwalker: runs a ctxlib program on real CPython. The program arrives as nested tuples (built
# by oracle/src/convert.cpp, layout below) and every construct runs as the real Python
# statement: `with` as `with`, `async with` as `async with`, try/except/finally as
# try/except/finally, raise/raise from/bare raise as themselves, `await` as `await`,
# ExitStack/AsyncExitStack/suppress/nullcontext/closing/aclosing/contextmanager/
# asynccontextmanager/ContextDecorator from contextlib. Nothing of contextlib is emulated.
#
# The walker must be invisible to the program: its only except block is the one that stands for
# the program's own `except` clauses (and re-raises what none of them takes, as Python's
# compiled handlers do), program code never runs in any other handler of its own, and `return`
# is a status, not an exception. So __context__, __suppress_context__ and sys.exc_info() are
# exactly what they are in the exported script (tests/oracle/walker_differential.py checks it).
# A tree walker, not a compiler: a program runs once (a fuzzer's do), so compiling it first
# would visit every node twice.
#
# Async code (the top level when it awaits, async defs, acm methods) is walked by coroutine
# executors awaited by their parent: the event loop only ever resumes them with send(None), and
# the handled exception of each suspended level is restored on the way down, as for one
# coroutine frame. The one thing a coroutine frame does to what leaves it is turning a
# StopIteration into RuntimeError (PEP 479), so an executor hands a StopIteration to its parent
# as a value (Escaped) and the parent raises it again, unchanged, where it awaited (reraise).
# A statement that does not await (convert.cpp's flag) never suspends, so it runs through the
# synchronous executors: same exceptions, same handled exception, one coroutine fewer.
#
# A generator function (@contextmanager, @asynccontextmanager) is not walked through delegating
# generators: gen.throw() and close() chain the exception to the exc_info of the innermost
# generator only, and close() makes a new GeneratorExit per delegating level. Its body is one
# real generator: a template whose text holds only the statements on the way to a `yield` (with,
# try/except/finally, if) and hands everything else to the walker. The text depends only on
# that shape, never on names or values, so its compiled code is shared by every program of the
# same shape (compile() costs ~100 µs, a cached template a few µs).
#
# Runs are isolated: each has its own recorder, declarations and failures, and what a program
# leaves suspended (a generator in a stack never closed, one that ignored GeneratorExit) is run
# to its end when the run ends, unrecorded, so nothing of it can run during a later program.
#
# Layout (each node is a tuple whose first item is its code):
#   program    (classes, cms, functions, main, main_awaits)
#   class      (name, base)
#   cm         (name, params, enter|None, exit_param, exit|None, close|None, is_async)
#   function   (name, params, is_exit, body, is_generator, decorator|None, is_async)
#              params: tuple of names; decorator: a NEW_CM or NEW_GENERATOR expression
#   block      tuple of statements
#   statements (PASS,) (MARK, exprs) (ASSIGN, name, expr) (SET_ATTR, name, attr, expr)
#              (RAISE,) (RAISE, expr) (RAISE, expr, cause) (RETURN, expr|None) (EXPR, expr)
#              (WITH, ((expr, name|None), ...), body, is_async, awaits) (AWAIT, call)
#              (TRY, body, ((classes|None, is_tuple, name|None, body), ...), final|None, awaits)
#              (IF, name, negated, body, else|None, awaits) (YIELD, expr|None)
#              awaits, main_awaits: whether the code awaits, anywhere in it (python_awaits in
#              model/src/program.cpp); an ASSIGN or EXPR awaits when its value is an awaited
#              METHOD, an AWAIT always
#   expressions (CONST, value) (NAME, name) (NEW_EXCEPTION, class, args) (NEW_CM, cm, args)
#              (NEW_EXIT_STACK,) (NEW_SUPPRESS, args) (NEW_NULLCONTEXT, args)
#              (NEW_CLOSING, args) (CALL, function, args) (TUPLE, items)
#              (METHOD, name, method, args, awaited) (NEW_GENERATOR, function, args) (SLEEP,)
#              (NEW_ASYNC_EXIT_STACK,) (NEW_ACLOSING, args) (NEW_NEUTRAL_EXIT_STACK,)
import asyncio
import builtins
import selectors
import sys
import traceback
import types
import weakref

from contextlib import (AsyncExitStack, ExitStack, aclosing, asynccontextmanager, closing,
                        contextmanager, nullcontext, suppress)

import ctxtrace

PASS, MARK, ASSIGN, SET_ATTR, RAISE, RETURN, EXPR, WITH, TRY, IF, YIELD, AWAIT = range(12)
(CONST, NAME, NEW_EXCEPTION, NEW_CM, NEW_EXIT_STACK, NEW_SUPPRESS, NEW_NULLCONTEXT, NEW_CLOSING,
 CALL, TUPLE, METHOD, NEW_GENERATOR, SLEEP, NEW_ASYNC_EXIT_STACK, NEW_ACLOSING,
 NEW_NEUTRAL_EXIT_STACK) = range(16)

# Each level of program nesting costs the walker about three Python frames; CPython's default
# keeps deep C recursion (with -> __enter__ -> ...) well inside an 8 MiB stack. A RecursionError
# CPython raises itself is reported as an oracle failure by ctxtrace, never as a trace.
sys.setrecursionlimit(1000)
RESULT = ' return'  # the key of a frame's return value: never a name (no spaces in names)
MISSING = object()
# The built-in exception classes of the language: Python's builtins and asyncio.CancelledError.
BUILTINS = dict(vars(builtins), CancelledError=asyncio.CancelledError)
ASYNC_GENERATOR = types.AsyncGeneratorType
# How many generators a run's end closes, and how often it resumes one (bounds for a program
# that keeps making or yielding; a checked program has no loops, so it stops well before).
FINISH_LIMIT = 10000


class OracleFailure(BaseException):
    """The walker met something a checked program cannot contain: a bug, never a trace."""


# Per run: the recorder, the declared names (Python's module globals), each cm class's
# declaration, the walker's failures and weak references to the generators the program made.
trace = ctxtrace._Trace()
names = {}
cm_decls = {}
failures = []
generators = []


def fail(message):
    # Recorded first, with where it happened: the program may catch what is raised here, the
    # run still fails.
    failures.append(message + '\n' + ''.join(traceback.format_stack(limit=8)))
    raise OracleFailure(message)


# -- a StopIteration crossing a coroutine executor

class Escaped:
    """A StopIteration that left the program's code inside a coroutine executor: returned, not
    raised, so CPython does not turn it into RuntimeError at a boundary the exported script
    does not have."""

    __slots__ = ('stop',)

    def __init__(self, stop):
        self.stop = stop


try:
    # The embedding oracle's (oracle/src/interpreter.cpp): PyErr_Restore, from C.
    from _ctxoracle import reraise
except ImportError:  # run on its own (tests/oracle/walker_differential.py): through ctypes
    import ctypes

    _restore = ctypes.pythonapi.PyErr_Restore
    _restore.argtypes = (ctypes.py_object,) * 3
    _restore.restype = None
    _incref = ctypes.pythonapi.Py_IncRef
    _incref.argtypes = (ctypes.py_object,)
    _incref.restype = None

    def reraise(exc):
        """Raises exc as it is, as if it had propagated to here: PyErr_Restore sets no
        __context__, where `raise` would set it to the exception being handled here (ctypes
        raises what PyErr_Restore set when the call returns)."""
        kind, tb = type(exc), exc.__traceback__
        _incref(kind)  # PyErr_Restore takes over three references
        _incref(exc)
        _incref(tb)
        _restore(kind, exc, tb)
        raise OracleFailure('PyErr_Restore did not raise')


def settled(result):
    """A coroutine executor's result (True: a `return` ran, else None), or the StopIteration it
    handed over raised here."""
    if result.__class__ is Escaped:
        reraise(result.stop)
    return result


# -- statements: each returns True when a `return` ran (its value is frame[RESULT])

def run_block(block, frame):
    # The commonest statements run right here: every Python call saved is time, and a frame
    # fewer for each exception to pass through (same semantics as their s_* functions).
    for statement in block:
        code = statement[0]
        if code == MARK:
            trace.mark(*arguments(statement[1], frame))
        elif code == WITH and len(statement[1]) == 1 and not statement[3]:
            manager, name = statement[1][0]
            with EXPRESSIONS[manager[0]](manager, frame) as value:
                if name is not None:
                    frame[name] = value
                del value  # the variable alone keeps it, as in Python
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
    if statement[3]:
        fail('async with in synchronous code (the program was not checked?)')
    return enter_items(statement[1], 0, statement[2], frame)


def enter_items(items, index, body, frame):
    # `with A as a, B as b:` is exactly nested, B evaluated inside A's protected region (W3).
    manager, name = items[index]
    with evaluate(manager, frame) as value:
        if name is not None:
            frame[name] = value
        del value
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
    fail('yield outside a generator function (the program was not checked?)')


def s_await(statement, frame):
    fail('await in synchronous code (the program was not checked?)')


def matches(exc, classes, frame):
    # Class names are looked up when the exception arrives, as Python evaluates except
    # clauses; except matching ignores __subclasscheck__, as type.__subclasscheck__ does here.
    kind = type(exc)
    for name in classes:
        if issubclass(kind, lookup(name, frame)):
            return True
    return False


# -- the same statements in async code: coroutines, each returning a StopIteration that leaves
# it as Escaped. Statements that cannot await run through their synchronous executors.

async def arun_block(block, frame):
    try:
        for statement in block:
            code = statement[0]
            if code == MARK:
                trace.mark(*arguments(statement[1], frame))
            elif code in COMPOUND:
                if statement[-1]:  # it awaits
                    if settled(await ASYNC_STATEMENTS[code](statement, frame)):
                        return True
                elif STATEMENTS[code](statement, frame):
                    return True
            elif code == AWAIT or (code in VALUED and statement[-1][0] == METHOD
                                   and statement[-1][4]):
                if settled(await ASYNC_STATEMENTS[code](statement, frame)):
                    return True
            elif STATEMENTS[code](statement, frame):
                return True
    except StopIteration as stop:
        return Escaped(stop)


async def a_assign(statement, frame):
    try:  # NAME = await STACK.METHOD(...)
        value = statement[2]
        frame[statement[1]] = await EXPRESSIONS[value[0]](value, frame)
    except StopIteration as stop:
        return Escaped(stop)


async def a_await(statement, frame):
    try:  # await sleep(), await f(...), await STACK.METHOD(...)
        value = statement[1]
        await EXPRESSIONS[value[0]](value, frame)
    except StopIteration as stop:
        return Escaped(stop)


def a_with(statement, frame):
    return a_enter_items(statement, 0, frame)


async def a_enter_items(statement, index, frame):
    try:
        manager, name = statement[1][index]
        if statement[3]:
            async with evaluate(manager, frame) as value:
                if name is not None:
                    frame[name] = value
                del value
                return settled(await a_held(statement, index, frame))
        else:
            with evaluate(manager, frame) as value:
                if name is not None:
                    frame[name] = value
                del value
                return settled(await a_held(statement, index, frame))
    except StopIteration as stop:
        return Escaped(stop)


def a_held(statement, index, frame):
    """What a `with` item holds: the next item, or the body (a coroutine to await)."""
    if index + 1 < len(statement[1]):
        return a_enter_items(statement, index + 1, frame)
    return arun_block(statement[2], frame)


async def a_try(statement, frame):
    body, handlers, final = statement[1], statement[2], statement[3]
    try:
        try:
            if not handlers:
                return settled(await arun_block(body, frame))
            try:
                return settled(await arun_block(body, frame))
            except BaseException as exc:  # the program's handler, as in try_except
                for classes, _, name, handler_body in handlers:
                    if classes is None or matches(exc, classes, frame):
                        if name is None:
                            return settled(await arun_block(handler_body, frame))
                        frame[name] = exc
                        try:
                            return settled(await arun_block(handler_body, frame))
                        finally:
                            frame.pop(name, None)
                raise
        finally:
            if final is not None and settled(await arun_block(final, frame)):
                return True  # replaces a return or an exception, as in Python
    except StopIteration as stop:
        return Escaped(stop)


async def a_if(statement, frame):
    try:
        value = lookup(statement[1], frame)
        block = statement[3] if (not value if statement[2] else value) else statement[4]
        if block is not None:
            return settled(await arun_block(block, frame))
    except StopIteration as stop:
        return Escaped(stop)


COMPOUND = frozenset((WITH, TRY, IF))  # the statements that end with `awaits`
VALUED = frozenset((ASSIGN, EXPR))


def awaits(statement):
    """Whether a statement awaits: convert.cpp's answer, read as arun_block reads it."""
    code = statement[0]
    if code in COMPOUND:
        return statement[-1]
    return code == AWAIT or (code in VALUED and statement[-1][0] == METHOD
                             and statement[-1][4])


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
    # CLASS(args), CMNAME(args), f(args), gen(args): a real call of the real object.
    return lookup(expression[1], frame)(*arguments(expression[2], frame))


def e_new_exit_stack(expression, frame):
    return ExitStack()


def e_new_async_exit_stack(expression, frame):
    return AsyncExitStack()


def e_new_neutral_exit_stack(expression, frame):
    return ctxtrace._NeutralExitStack()


def e_new_suppress(expression, frame):
    return suppress(*arguments(expression[1], frame))


def e_new_nullcontext(expression, frame):
    return nullcontext(*arguments(expression[1], frame))


def e_new_closing(expression, frame):
    return closing(*arguments(expression[1], frame))


def e_new_aclosing(expression, frame):
    return aclosing(*arguments(expression[1], frame))


def e_tuple(expression, frame):
    return tuple(arguments(expression[1], frame))


def e_method(expression, frame):
    stack = lookup(expression[1], frame)
    return getattr(stack, expression[2])(*arguments(expression[3], frame))


def e_sleep(expression, frame):
    return asyncio.sleep(0)


STATEMENTS = [s_pass, s_mark, s_assign, s_set_attr, s_raise, s_return, s_expr, s_with, s_try,
              s_if, s_yield, s_await]
ASYNC_STATEMENTS = [None, None, a_assign, None, None, None, a_await, a_with, a_try, a_if, None,
                    a_await]
EXPRESSIONS = [e_const, e_name, e_new, e_new, e_new_exit_stack, e_new_suppress,
               e_new_nullcontext, e_new_closing, e_new, e_tuple, e_method, e_new, e_sleep,
               e_new_async_exit_stack, e_new_aclosing, e_new_neutral_exit_stack]


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


class WalkerACM(ctxtrace._DeclaredACM):
    """A declared acm: as WalkerCM, with coroutine methods."""

    async def __aenter__(self):
        trace.enter(self)
        decl = cm_decls[type(self)]
        return await arun_method(decl, decl[2], self, None, None)

    async def __aexit__(self, typ, exc, tb):
        trace.exit(self, exc)
        decl = cm_decls[type(self)]
        return await arun_method(decl, decl[4], self, decl[3], exc)


class WalkerClosableACM(WalkerACM):
    async def aclose(self):
        trace.close(self)
        decl = cm_decls[type(self)]
        return await arun_method(decl, decl[5], self, None, None)


def method_frame(decl, instance, exc_param, exc):
    params = decl[1]
    args = instance._args
    if len(params) != len(args):
        fail('%s takes %d arguments, got %d' % (decl[0], len(params), len(args)))
    frame = dict(zip(params, args))
    frame['self'] = instance
    if exc_param is not None:
        frame[exc_param] = exc
    return frame


def run_method(decl, block, instance, exc_param, exc):
    if block is None:
        return None  # the default method body: return None
    frame = method_frame(decl, instance, exc_param, exc)
    if run_block(block, frame):
        return frame[RESULT]
    return None


async def arun_method(decl, block, instance, exc_param, exc):
    if block is None:
        return None
    frame = method_frame(decl, instance, exc_param, exc)
    if settled(await arun_block(block, frame)):
        return frame[RESULT]
    return None


def make_function(decl):
    name, params, is_exit, body = decl[:4]
    if decl[6]:
        return make_async_function(name, params, is_exit, body)
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


def make_async_function(name, params, is_exit, body):
    if is_exit:
        async def function(typ, exc, tb):
            trace.call(name, exc)
            frame = {params[0]: exc}
            return frame[RESULT] if settled(await arun_block(body, frame)) else None
    else:
        async def function(*args):
            trace.call(name, *args)
            if len(args) != len(params):
                fail('%s takes %d arguments, got %d' % (name, len(params), len(args)))
            frame = dict(zip(params, args))
            return frame[RESULT] if settled(await arun_block(body, frame)) else None
    function.__name__ = function.__qualname__ = name
    return function


# -- generator functions: templates

def yields(statement):
    """Whether a statement holds a `yield`."""
    code = statement[0]
    if code == YIELD:
        return True
    if code == WITH:
        return blocks_yield(statement[2])
    if code == TRY:
        return (blocks_yield(statement[1]) or blocks_yield(statement[3])
                or any(blocks_yield(h[3]) for h in statement[2]))
    if code == IF:
        return blocks_yield(statement[3]) or blocks_yield(statement[4])
    return False


def blocks_yield(block):
    for statement in block or ():
        if yields(statement):
            return True
    return False


def shape(block, ops, is_async):
    """A generator body's shape (the template's cache key) and, appended to ops in the order
    the template uses them, the parts it hands to the walker. Statements without a yield are
    segments (('s',) run by run_block, ('a',) awaited through arun_block); the others keep
    their structure: ('y', has value), ('w', async, names bound, body),
    ('t', body, ((matches, names bound, body), ...), final), ('i', negated, body, else)."""
    items = []
    pending = []
    for statement in block:
        if not yields(statement):
            pending.append(statement)
            continue
        if pending:
            items.append(segment(pending, ops, is_async))
            pending = []
        code = statement[0]
        if code == YIELD:
            if statement[1] is not None:
                ops.append(statement[1])
            items.append(('y', statement[1] is not None))
        elif code == WITH:
            for manager, name in statement[1]:
                ops.append(manager)
                if name is not None:
                    ops.append(name)
            items.append(('w', statement[3], tuple(name is not None for _, name in statement[1]),
                          shape(statement[2], ops, is_async)))
        elif code == TRY:
            body = shape(statement[1], ops, is_async)
            handlers = []
            for classes, _, name, handler in statement[2]:
                if classes is not None:
                    ops.append(classes)
                if name is not None:
                    ops.append(name)
                handlers.append((classes is not None, name is not None,
                                 shape(handler, ops, is_async)))
            final = None if statement[3] is None else shape(statement[3], ops, is_async)
            items.append(('t', body, tuple(handlers), final))
        else:  # IF
            ops.append(statement[1])
            items.append(('i', statement[2], shape(statement[3], ops, is_async),
                          None if statement[4] is None else shape(statement[4], ops, is_async)))
    if pending:
        items.append(segment(pending, ops, is_async))
    return tuple(items)


def segment(statements, ops, is_async):
    ops.append(tuple(statements))
    if is_async:
        for statement in statements:
            if awaits(statement):
                return ('a',)
    return ('s',)


def template_text(key):
    """The Python of a template: `_factory(ops, call, params, name)` returns the generator
    function of one declaration."""
    is_async, body = key
    lines = [
        'def _factory(_o, _call, _params, _name):',
        '    %s _gen(*_args):' % ('async def' if is_async else 'def'),
        '        _call(_name, *_args)',
        '        if len(_args) != len(_params):',
        "            _fail('%s takes %d arguments, got %d' % (_name, len(_params), len(_args)))",
        '        _f = dict(zip(_params, _args))',
    ]
    count = [0]

    def op():
        count[0] += 1
        return '_o[%d]' % (count[0] - 1)

    def line(depth, text):
        lines.append('    ' * depth + text)

    def block(items, depth):
        for item in items:
            kind = item[0]
            if kind == 's':
                line(depth, 'if _run_block(%s, _f):' % op())
                line(depth + 1, 'return')
            elif kind == 'a':
                line(depth, 'if _settled(await _arun_block(%s, _f)):' % op())
                line(depth + 1, 'return')
            elif kind == 'y':
                line(depth, 'yield _evaluate(%s, _f)' % op() if item[1] else 'yield')
            elif kind == 'w':
                keyword = 'async with' if item[1] else 'with'
                inner = depth  # `with A, B:` is `with A:` holding `with B:`
                for named in item[2]:
                    manager = op()
                    if named:
                        line(inner, '%s _evaluate(%s, _f) as _w%d:' % (keyword, manager, inner))
                        line(inner + 1, '_f[%s] = _w%d' % (op(), inner))
                        line(inner + 1, 'del _w%d' % inner)  # the variable alone keeps it
                    else:
                        line(inner, '%s _evaluate(%s, _f):' % (keyword, manager))
                    inner += 1
                block(item[3], inner)
            elif kind == 't':
                line(depth, 'try:')
                block(item[1], depth + 1)
                if item[2]:
                    # As try_except: this except block stands for the program's handlers.
                    exc = '_e%d' % depth
                    line(depth, 'except BaseException as %s:' % exc)
                    keyword = 'if'
                    for has_classes, named, handler in item[2]:
                        if has_classes:
                            line(depth + 1, '%s _matches(%s, %s, _f):' % (keyword, exc, op()))
                        else:
                            line(depth + 1, 'else:' if keyword == 'elif' else 'if True:')
                        keyword = 'elif'
                        if named:
                            name = op()
                            line(depth + 2, '_f[%s] = %s' % (name, exc))
                            line(depth + 2, 'try:')
                            block(handler, depth + 3)
                            line(depth + 2, 'finally:')
                            line(depth + 3, '_f.pop(%s, None)' % name)
                        else:
                            block(handler, depth + 2)
                        if not has_classes:
                            break
                    else:
                        line(depth + 1, 'else:')
                        line(depth + 2, 'raise')
                if item[3] is not None:
                    line(depth, 'finally:')
                    block(item[3], depth + 1)
            else:  # 'i'
                line(depth, '%s _lookup(%s, _f):' % ('if not' if item[1] else 'if', op()))
                block(item[2], depth + 1)
                if item[3] is not None:
                    line(depth, 'else:')
                    block(item[3], depth + 1)

    block(body, 2)
    lines += ['    return _gen', '']
    return '\n'.join(lines)


# Template cache: (is async, shape) -> factory. Templates call back into the walker.
templates = {}
TEMPLATE_LIMIT = 4096
TEMPLATE_GLOBALS = {'__builtins__': builtins}


def generator_function(decl):
    """The @contextmanager (@asynccontextmanager) function: contextlib's decorator on a function
    making real generators from its shape's template."""
    name, params, body, is_async = decl[0], decl[1], decl[3], decl[6]
    ops = []
    key = (is_async, shape(body, ops, is_async))
    factory = templates.get(key)
    if factory is None:
        if len(templates) >= TEMPLATE_LIMIT:
            templates.clear()
        namespace = dict(TEMPLATE_GLOBALS)
        exec(compile(template_text(key), '<generator template>', 'exec'), namespace)
        factory = templates[key] = namespace['_factory']
    make = factory(tuple(ops), trace.call, params, name)
    make.__name__ = make.__qualname__ = name  # its generators take their name from it

    def function(*args):
        generator = make(*args)
        generators.append(weakref.ref(generator))
        return generator
    function.__name__ = function.__qualname__ = name
    return (asynccontextmanager if is_async else contextmanager)(function)


# Creating a class costs ~7 µs, about as much as running a small program, so classes are
# reused across runs: exception classes by (name, base), cm classes by (name, has close,
# async). A cm class finds this run's declaration through cm_decls. Nothing of a run stays in
# them, except when a program assigns to a class attribute; then the cache is dropped.
class_cache = {}
CLASS_CACHE_LIMIT = 4096
CM_BASES = {(False, False): WalkerCM, (True, False): WalkerClosableCM,
            (False, True): WalkerACM, (True, True): WalkerClosableACM}


def clear_caches():
    """Forgets every program-derived cache (classes, generator templates), as if every program
    from now on were new: for benchmarks of the cold case."""
    class_cache.clear()
    templates.clear()


def exception_class(name, base):
    key = (name, base)
    cls = class_cache.get(key)
    if cls is None:
        cls = class_cache[key] = type(name, (base,), {'__module__': '__main__'})
    return cls


def cm_class(name, closable, is_async):
    key = (name, closable, is_async)
    cls = class_cache.get(key)
    if cls is None:
        base = CM_BASES[closable, is_async]
        cls = class_cache[key] = type(name, (base,), {'__module__': '__main__'})
    return cls


def declare(program):
    classes, cms, functions = program[0], program[1], program[2]
    if len(class_cache) > CLASS_CACHE_LIMIT:
        class_cache.clear()
    for name, base in classes:
        base_class = names.get(base) or BUILTINS.get(base)
        if not (isinstance(base_class, type) and issubclass(base_class, BaseException)):
            fail('class %s: base %s is not an exception class' % (name, base))
        names[name] = exception_class(name, base_class)
    for decl in cms:
        cls = names[decl[0]] = cm_class(decl[0], decl[5] is not None, decl[6])
        cm_decls[cls] = decl
    for decl in functions:
        function = generator_function(decl) if decl[4] else make_function(decl)
        if decl[5] is not None:
            # As Python applies `@NAME(ARGS)`: the decorator expression is evaluated where the
            # function is defined, then called with the function (ContextDecorator.__call__).
            function = evaluate(decl[5], {})(function)
        names[decl[0]] = function


# -- the end of a run

def drive(awaitable):
    """Runs an awaitable that only awaits asyncio.sleep(0) (what the program's code awaits) to
    its end, without an event loop."""
    for _ in range(FINISH_LIMIT):
        awaitable.send(None)
    awaitable.close()


def finish_generators():
    """Runs every generator the program left unfinished to its end, with the trace already
    taken: closed as Python closes it when it is collected, again while it ignores
    GeneratorExit and yields. Their code may make more generators; those are finished too."""
    index = 0
    while index < len(generators) and index < FINISH_LIMIT:
        generator = generators[index]()
        index += 1
        if generator is None:
            continue
        is_async = type(generator) is ASYNC_GENERATOR
        for attempt in range(FINISH_LIMIT):
            if (generator.ag_frame if is_async else generator.gi_frame) is None:
                break
            try:
                if not is_async:
                    generator.close()
                elif attempt == 0:
                    drive(generator.aclose())
                else:
                    # aclose() works once; a generator that yielded again gets GeneratorExit
                    # as Python's finalizer would give it.
                    awaitable = generator.asend(None)
                    awaitable.throw(GeneratorExit)
                    drive(awaitable)
            except BaseException:  # what the program's clean-up raises is not in the trace
                pass
    del generators[:]


class NoIOSelector(selectors.BaseSelector):
    """The oracle loop's selector. Programs do no I/O (they await only asyncio.sleep(0)), so an
    iteration of the loop has nothing to wait for: select() answers at once, without the epoll
    call (and selectors.py's bookkeeping) a real selector makes per iteration, ~2 µs each.
    Everything else is asyncio's own loop: tasks, handles, async generator hooks. A loop with
    nothing ready would spin instead of blocking, which only a hung program can make it do, and
    the oracle's watchdog interrupts Python code, where it could not interrupt an epoll wait."""

    def __init__(self):
        self._keys = {}

    def register(self, fileobj, events, data=None):
        key = selectors.SelectorKey(fileobj, selectors._fileobj_to_fd(fileobj), events, data)
        self._keys[key.fd] = key
        return key

    def unregister(self, fileobj):
        return self._keys.pop(selectors._fileobj_to_fd(fileobj))

    def select(self, timeout=None):
        return []

    def get_map(self):
        return self._keys

    def close(self):
        self._keys.clear()


# The one event loop of the process: created on first use and reused by every program.
loop = None


def run(program):
    """Runs the program and returns its trace events, ending in the outcome line."""
    global trace, loop
    trace = ctxtrace._Trace()  # a recorder of its own: code of this run never reaches another
    names.clear()
    cm_decls.clear()
    del failures[:]
    del generators[:]
    frame = {}
    try:
        declare(program)
        main = program[3]
        if program[4]:  # main awaits
            async def top_level():
                settled(await arun_block(main, frame))
            if loop is None:
                loop = asyncio.SelectorEventLoop(NoIOSelector())
            events = trace.run(lambda: ctxtrace._run_async(top_level, loop))
        else:
            events = trace.run(lambda: run_block(main, frame))
        if failures or trace.problems:
            raise OracleFailure('; '.join(failures + trace.problems))
        return events
    finally:
        # Nothing of this run may act in a later one: finish what it left suspended, then drop
        # its objects now (a cached class must not keep them alive).
        finish_generators()
        frame.clear()
        names.clear()
        cm_decls.clear()
        # An exception's traceback holds the frames it passed, whose locals often hold it: drop
        # the tracebacks of the exceptions the trace showed (nothing observes them any more),
        # so refcounting frees more of a run's objects than the cycle collector must (its
        # collections were 5.5% of the oracle's instructions on bench/mix.txt; this saves 1.3%).
        for exc in trace.numbered:
            exc.__traceback__ = None
        trace.reset()


TEMPLATE_GLOBALS.update(_run_block=run_block, _arun_block=arun_block, _evaluate=evaluate,
                        _lookup=lookup, _matches=matches, _settled=settled, _fail=fail)
