# Loaded by the python3 that runs exported scripts in harness/export_disagreement_is_reported
# (PYTHONPATH points here; the embedded oracle ignores it): contextlib.closing no longer closes,
# so every exported script using it disagrees with the oracle.
import contextlib


def _exit_without_closing(self, *exc_info):
    pass


contextlib.closing.__exit__ = _exit_without_closing
