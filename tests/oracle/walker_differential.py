"""The oracle's walker against the literal Python that export_python writes, on random programs.

The walker runs each construct as the real Python statement; this checks that nothing of its own
machinery shows: for every generated program, the walker's trace must equal the trace of the
exported script (executed in-process). Programs are valid by construction (names bound before
use, no recursion, no hand-made __context__ cycles: see X16) and seeded, so a run is
reproducible. Half of them are async: acm classes, async defs, an @asynccontextmanager
generator, await, async with and AsyncExitStack, where StopIteration, handled exceptions and
generator throws cross the walker's coroutine executors.

    python3 walker_differential.py ORACLE_PYTHON_DIR COUNT [FIRST_SEED]
"""
import difflib
import random
import sys
import traceback

sys.path.insert(0, sys.argv[1])
import ctxexport  # noqa: E402
import ctxwalker  # noqa: E402
from ctxwalker import (ASSIGN, AWAIT, CALL, CONST, EXPR, IF, MARK, METHOD, NAME,  # noqa: E402
                       NEW_ACLOSING, NEW_ASYNC_EXIT_STACK, NEW_CLOSING, NEW_CM, NEW_EXCEPTION,
                       NEW_EXIT_STACK, NEW_GENERATOR, NEW_NULLCONTEXT, NEW_SUPPRESS, PASS, RAISE,
                       RETURN, SET_ATTR, SLEEP, TRY, TUPLE, WITH, YIELD)

with open(ctxexport.__file__.replace('ctxexport.py', 'ctxtrace.py')) as prelude:
    ctxexport.PRELUDE = prelude.read()

CLASSES = (('E1', 'Exception'), ('E2', 'E1'), ('E3', 'KeyError'))
EXCEPTION_CLASSES = ['E1', 'E2', 'E3', 'KeyError', 'ValueError', 'LookupError', 'Exception',
                     'SystemExit', 'RuntimeError', 'StopIteration', 'GeneratorExit']


