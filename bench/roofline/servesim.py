"""A simulated server: requests that arrive over time, through the batch sim's scheduler. Pure, no I/O.

The same scheduler as the offline prediction (bench.roofline.batchsim.simulate: chunked prefill, the token budget
max_num_batched_tokens, KV blocks, preemption, prefix caching), given `arrivals` instead of every request at t=0:
- OpenArrivals (a request rate, Poisson or gamma gaps from bench.serve's arrival process, or a trace's recorded
  times): request i becomes admissible at its time, whether or not earlier ones have finished;
- ClosedLoop (a concurrency C): C requests at t=0, then a new one each time one finishes, at that instant.
A request waits in the queue from its arrival; when nothing runs or waits the clock jumps to the next arrival.
Each step is timed as the offline prediction times it (expected_step: the efficiency model with a calibration's
parameters, or the roofline bound), one step at a time, because when requests arrive depends on how long steps
take. TTFT = first token - arrival (queueing included), E2E = last token - arrival, TPOT = (E2E - TTFT) /
(output - 1), ITL = the gaps between a request's token times.

Capacity (capacity_req_s): the card's saturated throughput for a workload, in requests a second: the offline
schedule of enough requests to keep the batch full (the lengths cycled to 3 x the batch the cache and
max_num_seqs allow), all at t=0, timed the same way; the rate is read between the finishes ranked n/3 and 2n/3,
past the first wave's start and before the last wave's tail. An open-loop rate above it makes the queue grow
without bound: no steady TTFT exists, and bench serve --engine sim refuses it.

The serving path (bench.roofline.servingpath, a profile's `serving:`): the front end's host seconds per streamed
token, per step and per request lengthen each step where the front end shares the engine's cores (a CPU entry), or
show where they exceed the step (a GPU box); the capacity then comes from the same served steps (every request at
t=0). With the term at 0 (old profiles) nothing changes. A front end in series (servingpath.FrontEndQueue) wraps
the arrivals: a request reaches the scheduler when the front end has handled it, and its tokens count when the
front end has streamed them.
"""

from __future__ import annotations

import bisect
import math

from bench.roofline import batchsim, efficiency, servingpath, trace
from bench.roofline.batchsim import SimOutcome
from bench.roofline.bound import Deployment

CAPACITY_WAVES = 3  # the capacity run: this many times the batch the card holds
CAPACITY_MAX_REQUESTS = 4096  # and no more (a 1024-sequence card: 3,072)


class OpenArrivals:
    """Requests that arrive at fixed times (a rate's offsets or a trace's), in order of their times."""

    def __init__(self, times_s: list[float]) -> None:
        self.order = sorted(range(len(times_s)), key=lambda i: (times_s[i], i))
        self.times = [float(times_s[i]) for i in self.order]
        self.next = 0

    def arrived(self, now: float) -> list[tuple[int, float]]:
        end = bisect.bisect_right(self.times, now, lo=self.next)
        out = [(self.order[k], self.times[k]) for k in range(self.next, end)]
        self.next = end
        return out

    def next_s(self) -> float | None:
        return self.times[self.next] if self.next < len(self.times) else None

    def finished(self, index: int, now: float) -> None:
        pass


class ClosedLoop:
    """C streams: requests 0..C-1 at t=0, then request k (k >= C) when one of those before it finishes."""

    def __init__(self, n: int, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.n = n
        self.ready = [(i, 0.0) for i in range(min(concurrency, n))]
        self.issued = len(self.ready)

    def arrived(self, now: float) -> list[tuple[int, float]]:
        out, self.ready = self.ready, []
        return out

    def next_s(self) -> float | None:
        return None  # a closed loop issues only when one finishes: idle with nothing ready is the end

    def finished(self, index: int, now: float) -> None:
        if self.issued < self.n:
            self.ready.append((self.issued, now))
            self.issued += 1


def server_limits(gpu) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) vLLM's OpenAI server picks for this card (vLLM EngineArgs, usage
    context OPENAI_API_SERVER: 1024 / 8192 on cards of 70 GiB or more except A100s, else 256 / 2048; the offline LLM's
    are bench.roofline.predict.vllm_default_limits)."""
    from bench.roofline.predict import vllm_default_limits

    seqs, tokens = vllm_default_limits(gpu)
    return seqs, 8192 if tokens == 16384 else 2048


def expected_step(dep: Deployment, eff: efficiency.Efficiency | None, step_scale: float = 1.0):
    """The batch sim's step-time function for one step at a time: (seconds, prefill cost, decode cost), the seconds
    from the efficiency model with `eff` (None: the roofline bound), the costs from the roofline's split of the step
    (as bench.roofline.trace splits the offline steps). A step is a pure function of what it holds, and a served load
    repeats the same steps (each wave of equal requests, each request of a closed loop at C = 1): each distinct one
    is priced once. `step_scale`: every step's seconds times this (an engine that runs at 1 / step_scale of the
    calibration's speed: the edges of its band, bench.serve.simulated)."""
    memo: dict = {}

    def step(n_decode: int, ctx: int, chunks: list) -> tuple[float, float, float]:
        key = (n_decode, ctx, tuple(chunks))
        if key not in memo:
            bound_s, prefill, decode = dep.step_split(n_decode, ctx, chunks)
            if eff is not None:
                bound_s = float(efficiency.step_time_s(dep.step_cost(n_decode, ctx, chunks), dep.machine, eff))
            memo[key] = (bound_s * step_scale, prefill, decode)
        return memo[key]
    return step


