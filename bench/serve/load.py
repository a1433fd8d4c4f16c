"""Load generation for one level, in asyncio: a request rate (open loop) or a number of concurrent
streams (closed loop), after a warm-up that is not measured, bounded by a count and a time.

rate R:          request i is sent at arrivals.arrival_offsets_s(...)[i], whether or not earlier
                 ones have finished (vLLM's `--request-rate`, `--burstiness`).
concurrency C:   C streams; each sends its next request when its previous one ends
                 (vLLM's `--max-concurrency` with an infinite rate).
trace:           request i is sent at its recorded arrival time x the time scale (--dataset trace:FILE).
sessions:        a request that continues another (a multi-turn session's next turn, Prompt.after) is sent
                 only once that one has ended, as a user waits for the reply; the wait is not latency.
warm-up:         its requests run first, at the level's own load (C streams, or the rate's gaps; a trace's
                 all at once), and are judged before any measured request is sent: failures above the
                 level's --max-failure-rate end the level there (warmup_failed), nothing measured sent.
time limit:      one deadline for the whole level, warm-up included: no request is sent after it; requests
                 still running are cancelled (error class `cancelled`, counted as failed); the level's
                 duration then ends at the limit. After it, only a last /metrics scrape of at most
                 FINAL_SCRAPE_S runs.
signals:         Ctrl-C or SIGTERM: the KeyboardInterrupt carries the level as far as it got (`level_result`:
                 the requests sent, those in flight cancelled), so the interrupted row keeps what was measured.
Besides the requests, two things run in the same event loop: a probe of the loop's own lag
(`client_overhead`), and a 0.5 s sampler of the server's /metrics gauges.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field

from bench.execution.signals import Interrupted, signal_name
from bench.measure.failures import DEFAULT_MAX_FAILURE_RATE
from bench.serve import prometheus
from bench.serve.arrivals import arrival_offsets_s
from bench.serve.client import Target, new_session, stream_request
from bench.config.serve import Level
from bench.measure.streaming import StreamedRequest
from bench.workload.prompts import Prompt

LAG_PROBE_INTERVAL_S = 0.01
METRICS_INTERVAL_S = 0.5
FINAL_SCRAPE_S = 1.0  # the last /metrics scrape of a level its time limit cut
CANCELLED = "cancelled: the level's time limit (--timeout) came first"


@dataclass(frozen=True)
class LevelPlan:
    level: Level
    prompts: list[Prompt]
    warmup: list[Prompt]
    burstiness: float = 1.0
    seed: int = 0
    max_duration_s: float = 3600.0
    metrics_url: str | None = None
    arrivals_s: list[float] | None = None  # trace levels: each prompt's recorded arrival, from the first
    max_failure_rate: float = DEFAULT_MAX_FAILURE_RATE  # the warm-up's rule (the level's too, in session)


@dataclass
class LevelResult:
    records: list[StreamedRequest]  # the requests sent, in the order of the workload
    warmup: list[StreamedRequest]
    duration_s: float
    unsent: int
    cut: bool  # the time limit ended the level
    loop_lag_s: list[float] = field(default_factory=list)
    metrics_before: dict | None = None
    metrics_after: dict | None = None
    metrics_samples: list[dict] = field(default_factory=list)
    warmup_failed: bool = False  # the warm-up's failures were above the rule: no measured request was sent
    stopped_by: str = ""  # the signal that stopped the level (SIGINT, SIGTERM)
    t0: float | None = None  # perf_counter when the measured requests started


def trace_offsets_s(arrivals_s: list[float] | None, time_scale: float) -> list[float]:
    """A trace's send times: each recorded arrival x the time scale (0.5: twice as fast)."""
    if not arrivals_s:
        raise ValueError("a trace level needs the requests' arrival times")
    return [a * time_scale for a in arrivals_s]