class Generator:
    def __init__(self, seed):
        self.random = random.Random(seed)
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return '%s%d' % (prefix, self.count)

    def chance(self, p):
        return self.random.random() < p

    def const(self):
        return (CONST, self.random.choice([None, True, False, 0, -7, 42, 'a', "it's", 'q"x']))

    def new_exception(self):
        args = () if self.chance(0.4) else ((CONST, self.random.choice([1, 'm', -2])),)
        return (NEW_EXCEPTION, self.random.choice(EXCEPTION_CLASSES), args)

    def exception(self, scope):
        objects = [n for n, k in scope.items() if k == 'exc']
        if objects and self.chance(0.5):
            return (NAME, self.random.choice(objects))
        if self.chance(0.3):
            return (NAME, self.random.choice(EXCEPTION_CLASSES))
        return self.new_exception()

    def value(self, scope):
        x = self.random.random()
        if scope and x < 0.5:
            return (NAME, self.random.choice(list(scope)))
        if x < 0.6:
            return (NAME, self.random.choice(EXCEPTION_CLASSES + ['f', 'g']))
        if x < 0.7:
            return self.new_exception()
        return self.const()

    def manager(self, scope, in_function):
        x = self.random.random()
        if in_function:  # nothing that could recurse into the cm's own methods
            x = 0.45 + self.random.random() * 0.3
        if x < 0.22:
            return (NEW_CM, self.random.choice(['C0', 'C1']), (self.value(scope),))
        if x < 0.3:
            return (NEW_GENERATOR, 'k', (self.value(scope),))
        if x < 0.45:
            return (NEW_EXIT_STACK,)
        if x < 0.6:
            classes = [(NAME, self.random.choice(EXCEPTION_CLASSES))
                       for _ in range(self.random.randint(0, 2))]
            if self.chance(0.3):
                classes.append((TUPLE, ((NAME, self.random.choice(EXCEPTION_CLASSES)),
                                        (NAME, self.random.choice(EXCEPTION_CLASSES)))))
            return (NEW_SUPPRESS, tuple(classes))
        if x < 0.75:
            return (NEW_NULLCONTEXT, () if self.chance(0.5) else (self.value(scope),))
        if x < 0.85:
            return (NEW_CLOSING, ((NEW_CM, 'C1', (self.value(scope),)),))
        managers = [n for n, k in scope.items() if k in ('cm', 'stack')]
        if managers:
            return (NAME, self.random.choice(managers))
        return (NEW_CM, 'C0', (self.const(),))

    def block(self, scope, depth, context, size=None):
        scope = dict(scope)
        return tuple(self.statement(scope, depth, context)
                     for _ in range(size or self.random.randint(1, 4)))

    def async_manager(self, scope, in_function):
        x = self.random.random()
        if in_function:  # nothing that could recurse into the acm's own methods
            x = 0.5 + self.random.random() * 0.3
        if x < 0.3:
            return (NEW_CM, self.random.choice(['A0', 'A1']), (self.value(scope),))
        if x < 0.45:
            return (NEW_GENERATOR, 'ak', (self.value(scope),))
        if x < 0.6:
            return (NEW_ASYNC_EXIT_STACK,)
        if x < 0.8:
            return (NEW_NULLCONTEXT, () if self.chance(0.5) else (self.value(scope),))
        return (NEW_ACLOSING, ((NEW_CM, 'A1', (self.value(scope),)),))

    def async_statement(self, scope, depth, context):
        """A statement that awaits, or None."""
        in_function = context.get('function', False)
        stacks = [n for n, k in scope.items() if k == 'astack']
        x = self.random.random()
        if x < 0.25:
            return (AWAIT, (SLEEP,))
        if x < 0.4 and not in_function:
            return (AWAIT, (CALL, self.random.choice(['af', 'ad']), (self.value(scope),)))
        if x < 0.65 and depth > 0:
            items = []
            inner = dict(scope)
            for _ in range(self.random.randint(1, 2)):
                manager = self.async_manager(inner, in_function)
                name = None
                if self.chance(0.6):
                    name = self.fresh('w')
                    inner[name] = 'astack' if manager[0] == NEW_ASYNC_EXIT_STACK else 'val'
                items.append((manager, name))
            return (WITH, tuple(items), self.block(inner, depth - 1, context), True, True)
        if stacks and x < 0.9:
            stack = self.random.choice(stacks)
            y = self.random.random()
            if y < 0.3:
                manager = self.async_manager(scope, in_function)
                name = self.fresh('e')
                scope[name] = 'val'
                return (ASSIGN, name, (METHOD, stack, 'enter_async_context', (manager,), True))
            if y < 0.5 and not in_function:
                return (EXPR, (METHOD, stack, 'push_async_callback',
                               ((NAME, 'af'), self.value(scope)), False))
            if y < 0.7:
                return (EXPR, (METHOD, stack, 'push_async_exit', ((NAME, 'ag'),), False))
            if y < 0.8:
                name = self.fresh('s')
                scope[name] = 'astack'
                return (ASSIGN, name, (METHOD, stack, 'pop_all', (), False))
            return (EXPR, (METHOD, stack, 'aclose', (), True))
        if not in_function and x < 0.95:
            name = self.fresh('s')
            scope[name] = 'astack'
            return (ASSIGN, name, (NEW_ASYNC_EXIT_STACK,))
        return None

    def statement(self, scope, depth, context):
        if context.get('async') and self.chance(0.35):
            statement = self.async_statement(scope, depth, context)
            if statement is not None:
                return statement
        x = self.random.random()
        in_function = context.get('function', False)
        stacks = [n for n, k in scope.items() if k == 'stack']
        if context.get('generator') and self.chance(0.15):
            return (YIELD, None if self.chance(0.3) else self.value(scope))
        if x < 0.15:
            return (MARK, tuple(self.value(scope) for _ in range(self.random.randint(1, 3))))
        if x < 0.22:
            value = self.new_exception()
            name = self.fresh('x')
            scope[name] = 'exc'
            return (ASSIGN, name, value)
        if x < 0.32:
            if context.get('handler') and self.chance(0.3):
                return (RAISE,)
            exc = self.exception(scope)
            if self.chance(0.3):
                return (RAISE, exc, self.random.choice([(CONST, None), self.exception(scope)]))
            return (RAISE, exc)
        if x < 0.36 and in_function:
            if context.get('generator'):
                return (RETURN, None)  # a generator's return takes no value (the checker)
            result = (NAME, 'self') if context.get('method') else (CONST, 1)
            return (RETURN, self.random.choice([None, (CONST, True), (CONST, False), result]))
        if x < 0.5 and depth > 0:
            items = []
            inner = dict(scope)
            for _ in range(self.random.randint(1, 2)):
                manager = self.manager(inner, in_function)
                name = None
                if self.chance(0.6):
                    name = self.fresh('w')
                    inner[name] = 'stack' if manager[0] == NEW_EXIT_STACK else 'val'
                items.append((manager, name))
            body = self.block(inner, depth - 1, context)
            return (WITH, tuple(items), body, False, block_awaits(body))
        if x < 0.56 and depth > 0:
            # `if NAME:`; an exit parameter ('opt': None or an exception object) is an
            # exception object where the condition holds.
            name = self.random.choice(list(scope) + ['E1', 'f'])
            negated = self.chance(0.4)
            narrowed = dict(scope)
            if scope.get(name) == 'opt':
                narrowed[name] = 'exc'
            then = self.block(scope if negated else narrowed, depth - 1, context)
            other = None
            if self.chance(0.5):
                other = self.block(narrowed if negated else scope, depth - 1, context)
            return (IF, name, negated, then, other, block_awaits(then) or block_awaits(other))
        if x < 0.65 and depth > 0:
            handlers = []
            for _ in range(self.random.randint(0, 2)):
                k = self.random.random()
                if k < 0.2:
                    classes, is_tuple = None, False
                elif k < 0.4:
                    classes = tuple(self.random.choice(EXCEPTION_CLASSES) for _ in range(2))
                    is_tuple = True
                else:
                    classes, is_tuple = (self.random.choice(EXCEPTION_CLASSES),), False
                name = self.fresh('h') if self.chance(0.6) else None
                inner = dict(scope)
                if name:
                    inner[name] = 'exc'
                body = self.block(inner, depth - 1, dict(context, handler=True))
                handlers.append((classes, is_tuple, name, body))
                if classes is None:
                    break
            final = None
            if not handlers or self.chance(0.4):
                final = self.block(scope, depth - 1, context)
            body = self.block(scope, depth - 1, context)
            awaits = (block_awaits(body) or block_awaits(final)
                      or any(block_awaits(h[3]) for h in handlers))
            return (TRY, body, tuple(handlers), final, awaits)
        if x < 0.8 and stacks:
            stack = self.random.choice(stacks)
            y = self.random.random()
            if y < 0.25:
                return (EXPR, (METHOD, stack, 'callback', ((NAME, 'f'), self.value(scope)), False))
            if y < 0.45:
                pushed = (NAME, 'g') if self.chance(0.6) else (NEW_CM, 'C0', (self.const(),))
                if not in_function and self.chance(0.2):
                    pushed = (NEW_GENERATOR, 'k', (self.const(),))  # exit before any enter (G20)
                return (EXPR, (METHOD, stack, 'push', (pushed,), False))
            if y < 0.65:
                manager = self.manager(scope, in_function)
                name = self.fresh('e')
                scope[name] = 'val'
                return (ASSIGN, name, (METHOD, stack, 'enter_context', (manager,), False))
            if y < 0.8:
                name = self.fresh('s')
                scope[name] = 'stack'
                return (ASSIGN, name, (METHOD, stack, 'pop_all', (), False))
            return (EXPR, (METHOD, stack, 'close', (), False))
        if x < 0.85 and not in_function:
            name = self.fresh('s')
            scope[name] = 'stack'
            return (ASSIGN, name, (NEW_EXIT_STACK,))
        if x < 0.9:
            objects = [n for n, k in scope.items() if k == 'exc']
            if objects:
                attribute = self.random.choice(['__cause__', '__suppress_context__',
                                                '__context__'])
                if attribute == '__suppress_context__':
                    value = (CONST, self.random.choice([True, False]))
                elif attribute == '__context__':
                    value = (CONST, None)  # never a cycle: ExitStack would hang (X16)
                else:
                    value = self.random.choice([(CONST, None), (NAME, self.random.choice(objects))])
                return (SET_ATTR, self.random.choice(objects), attribute, value)
        if x < 0.95 and not in_function:
            if stacks and self.chance(0.4):
                # h(s: stack) pushes onto the stack it is given, possibly during its unwind.
                stack = (NAME, self.random.choice(stacks))
                if self.chance(0.5):
                    return (EXPR, (CALL, 'h', (stack,)))
                return (EXPR, (METHOD, stack[1], 'callback', ((NAME, 'h'), stack), False))
            if self.chance(0.4):  # decorated: inside C0 (the same instance) or a new k generator
                called = self.random.choice(['d1', 'd2'])
                if stacks and self.chance(0.3):
                    return (EXPR, (METHOD, self.random.choice(stacks), 'callback',
                                   ((NAME, called), self.value(scope)), False))
                return (EXPR, (CALL, called, (self.value(scope),)))
            return (EXPR, (CALL, 'f', (self.value(scope),)))
        return (PASS,)

    def program(self):
        method = {'function': True, 'method': True}
        function = {'function': True}
        plain = {'p': 'val', 'self': 'cm'}
        with_exc = dict(plain, ex='opt')
        cms = (('C0', ('p',), self.block(plain, 1, method), 'ex', self.block(with_exc, 1, method),
                None, False),
               ('C1', ('p',), None if self.chance(0.5) else self.block(plain, 1, method), 'ex',
                None if self.chance(0.5) else self.block(with_exc, 1, method),
                self.block(plain, 1, method), False))
        generator = {'function': True, 'generator': True}
        body = self.block({'p': 'val'}, 2, generator)
        if not has_yield(body):
            at = self.random.randint(0, len(body))
            body = body[:at] + ((YIELD, (NAME, 'p')),) + body[at:]
        functions = (('f', ('a',), False, self.block({'a': 'val'}, 1, function), False, None,
                      False),
                     ('g', ('e',), True, self.block({'e': 'opt'}, 1, function), False, None, False),
                     ('h', ('s',), False, self.block({'s': 'stack'}, 1, function), False, None,
                      False),
                     ('k', ('p',), False, body, True, None, False),
                     ('d1', ('a',), False, self.block({'a': 'val'}, 1, function), False,
                      (NEW_CM, 'C0', (self.const(),)), False),
                     ('d2', ('a',), False, self.block({'a': 'val'}, 1, function), False,
                      (NEW_GENERATOR, 'k', (self.const(),)), False))
        if self.chance(0.5):
            main = self.block({}, 3, {}, size=self.random.randint(2, 8))
            return (CLASSES, cms, functions, main, block_awaits(main))
        # Async: acm classes, async defs (a plain one, an exit function, a generator, one
        # decorated by an acm instance) and a top level that awaits.
        amethod = {'function': True, 'method': True, 'async': True}
        afunction = {'function': True, 'async': True}
        cms += (('A0', ('p',), self.block(plain, 1, amethod), 'ex',
                 self.block(with_exc, 1, amethod), None, True),
                ('A1', ('p',), None if self.chance(0.5) else self.block(plain, 1, amethod), 'ex',
                 None if self.chance(0.5) else self.block(with_exc, 1, amethod),
                 self.block(plain, 1, amethod), True))
        agenerator = {'function': True, 'generator': True, 'async': True}
        abody = self.block({'p': 'val'}, 2, agenerator)
        if not has_yield(abody):
            at = self.random.randint(0, len(abody))
            abody = abody[:at] + ((YIELD, (NAME, 'p')),) + abody[at:]
        functions += (('af', ('a',), False, self.block({'a': 'val'}, 1, afunction), False, None,
                       True),
                      ('ag', ('e',), True, self.block({'e': 'opt'}, 1, afunction), False, None,
                       True),
                      ('ak', ('p',), False, abody, True, None, True),
                      ('ad', ('a',), False, self.block({'a': 'val'}, 1, afunction), False,
                       (NEW_CM, 'A0', (self.const(),)), True))
        main = self.block({}, 3, {'async': True}, size=self.random.randint(2, 8))
        if not block_awaits(main):
            main += ((AWAIT, (SLEEP,)),)
        return (CLASSES, cms, functions, main, True)


