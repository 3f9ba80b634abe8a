"""export_driver.py (ctxdiff export-check's runner of many scripts) against `python3 SCRIPT`.

Each script must run as if it were the only one: in a process of its own, as __main__, with
what it prints (standard output and error) and its exit status those of `python3 SCRIPT 2>&1`,
and nothing it does seen by the next script.

    python3 export_driver_test.py PATH/TO/export_driver.py
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

DRIVER = sys.argv.pop(1)

SCRIPTS = {
    # Changes what the next script would see, were it run in the same process.
    'meddles': '''
        import builtins, contextlib, sys
        contextlib.ExitStack = None
        builtins.len = None
        sys.modules['meddled'] = sys
        sys.setrecursionlimit(50)
        print('meddled')
    ''',
    'checks': '''
        import builtins, contextlib, sys
        print(contextlib.ExitStack.__name__, builtins.len is not None, 'meddled' in sys.modules,
              sys.getrecursionlimit() > 50, __name__, sys.argv == [__file__])
    ''',
    'exit_message': '''
        import sys
        print('before')
        sys.exit('ctxtrace: a problem')
    ''',
    'exit_code': '''
        import atexit, sys
        atexit.register(lambda: print('atexit ran'))
        sys.stdout.write('unflushed')
        sys.exit(3)
    ''',
    'raises': '''
        def f():
            raise ValueError('boom')
        print('before')
        f()
    ''',
    'killed': '''
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    ''',
    'exits_normally': '''
        import sys
        print('to stdout')
        print('to stderr', file=sys.stderr)
    ''',
}


class ExportDriver(unittest.TestCase):
    """Standard output block-buffered, as when nothing asks otherwise."""

    env = {k: v for k, v in os.environ.items() if k != 'PYTHONUNBUFFERED'}

    @classmethod
    def setUpClass(cls):
        folder = tempfile.TemporaryDirectory()
        cls.addClassCleanup(folder.cleanup)
        cls.paths = {}
        for name, text in SCRIPTS.items():
            cls.paths[name] = os.path.join(folder.name, name + '.py')
            with open(cls.paths[name], 'w') as f:
                f.write(textwrap.dedent(text))
        driver = subprocess.run([sys.executable, DRIVER] + list(cls.paths.values()),
                                capture_output=True, text=True, check=True, env=cls.env)
        cls.driver_stderr = driver.stderr
        cls.status = dict(zip(cls.paths, map(int, driver.stdout.split())))
        cls.output = {}
        for name, path in cls.paths.items():
            with open(path + '.out') as f:
                cls.output[name] = f.read()

    def run_alone(self, name):
        """`python3 SCRIPT 2>&1`: the reference."""
        alone = subprocess.run([sys.executable, self.paths[name]], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=self.env)
        return alone.returncode, alone.stdout

    def test_one_status_a_script_and_nothing_else_from_the_driver(self):
        self.assertEqual(list(self.status), list(SCRIPTS))
        self.assertEqual(self.driver_stderr, '')

    def test_a_script_sees_nothing_of_the_one_before(self):
        self.assertEqual(self.output['meddles'], 'meddled\n')
        self.assertEqual(self.output['checks'], 'ExitStack True False True __main__ True\n')

    def test_status_and_output_are_those_of_python_alone(self):
        for name in ('meddles', 'checks', 'exit_message', 'exit_code', 'exits_normally'):
            with self.subTest(name):
                self.assertEqual((self.status[name], self.output[name]), self.run_alone(name))

    def test_an_uncaught_exception_is_reported_from_the_script_on(self):
        self.assertEqual((self.status['raises'], self.output['raises']), self.run_alone('raises'))
        self.assertNotIn('export_driver', self.output['raises'])

    def test_a_killed_script_shows_the_signal_and_the_next_one_runs(self):
        self.assertEqual(self.status['killed'], -9)
        self.assertEqual(self.status['exits_normally'], 0)


class ExportDriverUnbuffered(ExportDriver):
    """PYTHONUNBUFFERED=1, as some environments set it."""

    env = dict(ExportDriver.env, PYTHONUNBUFFERED='1')


if __name__ == '__main__':
    unittest.main()
