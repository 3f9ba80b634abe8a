"""The Python half of oracle_bench (tests/oracle/oracle_bench.cpp): loaded into the oracle's
embedded interpreter, it classifies programs, times what CPython takes to run each program's
exported plain script, and profiles the oracle's Python side with cProfile.

Programs arrive as the tuples oracle/src/convert.cpp builds (the layout in ctxwalker.py).
"""
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import time

import ctxexport
import ctxtrace
import ctxwalker


def count_statements(block):
    total = 0
    for statement in block or ():
        total += 1
        code = statement[0]
        if code == ctxwalker.WITH:
            total += count_statements(statement[2])
        elif code == ctxwalker.TRY:
            total += count_statements(statement[1]) + count_statements(statement[3])
            for handler in statement[2]:
                total += count_statements(handler[3])
        elif code == ctxwalker.IF:
            total += count_statements(statement[3]) + count_statements(statement[4])
    return total


def describe(program):
    """(kind, statements): kind is 'async' (any async construct), 'generator' (a
    @contextmanager) or 'sync'; statements counts every statement, declarations included."""
    classes, cms, functions, main, main_awaits = program
    statements = count_statements(main)
    for cm in cms:
        statements += sum(count_statements(b) for b in (cm[2], cm[4], cm[5]))
    for function in functions:
        statements += count_statements(function[3])
    if main_awaits or any(cm[6] for cm in cms) or any(f[6] for f in functions):
        kind = 'async'
    elif any(function[4] for function in functions):
        kind = 'generator'
    else:
        kind = 'sync'
    return kind, statements


class _Null(io.TextIOBase):
    def write(self, text):
        return len(text)


class PlainScript:
    """A program's exported script, compiled once; run() executes it as `python3 script.py`
    would, minus interpreter startup (stdout discarded). run_program() executes only the
    program's part (declarations and main, the prelude already imported) on the oracle's event
    loop: the cheapest plain-Python run of the program there is."""

    def __init__(self, program):
        self.script = compile(ctxexport.export(program), '<script>', 'exec')
        self.program = compile(ctxexport.program_source(program), '<program>', 'exec')
        self.awaits = program[4]  # main awaits

    def run(self):
        stdout = sys.stdout
        sys.stdout = _Null()
        try:
            exec(self.script, {'__name__': '__main__'})
        finally:
            sys.stdout = stdout

    def run_program(self):
        namespace = dict(vars(ctxtrace))
        exec(self.program, namespace)
        main = namespace['_main']
        if self.awaits:
            global _loop
            if _loop is None:
                _loop = asyncio.new_event_loop()
            events = ctxtrace._trace.run(lambda: ctxtrace._run_async(main, _loop))
        else:
            events = ctxtrace._trace.run(main)
        namespace.clear()
        ctxtrace._trace.reset()
        return events


_loop = None  # the plain runs' own event loop, reused as the oracle reuses its own


def plain_times(programs, rounds):
    """Per program: (µs of the whole script, µs of the program's part), medians over rounds, the
    programs interleaved as a fuzzer would run them."""
    plain = [PlainScript(p) for p in programs]
    script = [[] for _ in plain]
    part = [[] for _ in plain]
    clock = time.perf_counter
    for _ in range(rounds):
        for i, p in enumerate(plain):
            start = clock()
            p.run()
            middle = clock()
            p.run_program()
            script[i].append((middle - start) * 1e6)
            part[i].append((clock() - middle) * 1e6)
    return [(statistics.median(s), statistics.median(t)) for s, t in zip(script, part)]


def clear_caches():
    """Forgets the oracle's program-derived caches (a cold run: every program as if new)."""
    getattr(ctxwalker, 'clear_caches', lambda: None)()


def profile(programs, rounds, cold, top):
    """cProfile of ctxwalker.run over the programs; the `top` entries by own time, as text."""
    profiler = cProfile.Profile()
    run = ctxwalker.run
    for _ in range(rounds):
        for p in programs:
            if cold:
                clear_caches()
            profiler.enable()
            run(p)
            profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats('tottime').print_stats(top)
    return out.getvalue()
