# ctxexport: writes a ctxlib program (the tuples of ctxwalker.py) as a standalone Python script:
# the ctxtrace prelude verbatim, then the program in literal Python (class statements, def
# __enter__/__exit__, @contextmanager generators, decorators, with, try/except/finally, raise
# ... from ...), then a main that prints the trace. `python3 script.py` prints exactly what the
# oracle returns for the program. The walker compiles @contextmanager functions from
# generator_source(), the same text with the program's names unchanged.
import builtins
import keyword

import ctxtrace
from ctxwalker import (ASSIGN, AWAIT, CALL, CONST, EXPR, IF, MARK, METHOD, NAME, NEW_CLOSING,
                       NEW_CM, NEW_EXCEPTION, NEW_EXIT_STACK, NEW_GENERATOR, NEW_NULLCONTEXT,
                       NEW_SUPPRESS, PASS, RAISE, RETURN, SET_ATTR, SLEEP, TRY, TUPLE, WITH, YIELD,
                       NEW_ACLOSING, NEW_ASYNC_EXIT_STACK, NEW_NEUTRAL_EXIT_STACK)

PRELUDE = None  # ctxtrace.py's text, set by the oracle when it loads the modules
INDENT = '    '


class Names:
    """Program names to Python names. The checker keeps program names clear of Python's
    keywords and of the script's own names (which start with `_`); what is left is a declared
    name that would hide a builtin the prelude uses (`def repr(x):`). Such a name, and anything
    else Python would not take as it is, gets underscores appended (the trace keeps the
    original). One mapping for every use, so a variable shadows a declaration exactly as in the
    oracle."""

    def __init__(self, program_names, declared):
        taken = set(vars(ctxtrace)) | {'_main'}
        shadowing_builtins = set(declared) & set(vars(builtins))
        self.python = {}
        used = set(program_names)
        for name in sorted(program_names):
            private = name.startswith('__') and not name.endswith('__')
            dunder = name.startswith('__') and name.endswith('__')
            if not (keyword.iskeyword(name) or private or dunder or name in taken
                    or name in shadowing_builtins):
                self.python[name] = name
                continue
            candidate = 'p' + name if private else name + '_'
            while candidate in used or candidate in taken or keyword.iskeyword(candidate):
                candidate += '_'
            used.add(candidate)
            self.python[name] = candidate
        self.used = used | taken

    def __getitem__(self, name):
        return self.python[name]

    def fresh(self, name):
        while name in self.used:
            name += '_'
        return name


def collect_names(program):
    """Every name the program writes, and the declared ones."""
    found = set()

    def expression(e):
        code = e[0]
        if code == NAME:
            found.add(e[1])
        elif code in (NEW_EXCEPTION, NEW_CM, CALL, NEW_GENERATOR):
            found.add(e[1])
            for a in e[2]:
                expression(a)
        elif code in (NEW_SUPPRESS, NEW_NULLCONTEXT, NEW_CLOSING, TUPLE, NEW_ACLOSING):
            for a in e[1]:
                expression(a)
        elif code == METHOD:
            found.add(e[1])
            for a in e[3]:
                expression(a)

    def block(statements):
        for s in statements or ():
            code = s[0]
            if code == MARK:
                for e in s[1]:
                    expression(e)
            elif code in (ASSIGN, SET_ATTR):
                found.add(s[1])
                expression(s[-1])
            elif code == RAISE:
                for e in s[1:]:
                    expression(e)
            elif code in (RETURN, EXPR, YIELD, AWAIT):
                if s[1] is not None:
                    expression(s[1])
            elif code == WITH:
                for manager, name in s[1]:
                    expression(manager)
                    if name is not None:
                        found.add(name)
                block(s[2])
            elif code == TRY:
                block(s[1])
                for classes, _, name, body in s[2]:
                    found.update(classes or ())
                    if name is not None:
                        found.add(name)
                    block(body)
                block(s[3])
            elif code == IF:
                found.add(s[1])
                block(s[3])
                block(s[4])

    classes, cms, functions, main = program[:4]
    declared = [c[0] for c in classes] + [c[0] for c in cms] + [f[0] for f in functions]
    found.update(declared)
    found.update(c[1] for c in classes)
    for name, params, enter, exit_param, exit_block, close, is_async in cms:
        found.update(params)
        if exit_block is not None:
            found.add(exit_param)
        for b in (enter, exit_block, close):
            block(b)
    for name, params, is_exit, body, is_generator, decorator, is_async in functions:
        found.update(params)
        if decorator is not None:
            expression(decorator)
        block(body)
    block(main)
    return found, declared


