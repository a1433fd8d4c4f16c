"""bench.serve.load: a SIGTERM during a level is taken by the event loop at a safe point (the level's task is
cancelled and unwinds), not by the raising handler of bench.execution.signals, which can land inside the loop's
own machinery and leave asyncio.run's clean-up waiting for ever. No server needed."""

import asyncio
import os
import signal
import threading

import pytest

from bench.execution.signals import Interrupted
from bench.serve import load


def test_sigterm_cancels_the_level_and_the_previous_handler_comes_back():
    called = []

    def raising_handler(signum, frame):  # what bench.execution.signals installs: never reached during a level
        called.append(signum)
        raise Interrupted("SIGTERM")

    unwound = []

    async def level():
        try:
            await asyncio.sleep(30)
        finally:
            unwound.append(True)  # the level's own clean-up ran (a cancellation, not an exception from nowhere)

    previous = signal.signal(signal.SIGTERM, raising_handler)
    try:
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        stopped: list[str] = []
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(load._stoppable(level(), stopped))
        timer.join()
        assert stopped == ["SIGTERM"] and unwound == [True] and called == []
        assert signal.getsignal(signal.SIGTERM) is raising_handler  # put back, not left at SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_measure_level_turns_the_cancellation_into_interrupted_with_what_was_measured(monkeypatch):
    async def level(target, plan, res):
        res.t0 = 0.0
        await asyncio.sleep(30)

    monkeypatch.setattr(load, "_measure", level)
    plan = type("Plan", (), {"prompts": [object()] * 5})()
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    previous = signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        timer.start()
        with pytest.raises(Interrupted) as e:
            load.measure_level(None, plan)
        timer.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert e.value.signal_name == "SIGTERM"
    res = e.value.level_result
    assert res.stopped_by == "SIGTERM" and res.unsent == 5 and res.records == []
