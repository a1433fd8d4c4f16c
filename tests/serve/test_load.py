"""bench.serve.load: a SIGTERM during a level is taken by the event loop at a safe point (the level's task is
cancelled and unwinds), not by the raising handler of bench.execution.signals, which can land inside the loop's
own machinery and leave asyncio.run's clean-up waiting for ever. No server needed."""

import asyncio
import math
import time
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


def _warm_up_sends(level, k: int, burstiness: float = 1.0, seed: int = 0, service_s: float = 0.05):
    """Each warm-up request's send time (s from the warm-up's start) and the most in flight at once, with
    stream_request replaced by a sleep of service_s."""
    from bench.config.serve import Level
    from bench.measure.streaming import StreamedRequest
    from bench.workload.prompts import Prompt

    sends, flight, most = [], [0], [0]

    async def fake_stream(session, target, prompt, rec, t0):
        sends.append(time.perf_counter() - t0)
        flight[0] += 1
        most[0] = max(most[0], flight[0])
        await asyncio.sleep(service_s)
        flight[0] -= 1
        rec.success = True

    prompts = [Prompt(prompt=[1, 2], prompt_len=2, output_len=1) for _ in range(k)]
    plan = load.LevelPlan(level=Level(*level), prompts=[], warmup=prompts, burstiness=burstiness, seed=seed)
    res = load.LevelResult(records=[], warmup=[], duration_s=0.0, unsent=0, cut=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(load, "stream_request", fake_stream)
        ok = asyncio.run(load._warm_up(None, None, plan, res, time.perf_counter() + 30))
    assert ok and len(res.warmup) == k and all(r.success for r in res.warmup)
    return sends, most[0]


def test_the_warm_up_runs_at_the_levels_own_load():
    """A concurrency level's warm-up keeps at most C requests in flight (K = 6, C = 2: three rounds of two); a rate
    level's is sent at the rate's own seeded gaps (seed + 1, not the level's first K send times); a burst (rate
    inf) sends all at once."""
    from bench.serve.arrivals import arrival_offsets_s

    sends, most = _warm_up_sends(("concurrency", 2), 6)
    assert most == 2 and len(sends) == 6
    assert sorted(sends)[2] >= 0.05 - 0.005 and sorted(sends)[4] >= 0.10 - 0.01  # each round after the last
    sends, _ = _warm_up_sends(("rate", 20.0), 4, seed=7, service_s=0.001)
    planned = arrival_offsets_s(4, 20.0, 1.0, 8)
    assert planned != arrival_offsets_s(4, 20.0, 1.0, 7)
    assert sends == pytest.approx(planned, abs=0.02)  # the loop's own timing: a few ms late at most
    sends, most = _warm_up_sends(("rate", math.inf), 3)
    assert most == 3 and max(sends) < 0.02