def served_step(dep: Deployment, serving: servingpath.ServingPath | None):
    """The batch sim's served_step_s for the serving path on this deployment (None when it costs nothing)."""
    if serving is None or serving.is_zero:
        return None
    shared = servingpath.shares_cores_on(serving, dep.gpu.host_cores)

    def step(engine_s: float, streamed: int, admitted: int) -> float:
        return serving.step_s(engine_s, streamed, admitted, shared)
    return step


def serve(dep: Deployment, lengths: list[tuple[int, int]], arrivals, eff: efficiency.Efficiency | None,
          max_num_seqs: int, max_num_batched_tokens: int, kv_capacity_tokens: int | None = None,
          prefix_blocks: list | None = None, serving: servingpath.ServingPath | None = None,
          seed: int = 0, step_scale: float = 1.0) -> SimOutcome:
    """Serve (prompt_len, output_len) requests arriving as `arrivals` says (OpenArrivals or ClosedLoop; None: all at
    t=0); per-request arrival, token and finish times in the outcome (SimError when one cannot fit the cache).
    `serving`: the front end's host cost (module doc; None: none); in series, its own queue wraps the arrivals;
    `seed`: the draws of a request latency that varies (servingpath.FrontEndQueue); `step_scale`: every engine step
    that many times as long (expected_step; the front end's cost unchanged)."""
    delivered = None
    in_series = serving is not None and serving.in_series and not serving.is_zero
    if in_series or (serving is not None and serving.request_latency_s > 0):
        arrivals = arrivals if arrivals is not None else OpenArrivals([0.0] * len(lengths))
        # not in series, the latency is a pure delay: a queue whose handling takes 0 s
        front = serving if in_series else serving.with_values(stream_request_s=0.0, stream_token_s=0.0)
        arrivals = servingpath.FrontEndQueue(front, arrivals, seed)
        delivered = arrivals.delivered_s if in_series else None
    return batchsim.simulate(lengths, expected_step(dep, eff, step_scale), kv_capacity_tokens or dep.kv_capacity_tokens,
                             max_num_seqs, max_num_batched_tokens, prefix_blocks=prefix_blocks,
                             kv_units=dep.kv_units_or_none, tokens_per_step=dep.tokens_per_step, arrivals=arrivals,
                             log_tokens=True, served_step_s=served_step(dep, serving), delivered_s=delivered)


def capacity_req_s(dep: Deployment, lengths: list[tuple[int, int]], eff: efficiency.Efficiency | None,
                   max_num_seqs: int, max_num_batched_tokens: int, kv_capacity_tokens: int | None = None,
                   serving: servingpath.ServingPath | None = None, step_scale: float = 1.0) -> float:
    """Saturated requests a second of this workload on `dep` (module doc); `step_scale` as serve's."""
    cap = kv_capacity_tokens or dep.kv_capacity_tokens
    longest = max(p + o for p, o in lengths)
    batch = max(1, min(max_num_seqs, cap // max(longest, 1)))
    n = min(max(len(lengths), CAPACITY_WAVES * batch), max(CAPACITY_MAX_REQUESTS, len(lengths)))
    cycled = [lengths[i % len(lengths)] for i in range(n)]
    if served_step(dep, serving) is None:  # every step scaled alike: the whole schedule's times scale
        tr = trace.schedule(dep, cycled, max_num_seqs, max_num_batched_tokens, kv_capacity_tokens=cap)
        finish = sorted((trace.timings(tr, eff).e2e_s * step_scale).tolist())
    else:  # the served steps, every request at t=0 (the offline schedule's, each step with its front-end cost)
        out = serve(dep, cycled, None, eff, max_num_seqs, max_num_batched_tokens, cap, serving=serving,
                    step_scale=step_scale)
        finish = sorted(r.finish_s for r in out.requests)
    lo, hi = n // 3, (2 * n) // 3
    if hi > lo and finish[hi] > finish[lo]:
        return (hi - lo) / (finish[hi] - finish[lo])
    return n / finish[-1]


def mean_rate_req_s(times_s: list[float]) -> float:
    """The offered rate of arrival times: requests / the time the last one arrives (inf: all at once)."""
    last = max(times_s) if times_s else 0.0
    return len(times_s) / last if last > 0 else math.inf


SERVED_WAVES = 2  # a closed loop's served latencies: this many requests per stream
SERVED_MIN_REQUESTS = 32


def closed_loop_latencies_s(dep: Deployment, input_len: int, output_len: int, concurrency: int,
                            eff: efficiency.Efficiency | None, max_num_seqs: int, max_num_batched_tokens: int,
                            kv_capacity_tokens: int | None = None,
                            serving: servingpath.ServingPath | None = None) -> tuple[list[float], list[float]]:
    """(TTFT seconds, TPOT seconds) of each request of a closed loop of `concurrency` streams serving requests of
    input_len / output_len tokens: max(SERVED_WAVES x concurrency, SERVED_MIN_REQUESTS) of them, as `bench serve
    --engine sim --concurrency C` serves a level (the first wave's burst included), `serving` its front end's cost
    (None: none). No TPOT for one output token."""
    n = max(SERVED_WAVES * concurrency, SERVED_MIN_REQUESTS)
    out = serve(dep, [(input_len, output_len)] * n, ClosedLoop(n, concurrency), eff, max_num_seqs,
                max_num_batched_tokens, kv_capacity_tokens, serving=serving)
    ttft = [r.first_token_s - r.arrival_s for r in out.requests]
    tpot = [(r.finish_s - r.first_token_s) / (r.output_len - 1) for r in out.requests if r.output_len > 1]
    return ttft, tpot
