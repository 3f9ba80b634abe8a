# ctxtrace: records what a ctxlib program does and renders it as trace text (docs/language.md,
# "Traces"). This is the only trace renderer on the Python side: the oracle's walker records
# through it, and every script made by export_python starts with this module verbatim, so an
# exported script prints exactly what the oracle returns.
#
# Every name it defines starts with `_` (the language reserves those for generated code) or is
# one of contextlib's names the language reserves (ExitStack, suppress, nullcontext, closing,
# contextmanager, asynccontextmanager), so a program's names never collide with the prelude's.
import asyncio as _asyncio
import sys as _sys
import types as _types
from asyncio import sleep as _sleep
from contextlib import AsyncContextDecorator as _AsyncContextDecorator
from contextlib import ContextDecorator as _ContextDecorator
from contextlib import AsyncExitStack, ExitStack, aclosing, closing, contextmanager, nullcontext
from contextlib import asynccontextmanager, suppress
from contextlib import _AsyncGeneratorContextManager, _GeneratorContextManager


class _DeclaredCM(_ContextDecorator):
    """Base of the program's `cm` classes: an instance remembers its constructor arguments.
    Being a ContextDecorator only matters when it decorates a function (`@NAME(ARGS)`)."""

    def __init__(self, *args):
        self._args = args


class _DeclaredACM(_AsyncContextDecorator):
    """Base of the program's `acm` classes (async context managers), like _DeclaredCM."""

    def __init__(self, *args):
        self._args = args


class _NeutralExitStack(AsyncExitStack):
    """A NeutralExitStack (asyncstdlib's async-neutral stack). Its reference is CPython's
    AsyncExitStack with the method matching each entry (the export chooses it from the entry's
    static kind: enter_context or enter_async_context, push or push_async_exit, callback or
    push_async_callback)."""


def _ignore_loop_error(loop, context):
    pass


_script_loop = None  # an exported script's event loop, closed once its trace is complete


def _run_async(main, loop=None):
    """Runs the coroutine function main() to completion (on `loop`, else on the script's own
    loop, which _print_trace closes as asyncio.run would, once the trace is complete) and raises
    what escaped it as the same object: the wrapper catches it inside the coroutine, so asyncio
    never turns it into another (a cancelled task's new CancelledError)."""
    global _script_loop
    if loop is None:
        if _script_loop is None:
            _script_loop = _asyncio.new_event_loop()
        loop = _script_loop

    async def outer():
        try:
            await main()
        except BaseException as e:  # only carries it out: nothing of the program runs in here
            return e
        finally:
            # What runs after the program (an async generator left suspended, finalized by the
            # loop) is not part of the trace: its errors are not reported either.
            _asyncio.get_running_loop().set_exception_handler(_ignore_loop_error)
        return None

    escaped = loop.run_until_complete(outer())
    if escaped is not None:
        try:
            raise escaped
        finally:
            escaped = None


