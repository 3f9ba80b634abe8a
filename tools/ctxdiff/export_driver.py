# export_driver: runs exported scripts for `ctxdiff export-check`, each in a process of its own
# that behaves as `python3 SCRIPT 2>&1` would, without paying the interpreter's start-up for each.
#
#   python3 export_driver.py SCRIPT...
#
# The driver imports what every exported script imports (the prelude, oracle/python/ctxtrace.py)
# and then forks once per script: the child sends its standard output and error to SCRIPT.out,
# runs the script as __main__ (runpy.run_path) and exits as `python3 SCRIPT` does. Nothing a
# script does reaches the next one: each child is forked from the driver as it was before any
# script ran. For each script, in order, the driver prints one line: the child's exit status
# (negative: killed by that signal).
#
# A child's exit is the interpreter's up to its teardown: the standard streams are flushed, what
# escaped the script is reported (an exception's traceback, exit status 1; SystemExit's code or
# message), non-daemon threads are joined, atexit functions run and the streams are flushed
# again. The teardown (freeing every module and object: most of a child's time, as it writes to
# every page it shares with the driver) is left out. Nothing in it can change what an exported
# script prints: the trace is written before the script ends, and what finalizers report is
# silenced (the prelude's sys.unraisablehook). tests/conformance/export_driver_test.py compares
# the driver with `python3 SCRIPT`.
#
# ctxdiff embeds this file (tools/ctxdiff/CMakeLists.txt); it needs nothing but the standard
# library, like the scripts it runs.
import atexit
import os
import runpy
import sys
import traceback

# What the exported scripts import, loaded once (importing them has no effect a script can see).
import asyncio  # noqa: F401
import contextlib  # noqa: F401
import types  # noqa: F401


def system_exit_status(e):
    """The exit status of an interpreter ended by the SystemExit e, its message printed."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    sys.stderr.write(str(e.code) + '\n')
    return 1


def flush_standard_streams():
    """Flushes standard error, then output; False if that failed."""
    try:
        sys.stderr.flush()
        sys.stdout.flush()
        return True
    except Exception:
        return False


def run_script(script):
    """In the child: `python3 SCRIPT >SCRIPT.out 2>&1`, and the exit status it would have."""
    output = os.open(script + '.out', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    sys.argv = [script]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name='__main__')
        escaped = None
    except BaseException as e:
        escaped = e
    # What Python does after the main script, in order: flush, report what escaped, join the
    # threads, run the atexit functions, flush (exit status 120 if that fails).
    flush_standard_streams()
    if escaped is None:
        status = 0
    elif isinstance(escaped, SystemExit):
        status = system_exit_status(escaped)
    else:
        frames = escaped.__traceback__  # from the script's frame on, as `python3 SCRIPT` shows
        while frames is not None and frames.tb_frame.f_code.co_filename != script:
            frames = frames.tb_next
        if frames is not None:
            escaped.__traceback__ = frames
        sys.excepthook(type(escaped), escaped, escaped.__traceback__)
        status = 1
    if 'threading' in sys.modules:
        sys.modules['threading']._shutdown()
    atexit._run_exitfuncs()
    return status if flush_standard_streams() else 120


def main(scripts):
    for script in scripts:
        sys.stdout.flush()  # nothing buffered may be written twice, by the driver and the child
        pid = os.fork()
        if pid == 0:
            try:
                status = run_script(script)
            except BaseException:  # the driver's own failure, not the script's
                traceback.print_exc()
                status = 70
            os._exit(status)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
