"""ctxlib_bench's Python side: the library benchmarks' operations on CPython's contextlib.

Each `NAME(count, size)` performs its operation `count` times; the C++ side times the call, so
Python's own `for` step and 1/count of the call are part of each operation's time. The
operations mirror the C++ ones in library_bench.cpp, with the cheapest Python callbacks that
keep their meaning: callbacks do nothing, exits only test the exception's type.

run_script(code) executes a compiled exported script as `python3 script.py` would and returns
what it printed.
"""
import asyncio
import builtins
import io
import sys
from contextlib import AsyncExitStack, ExitStack, contextmanager


class BenchError(Exception):
    """The exception the benchmarks raise."""


class ClassCM:
    """A class-based context manager that suppresses BenchError (counting_cm in C++)."""

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        return typ is not None and issubclass(typ, BenchError)


def _with_blocks(count, make):
    """`with make() as value: pass`, `count` times."""
    for _ in range(count):
        with make() as value:
            pass


def with_no_exception(count, size):
    _with_blocks(count, ClassCM)


def with_suppressed(count, size):
    for _ in range(count):
        with ClassCM():
            raise BenchError


def _noop():
    pass


def exit_stack(count, size):
    """`size` callbacks on an ExitStack closed by its with statement, no exception."""
    for _ in range(count):
        with ExitStack() as stack:
            for _ in range(size):
                stack.callback(_noop)


def _inspect(typ, exc, tb):
    """An exit that looks at the exception's type and never suppresses."""
    if typ is not None and issubclass(typ, BenchError):
        pass
    return False


def escape(count, size):
    """BenchError raised in the with-block of an ExitStack of `size` exits, caught outside."""
    for _ in range(count):
        try:
            with ExitStack() as stack:
                for _ in range(size):
                    stack.push(_inspect)
                raise BenchError
        except BenchError:
            pass


@contextmanager
def _managed():
    value = 42
    yield value


def contextmanager_no_exception(count, size):
    _with_blocks(count, _managed)


def contextmanager_exception(count, size):
    """BenchError raised in the with-block, thrown into the generator, propagated, caught."""
    for _ in range(count):
        try:
            with _managed():
                raise BenchError
        except BenchError:
            pass


async def _async_noop():
    pass


async def _async_stacks(count, size):
    for _ in range(count):
        async with AsyncExitStack() as stack:
            for _ in range(size):
                stack.push_async_callback(_async_noop)


# One loop for every run, created once; entering run_until_complete once per call is part of
# the time (spread over `count` stacks).
_loop = asyncio.new_event_loop()


def async_exit_stack(count, size):
    """`size` async callbacks on an AsyncExitStack closed by its async with, no exception."""
    _loop.run_until_complete(_async_stacks(count, size))


def run_script(code):
    saved = sys.stdout
    sys.stdout = captured = io.StringIO()
    try:
        exec(code, {'__name__': '__main__', '__builtins__': builtins})
    finally:
        sys.stdout = saved
    return captured.getvalue()