class Writer:
    def __init__(self, program):
        found, declared = collect_names(program)
        self.found = found
        self.names = Names(found, declared)
        self.typ = self.names.fresh('typ')
        self.tb = self.names.fresh('tb')
        self.lines = []

    def line(self, depth, text):
        self.lines.append(INDENT * depth + text)

    # -- expressions

    def expression(self, e):
        code = e[0]
        n = self.names
        if code == CONST:
            return repr(e[1])  # None, True, False, int, str: Python's repr is its literal
        if code == NAME:
            return n[e[1]]
        if code in (NEW_EXCEPTION, NEW_CM, CALL, NEW_GENERATOR):
            return '%s(%s)' % (n[e[1]], self.arguments(e[2]))
        if code == NEW_EXIT_STACK:
            return 'ExitStack()'
        if code == NEW_ASYNC_EXIT_STACK:
            return 'AsyncExitStack()'
        if code == NEW_NEUTRAL_EXIT_STACK:
            return '_NeutralExitStack()'
        if code == NEW_ACLOSING:
            return 'aclosing(%s)' % self.arguments(e[1])
        if code == NEW_SUPPRESS:
            return 'suppress(%s)' % self.arguments(e[1])
        if code == NEW_NULLCONTEXT:
            return 'nullcontext(%s)' % self.arguments(e[1])
        if code == NEW_CLOSING:
            return 'closing(%s)' % self.arguments(e[1])
        if code == SLEEP:
            return '_sleep(0)'
        if code == TUPLE:
            items = [self.expression(i) for i in e[1]]
            return '(%s,)' % items[0] if len(items) == 1 else '(%s)' % ', '.join(items)
        if code == METHOD:
            return '%s%s.%s(%s)' % ('await ' if e[4] else '', n[e[1]], e[2],
                                    self.arguments(e[3]))
        raise ValueError('unknown expression %r' % (e,))

    def arguments(self, expressions):
        return ', '.join([self.expression(e) for e in expressions])

    # -- statements

    def block(self, statements, depth):
        if not statements:
            self.line(depth, 'pass')
        for s in statements:
            self.statement(s, depth)

    def statement(self, s, depth):
        code = s[0]
        n = self.names
        if code == PASS:
            self.line(depth, 'pass')
        elif code == MARK:
            self.line(depth, '_trace.mark(%s)' % self.arguments(s[1]))
        elif code == ASSIGN:
            self.line(depth, '%s = %s' % (n[s[1]], self.expression(s[2])))
        elif code == SET_ATTR:
            self.line(depth, '%s.%s = %s' % (n[s[1]], s[2], self.expression(s[3])))
        elif code == RAISE:
            text = 'raise'
            if len(s) > 1:
                text += ' ' + self.expression(s[1])
            if len(s) > 2:
                text += ' from ' + self.expression(s[2])
            self.line(depth, text)
        elif code == RETURN:
            self.line(depth, 'return' if s[1] is None else 'return ' + self.expression(s[1]))
        elif code == YIELD:
            self.line(depth, 'yield' if s[1] is None else 'yield ' + self.expression(s[1]))
        elif code == EXPR:
            self.line(depth, self.expression(s[1]))
        elif code == AWAIT:
            self.line(depth, 'await ' + self.expression(s[1]))
        elif code == WITH:
            items = []
            for manager, name in s[1]:
                item = self.expression(manager)
                items.append(item if name is None else '%s as %s' % (item, n[name]))
            self.line(depth, '%swith %s:' % ('async ' if s[3] else '', ', '.join(items)))
            self.block(s[2], depth + 1)
        elif code == TRY:
            self.line(depth, 'try:')
            self.block(s[1], depth + 1)
            for classes, is_tuple, name, body in s[2]:
                if classes is None:
                    # Python has no `except as NAME`; a bare except catches BaseException.
                    text = 'except' if name is None else 'except BaseException'
                elif is_tuple:
                    listed = [n[c] for c in classes]
                    text = 'except (%s)' % (listed[0] + ',' if len(listed) == 1
                                            else ', '.join(listed))
                else:
                    text = 'except ' + n[classes[0]]
                if name is not None:
                    text += ' as ' + n[name]
                self.line(depth, text + ':')
                self.block(body, depth + 1)
            if s[3] is not None:
                self.line(depth, 'finally:')
                self.block(s[3], depth + 1)
        elif code == IF:
            self.line(depth, '%s %s:' % ('if not' if s[2] else 'if', n[s[1]]))
            self.block(s[3], depth + 1)
            if s[4] is not None:
                self.line(depth, 'else:')
                self.block(s[4], depth + 1)
        else:
            raise ValueError('unknown statement %r' % (s,))

    # -- declarations

    def rename_note(self, name, generator=False):
        # A declared name Python or the prelude reserves keeps its spelling in the trace.
        python = self.names[name]
        if python != name:
            self.line(0, '%s.__name__ = %s  # %r is taken in Python' % (python, repr(name), name))
            if generator:  # its generators take their name from the function it wraps
                self.line(0, '%s.__wrapped__.__name__ = %s' % (python, repr(name)))

    def exception_class(self, decl):
        name, base = decl
        self.line(0, 'class %s(%s):' % (self.names[name], self.names[base]))
        self.line(1, 'pass')
        self.rename_note(name)

    def cm(self, decl):
        name, params, enter, exit_param, exit_block, close, is_async = decl
        n = self.names
        # An acm is an async context manager: async __aenter__/__aexit__ and an async aclose.
        a, prefix = ('a', 'async def ') if is_async else ('', 'def ')
        self.line(0, 'class %s(%s):' % (n[name], '_DeclaredACM' if is_async else '_DeclaredCM'))
        exc = n[exit_param] if exit_block is not None else self.names.fresh('exc')
        self.method(prefix + '__%senter__(self)' % a, params, (), '_trace.enter(self)', enter)
        self.lines.append('')
        shadowed = (exit_param,) if exit_block is not None else ()
        self.method(prefix + '__%sexit__(self, %s, %s, %s)' % (a, self.typ, exc, self.tb), params,
                    shadowed, '_trace.exit(self, %s)' % exc, exit_block)
        if close is not None:
            self.lines.append('')
            self.method(prefix + '%sclose(self)' % a, params, (), '_trace.close(self)', close)
        self.rename_note(name)

    def method(self, signature, params, shadowed, event, body):
        self.line(1, '%s:' % signature)
        # The parameters come from the constructor; `self` and the exit parameter win over a
        # parameter of the same name, as in the oracle.
        kept = [(i, p) for i, p in enumerate(params) if p != 'self' and p not in shadowed]
        if body is not None and kept:
            if len(kept) == len(params) and len(params) > 1:
                self.line(2, '%s = self._args' % ', '.join([self.names[p] for p in params]))
            else:
                for i, p in kept:
                    self.line(2, '%s = self._args[%d]' % (self.names[p], i))
        self.line(2, event)
        if body:
            self.block(body, 2)

    def function(self, decl):
        name, params, is_exit, body, is_generator, decorator = decl[:6]
        if is_generator:
            self.line(0, '@asynccontextmanager' if decl[6] else '@contextmanager')
        elif decorator is not None:
            self.line(0, '@' + self.expression(decorator))
        self.function_def(decl)
        self.rename_note(name, is_generator)

    def function_def(self, decl):
        name, params, is_exit, body = decl[:4]
        n = self.names
        define = 'async def' if decl[6] else 'def'
        if is_exit:
            self.line(0, '%s %s(%s, %s, %s):' % (define, n[name], self.typ, n[params[0]], self.tb))
            self.line(1, '_trace.call(%r, %s)' % (name, n[params[0]]))
        else:
            python_params = ', '.join([n[p] for p in params])
            self.line(0, '%s %s(%s):' % (define, n[name], python_params))
            self.line(1, '_trace.call(%s)' % ', '.join([repr(name)] + [n[p] for p in params]))
        if body:
            self.block(body, 1)

    def script(self, program):
        self.lines.append(PRELUDE.rstrip('\n'))
        self.lines += ['', '', '# ' + '-' * 30 + ' the program ' + '-' * 30, '']
        self.program(program)
        run = '_main'
        if program[4]:  # top-level code that awaits runs as a coroutine
            run = 'lambda: _run_async(_main)'
        self.lines += ['', '', "if __name__ == '__main__':", INDENT + '_print_trace(%s)' % run, '']
        return '\n'.join(self.lines)

    def program(self, program):
        """The declarations and `_main` (a coroutine function when the top level awaits)."""
        classes, cms, functions, main, main_awaits = program
        if 'CancelledError' in self.found:  # the language's built-in class is asyncio's
            self.lines += ['from asyncio import CancelledError', '']
        for decls, write in ((classes, self.exception_class), (cms, self.cm),
                             (functions, self.function)):
            for decl in decls:
                self.lines.append('')
                write(decl)
                self.lines.append('')
        self.lines.append('')
        self.line(0, '%s _main():' % ('async def' if main_awaits else 'def'))
        # The program's variables outlive its end, as the oracle's do: what they keep (a
        # suspended generator) is collected only after the outcome is recorded.
        self.line(1, 'try:')
        self.block(main, 2)
        self.line(1, 'finally:')
        self.line(2, '_trace.kept = locals()')


def export(program):
    """The program as a standalone Python script (text)."""
    return Writer(program).script(program)


def program_source(program):
    """The program's declarations and `_main`, without the prelude: what the oracle compiles
    and runs, with ctxtrace's names as globals, for programs with async constructs."""
    writer = Writer(program)
    writer.program(program)
    return '\n'.join(writer.lines) + '\n'


class _SameNames:
    def __getitem__(self, name):
        return name


def generator_source(decl):
    """A @contextmanager function's `def` (without the decorator), its names as the program
    writes them: what the walker compiles and runs with the program's declarations as globals."""
    writer = Writer.__new__(Writer)
    writer.names = _SameNames()
    writer.lines = []
    writer.function_def(decl)
    return '\n'.join(writer.lines) + '\n'