def measure_level(target: Target, plan: LevelPlan) -> LevelResult:
    res = LevelResult(records=[], warmup=[], duration_s=0.0, unsent=len(plan.prompts), cut=False)
    stopped: list[str] = []
    try:
        try:
            asyncio.run(_stoppable(_measure(target, plan, res), stopped))
        except asyncio.CancelledError:
            if not stopped:
                raise
            raise Interrupted(stopped[-1]) from None
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (execution.signals): what was measured goes with it
        _stopped(res, signal_name(e), len(plan.prompts))
        e.level_result = res
        raise
    return res


async def _stoppable(coro, stopped: list[str]):
    """Await coro with SIGTERM cancelling this task, as asyncio.run cancels its task on Ctrl-C; measure_level then
    raises Interrupted("SIGTERM") once the level has unwound. The handler of execution.signals raises wherever the
    main thread happens to be, and inside the event loop's own machinery (a callback of aiohttp's connection pool, a
    future being resolved) that can leave a waiter nothing wakes: asyncio.run's clean-up then waited for ever
    (tests/e2e/test_serve_faults.py's SIGTERM case hung in two whole-suite runs on 2 busy cores, 2026-12-06 and -07;
    16 runs of it alone beside a CPU burner did not hang). The previous handler is
    put back after the level (the loop's removal would leave SIGTERM's default, which kills bench)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = signal.getsignal(signal.SIGTERM)

    def on_term() -> None:
        stopped.append("SIGTERM")
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_term)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: the handler stays as it was
        return await coro
    try:
        return await coro
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)


def _record(i: int, p: Prompt) -> StreamedRequest:
    return StreamedRequest(prompt_len=p.prompt_len, output_len=0, index=i, output_len_asked=p.output_len)


def _cancelled(records: list[StreamedRequest], why: str) -> None:
    """Requests a cancellation stopped (in flight, or never started) say why."""
    for r in records:
        if not r.success and (r.error_class == "cancelled" or not r.error):
            r.error, r.error_class = why, "cancelled"


def _stopped(res: LevelResult, name: str, planned: int) -> None:
    res.stopped_by = name
    for group in (res.warmup, res.records):
        for r in group:  # in flight when the signal came (a time limit's cancellations already say so)
            if not r.success and r.error in ("", "cancelled"):
                r.error, r.error_class = f"cancelled: stopped by {name}", "cancelled"
    if res.t0 is not None:
        res.duration_s = time.perf_counter() - res.t0
    res.unsent = planned - len(res.records)


async def _measure(target: Target, plan: LevelPlan, res: LevelResult) -> None:
    async with new_session(target.stall_timeout_s) as session:
        deadline = time.perf_counter() + plan.max_duration_s
        if plan.warmup and not await _warm_up(session, target, plan, res, deadline):
            return
        remaining = deadline - time.perf_counter()
        res.metrics_before = before = (await prometheus.scrape(session, plan.metrics_url,
                                                               min(prometheus.SCRAPE_TIMEOUT_S, remaining))
                                       if plan.metrics_url and remaining > 0 else None)
        records = [_record(i, p) for i, p in enumerate(plan.prompts)]
        sent = res.records
        stop = asyncio.Event()
        side = [asyncio.create_task(_probe_lag(res.loop_lag_s, stop))]
        if before is not None:
            side.append(asyncio.create_task(_sample_metrics(session, plan.metrics_url, res.metrics_samples, stop)))
        res.t0 = t0 = time.perf_counter()
        if plan.level.kind in ("rate", "trace"):
            offsets = (trace_offsets_s(plan.arrivals_s, plan.level.value) if plan.level.kind == "trace"
                       else arrival_offsets_s(len(records), plan.level.value, plan.burstiness, plan.seed))
            load = _open_loop(session, target, plan.prompts, records, offsets, t0, deadline, sent)
        else:
            load = _closed_loop(session, target, plan.prompts, records, int(plan.level.value), t0, deadline, sent)
        cut = await _until(load, deadline)
        _cancelled(sent, CANCELLED)
        t_end = time.perf_counter()
        res.duration_s, res.unsent = t_end - t0, len(records) - len(sent)
        res.cut = cut or len(sent) < len(records)
        stop.set()
        if before is not None:
            side[-1].cancel()  # a scrape in flight does not outlive the level
        await asyncio.gather(*side, return_exceptions=True)
        if before is not None:
            res.metrics_after = await prometheus.scrape(
                session, plan.metrics_url, min(prometheus.SCRAPE_TIMEOUT_S, max(deadline - t_end, FINAL_SCRAPE_S)))


async def _warm_up(session, target: Target, plan: LevelPlan, res: LevelResult, deadline: float) -> bool:
    """Send the warm-up requests and judge them: False (warmup_failed) when their failures are above the rule,
    the time limit included; then no measured request is sent."""
    res.warmup = warm = [_record(i, p) for i, p in enumerate(plan.warmup)]
    res.cut = await _until(_warm_load(session, target, plan, warm, time.perf_counter(), deadline), deadline)
    _cancelled(warm, "cancelled: the level's time limit (--timeout) came during the warm-up")
    failed = sum(1 for r in warm if not r.success)
    res.warmup_failed = res.cut or failed / len(warm) > plan.max_failure_rate
    return not res.warmup_failed


def _warm_load(session, target: Target, plan: LevelPlan, warm: list[StreamedRequest], t_w: float, deadline: float):
    """The warm-up at the level's own load, so that it meets the batch shapes the level will (a first use of a shape
    can cost the CPU build tens of ms, docs/serve.md): a concurrency's C streams (at most K), a rate's own seeded
    gaps (seed + 1: not the level's first K); a trace's all at once."""
    sent: list[StreamedRequest] = []
    if plan.level.kind == "concurrency":
        return _closed_loop(session, target, plan.warmup, warm, int(plan.level.value), t_w, deadline, sent)
    if plan.level.kind == "rate":
        offsets = arrival_offsets_s(len(warm), plan.level.value, plan.burstiness, plan.seed + 1)
        return _open_loop(session, target, plan.warmup, warm, offsets, t_w, deadline, sent)
    return asyncio.gather(*(stream_request(session, target, p.prompt, r, t_w) for p, r in zip(plan.warmup, warm)))


async def _until(load, deadline: float) -> bool:
    """Run the load coroutine until it ends or the deadline; True when the deadline cut it."""
    task = asyncio.ensure_future(load)
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=max(deadline - time.perf_counter(), 0))
        return False
    except asyncio.TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise


async def _send(session, target: Target, prompt: Prompt, rec: StreamedRequest, t0: float,
                ended: list[asyncio.Event]) -> None:
    try:
        if prompt.after is not None:
            await ended[prompt.after].wait()  # the previous turn's reply first
        await stream_request(session, target, prompt.prompt, rec, t0)
    finally:  # a cancelled request says why where the cancellation came from (_measure, _stopped)
        ended[rec.index].set()


async def _open_loop(session, target, prompts, records, offsets, t0, deadline, sent) -> None:
    ended = [asyncio.Event() for _ in records]
    tasks = []
    try:
        for p, rec, at in zip(prompts, records, offsets):
            if t0 + at >= deadline:
                break
            delay = t0 + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(rec)
            tasks.append(asyncio.create_task(_send(session, target, p, rec, t0, ended)))
        await asyncio.gather(*tasks)
    finally:  # cancelled by the deadline (or Ctrl-C): take the requests in flight down too
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _closed_loop(session, target, prompts, records, streams: int, t0, deadline, sent) -> None:
    ended = [asyncio.Event() for _ in records]
    queue = iter(range(len(records)))

    async def stream() -> None:
        for i in queue:
            if time.perf_counter() >= deadline:
                return
            sent.append(records[i])
            await _send(session, target, prompts[i], records[i], t0, ended)

    workers = [asyncio.create_task(stream()) for _ in range(streams)]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _probe_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How long a callback that is ready now waits for the loop: the work of everything else ready."""
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0)
        samples.append(time.perf_counter() - t)
        try:
            await asyncio.wait_for(stop.wait(), LAG_PROBE_INTERVAL_S)
        except asyncio.TimeoutError:
            pass


async def _sample_metrics(session, url: str, samples: list[dict], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), METRICS_INTERVAL_S)
            return
        except asyncio.TimeoutError:
            pass
        s = await prometheus.scrape(session, url)
        if s:
            samples.append(s)