class _Trace:
    """The events of one run, plus the identity numbering of the exceptions they show."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.events = []
        self.numbers = {}  # id(exception) -> N of `#N`, in first-rendered order
        self.numbered = []  # keeps numbered exceptions alive, so no id is reused mid-run
        self.problems = []  # values the language cannot produce: a bug, never a trace
        self.kept = None  # an exported main's variables, kept until the trace is complete

    # -- events (each starts when the program's code starts, before its block runs)

    def enter(self, cm):
        self.events.append('enter ' + self.instance(cm))

    def exit(self, cm, exc):
        self.events.append(f'exit {self.instance(cm)} {self.render(exc)}')

    def close(self, cm):
        self.events.append('close ' + self.instance(cm))

    def call(self, name, *args):
        self.events.append(f'call {name}({", ".join(map(self.render, args))})')

    def mark(self, *values):
        self.events.append('mark ' + ' '.join(map(self.render, values)))

    def run(self, main):
        """Runs main() and returns the events, ending in the outcome line."""
        self.reset()
        escaped = None
        try:
            main()
        except BaseException as e:  # only records it: nothing of the program runs in here
            escaped = e
        events = self.events
        if escaped is None:
            events.append('outcome ok')
        else:
            events.append('outcome raised ' + self.render(escaped))
            # Its traceback holds this frame, which holds it: break the cycle, so refcounting
            # frees the run's objects and the cycle collector has less to do.
            escaped = None
        # What runs once the program is over (a generator left suspended, closed when what kept
        # it is collected) is not part of the trace: the C++ side closes those unrecorded too.
        self.events = []
        return events

    # -- rendering

    def instance(self, cm):
        # `NAME(ARGS)`: every argument is a value of its own (docs/language.md, ARGS).
        return f'{type(cm).__name__}({", ".join(map(self.render, cm._args))})'

    def render(self, value):
        """One value, as an event writes it: how depends only on the value's type, so the choice
        is made once per type (a chain of isinstance tests, several of them through ABCMeta, was
        a seventh of the oracle's time)."""
        how = _RENDERERS.get(type(value))
        if how is None:
            if len(_RENDERERS) > 4096:  # types of earlier programs: let them go
                _RENDERERS.clear()
            how = _RENDERERS[type(value)] = _renderer(type(value))
        return how(self, value)

    def exception(self, exc, seen):
        # `seen`: the ids of the exceptions already written within this value.
        key = id(exc)
        number = self.numbers.get(key)
        if number is None:
            number = self.numbers[key] = len(self.numbers) + 1
            self.numbered.append(exc)
        if key in seen:
            return f'#{number}'  # written earlier in this value: also ends a cycle
        seen.add(key)
        kind = type(exc)
        if kind is RecursionError and str(exc).startswith('maximum recursion depth'):
            self.problems.append('CPython ran out of recursion depth: %s' % exc)
        args = exc.args
        text = (f'#{number} {kind.__name__}({repr(args[0])})' if len(args) == 1 else
                f'#{number} {kind.__name__}({", ".join(map(repr, args))})')
        if exc.__cause__ is not None:
            text += f' cause=({self.exception(exc.__cause__, seen)})'
        if exc.__suppress_context__:
            text += ' suppress_context'
        if exc.__context__ is not None:
            text += f' context=({self.exception(exc.__context__, seen)})'
        return text



def _renderer(kind):
    """How render() writes a value of type `kind` (isinstance's answers, asked once)."""
    if kind is type(None):
        return lambda trace, value: 'None'
    if kind is bool:
        return lambda trace, value: 'True' if value else 'False'
    if kind is int or kind is str:
        return lambda trace, value: repr(value)
    if issubclass(kind, BaseException):
        return lambda trace, value: trace.exception(value, set())
    if issubclass(kind, type):
        return lambda trace, value: value.__name__
    if issubclass(kind, (_DeclaredCM, _DeclaredACM)):
        return lambda trace, value: '<%s>' % trace.instance(value)
    for base, text in ((ExitStack, '<ExitStack>'), (_NeutralExitStack, '<NeutralExitStack>'),
                       (AsyncExitStack, '<AsyncExitStack>'), (suppress, '<suppress>'),
                       (nullcontext, '<nullcontext>'), (closing, '<closing>'),
                       (aclosing, '<aclosing>')):
        if issubclass(kind, base):
            return lambda trace, value: text
    if issubclass(kind, (_GeneratorContextManager, _AsyncGeneratorContextManager)):
        return lambda trace, value: '<generator %s>' % value.gen.__name__
    if issubclass(kind, _types.FunctionType):
        return lambda trace, value: '<function %s>' % value.__name__

    def cannot(trace, value):
        trace.problems.append('cannot render a %s: %r' % (kind.__name__, value))
        return '<?>'
    return cannot


_RENDERERS = {}  # type -> its renderer


_trace = _Trace()


def _unraisable(unraisable):
    """A generator collected while suspended that ignores GeneratorExit again: CPython reports it
    on stderr and goes on. It is not a trace event (the C++ side has no such report), so it is
    not printed either: the output stays exactly the trace."""


_sys.unraisablehook = _unraisable


def _close_script_loop():
    """asyncio.run's ending for the script's loop, after the trace: async generators the program
    left suspended are closed then (what they do is not part of the trace, as in the oracle),
    then the loop."""
    global _script_loop
    loop, _script_loop = _script_loop, None
    if loop is not None:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _print_trace(main):
    """An exported script's last step: run main() and print the trace text."""
    events = _trace.run(main)
    _close_script_loop()
    if _trace.problems:
        _sys.exit('ctxtrace: ' + '; '.join(_trace.problems))
    _sys.stdout.write(''.join([event + '\n' for event in events]))
