"""A time budget for work that may run away (a backtracking regex, a trickling server).

SIGALRM interrupts it: CPython checks signals while ``re`` matches and while a socket waits.
Only in the main thread of a platform with ``setitimer``; elsewhere the block runs unbounded and
the caller's other limits (windows, time-outs) apply.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class OverBudget(BaseException):
    """A BaseException, so that library code which catches ``Exception`` (requests, urllib3)
    cannot swallow it."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise ``OverBudget`` in the block after ``seconds``."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise OverBudget()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
