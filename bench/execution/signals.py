"""Ctrl-C and SIGTERM as one exception, and a way to hold both back while a result is recorded.

A sweep stopped by either signal stops its running case, records it as `interrupted` and exits 130.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

EXIT_INTERRUPTED = 130
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The user (SIGINT) or the system (SIGTERM) asked bench to stop."""

    def __init__(self, signal_name: str = "SIGINT", outcome=None):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.outcome = outcome  # the interrupted case's recorded outcome, when there was one


_received: list[str] = []  # SIGTERMs seen: libraries that catch KeyboardInterrupt and raise their own (Ray) lose our type


def signal_name(exc: BaseException) -> str:
    if isinstance(exc, Interrupted):
        return exc.signal_name
    return _received[-1] if _received else "SIGINT"


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_as_interrupt():
    """Inside: SIGTERM raises Interrupted('SIGTERM') in the main thread, as Ctrl-C raises KeyboardInterrupt."""
    if not _in_main_thread():
        yield
        return

    def on_term(signum, frame):
        _received.append("SIGTERM")
        raise Interrupted("SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_deferred():
    """Inside: SIGINT and SIGTERM wait (blocked) and are delivered on leaving, so a JSON and its CSV row
    are written together or not at all."""
    if not _in_main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