def block_awaits(block):
    """Whether a block awaits, from its statements' flags: the generator sets them as
    convert.cpp does (ctxmodel::python_awaits)."""
    return any(ctxwalker.awaits(s) for s in block or ())


def has_yield(block):
    for s in block or ():
        if s[0] == YIELD:
            return True
        if s[0] == WITH and has_yield(s[2]):
            return True
        if s[0] == IF and (has_yield(s[3]) or has_yield(s[4])):
            return True
        if s[0] == TRY and (has_yield(s[1]) or has_yield(s[3])
                            or any(has_yield(h[3]) for h in s[2])):
            return True
    return False


def exported_trace(program):
    namespace = {'__name__': 'exported'}
    exec(compile(ctxexport.export(program), '<exported>', 'exec'), namespace)
    trace = namespace['_trace']
    main = namespace['_main']
    if program[4]:  # main awaits
        events = list(trace.run(lambda: namespace['_run_async'](main)))
    else:
        events = list(trace.run(main))
    namespace['_close_script_loop']()
    return events + (['problems: %r' % trace.problems] if trace.problems else [])


def recursed(events):
    """Whether CPython ran out of recursion depth: a program that recurses without end (an exit
    pushed onto the stack being unwound, again and again) is an oracle failure on both sides."""
    return 'ran out of recursion depth' in events[-1]


def main():
    count = int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    mismatches = 0
    for seed in range(first, first + count):
        program = Generator(seed).program()
        try:
            walked = list(ctxwalker.run(program))
        except BaseException:
            walked = ['oracle error: ' + traceback.format_exc()]
        try:
            exported = exported_trace(program)
        except BaseException:
            exported = ['export error: ' + traceback.format_exc()]
        if walked != exported and not (recursed(walked) and recursed(exported)):
            mismatches += 1
            print('seed %d: the walker and the exported script differ' % seed)
            for line in difflib.unified_diff(walked, exported, 'walker', 'exported', lineterm=''):
                print(line[:400])
    print('%d of %d programs differ' % (mismatches, count))
    return 1 if mismatches else 0


if __name__ == '__main__':
    sys.exit(main())
