"""Load generation for one level, in asyncio: a request rate (open loop) or a number of concurrent
streams (closed loop), after a warm-up that is not measured, bounded by a count and a time.

rate R:          request i is sent at arrivals.arrival_offsets_s(...)[i], whether or not earlier
                 ones have finished (vLLM's `--request-rate`, `--burstiness`).
concurrency C:   C streams; each sends its next request when its previous one ends
                 (vLLM's `--max-concurrency` with an infinite rate).
trace:           request i is sent at its recorded arrival time x the time scale (--dataset trace:FILE).
sessions:        a request that continues another (a multi-turn session's next turn, Prompt.after) is sent
                 only once that one has ended, as a user waits for the reply; the wait is not latency.
time limit:      no request is sent after it; requests still running are cancelled and count as
                 failed; the level's duration then ends at the limit.
Besides the requests, two things run in the same event loop: a probe of the loop's own lag
(`client_overhead`), and a 0.5 s sampler of the server's /metrics gauges.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.serve import prometheus
from bench.serve.arrivals import arrival_offsets_s
from bench.serve.client import Target, new_session, stream_request
from bench.config.serve import Level
from bench.measure.streaming import StreamedRequest
from bench.workload.prompts import Prompt

LAG_PROBE_INTERVAL_S = 0.01
METRICS_INTERVAL_S = 0.5
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


def trace_offsets_s(arrivals_s: list[float] | None, time_scale: float) -> list[float]:
    """A trace's send times: each recorded arrival x the time scale (0.5: twice as fast)."""
    if not arrivals_s:
        raise ValueError("a trace level needs the requests' arrival times")
    return [a * time_scale for a in arrivals_s]


def measure_level(target: Target, plan: LevelPlan) -> LevelResult:
    return asyncio.run(_measure(target, plan))


def _record(i: int, p: Prompt) -> StreamedRequest:
    return StreamedRequest(prompt_len=p.prompt_len, output_len=0, index=i, output_len_asked=p.output_len)


async def _measure(target: Target, plan: LevelPlan) -> LevelResult:
    async with new_session() as session:
        warm = [_record(i, p) for i, p in enumerate(plan.warmup)]
        t_w = time.perf_counter()
        await asyncio.gather(*(stream_request(session, target, p.prompt, r, t_w) for p, r in zip(plan.warmup, warm)))
        before = await prometheus.scrape(session, plan.metrics_url) if plan.metrics_url else None

        records = [_record(i, p) for i, p in enumerate(plan.prompts)]
        sent: list[StreamedRequest] = []
        lag: list[float] = []
        samples: list[dict] = []
        stop = asyncio.Event()
        side = [asyncio.create_task(_probe_lag(lag, stop))]
        if before is not None:
            side.append(asyncio.create_task(_sample_metrics(session, plan.metrics_url, samples, stop)))
        t0 = time.perf_counter()
        deadline = t0 + plan.max_duration_s
        if plan.level.kind in ("rate", "trace"):
            offsets = (trace_offsets_s(plan.arrivals_s, plan.level.value) if plan.level.kind == "trace"
                       else arrival_offsets_s(len(records), plan.level.value, plan.burstiness, plan.seed))
            load = _open_loop(session, target, plan.prompts, records, offsets, t0, deadline, sent)
        else:
            load = _closed_loop(session, target, plan.prompts, records, int(plan.level.value), t0, deadline, sent)
        cut = await _until(load, deadline)
        for r in sent:  # a task cancelled before it ran never filled its record
            if not r.success and not r.error:
                r.error = CANCELLED
        t_end = time.perf_counter()
        stop.set()
        await asyncio.gather(*side)
        after = await prometheus.scrape(session, plan.metrics_url) if before is not None else None
    return LevelResult(records=sent, warmup=warm, duration_s=t_end - t0, unsent=len(records) - len(sent),
                       cut=cut or len(sent) < len(records), loop_lag_s=lag, metrics_before=before,
                       metrics_after=after, metrics_samples=samples)


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
    except asyncio.CancelledError:
        rec.error = CANCELLED
        raise
    finally:
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
