"""The serving path's own host cost: what the API server and the client spend per streamed token, per step and per
request, beside the engine. Pure, no I/O.

A served token costs more than the engine's step: vLLM's OpenAI front end (a separate process) turns each step's
outputs into one SSE event per stream (detokenising, JSON, HTTP), and the client parses them; each new request is
parsed, tokenised and set up. An offline calibration (`bench run` rows) never sees this. Its parameters:

    stream_token_s    host seconds per streamed token (one stream's token of one step)
    stream_step_s     host seconds per engine step that streams anything (the front end wakes once per step's
                      outputs, whatever their number)
    stream_request_s  host seconds per request (HTTP request, tokenising, set-up), charged to the step that admits it
    request_latency_s seconds a request spends on its way to the engine that hold nothing up (the hops between the
                      client, the API server and the engine core, each a wake-up): it becomes admissible that much
                      later, and no other request waits for it. `latency_dist` (stated, never fitted) says whether
                      every request takes exactly that ("fixed") or it is the mean of a wait drawn for each request
                      ("exponential", below)

A step that streams n tokens and admits a new requests has host_s = stream_step_s [n > 0] + n x stream_token_s +
a x stream_request_s. Where the front end shares the engine's cores (vLLM's CPU build: the API server, the client
and the engine's threads on the same few cores) that time is taken from the engine: the step lasts engine_s + host_s.
Where it has cores of its own (a GPU box: the engine waits on the GPU, the front end runs on other host cores) it
overlaps the step and shows only where it is longer: max(engine_s, host_s). Which one holds is a stated property
(`shares_cores`; None: as the hardware says, shared on a CPU entry, own cores on a GPU), never a fitted one.

In series (`in_series`, also stated, never fitted): the front end is a process of its own with one queue, first
come first served (FrontEndQueue). A request waits for it, takes stream_request_s, and only then reaches the
engine's waiting queue; a step's n streamed tokens wait for it and take n x stream_token_s before the client has
them. Neither lengthens the engine's steps; only the per-step term stays on the step (added where the cores are
shared, as above: the engine's own loop waits for the core the front end holds). This is vLLM's CPU build as it runs
(`taskset`, docs/roofline.md): the model worker pinned to one core, the engine core's loop, the API server and the
client on the other. Its consequence: a wave of admissions no longer slows every running stream (it delays the
requests admitted), and a new request waits behind the tokens the front end is still streaming.

A request's latency that varies (latency_dist "exponential"): a wake-up on a core another process holds (vLLM's
CPU build: the engine core's loop polls the worker on the cores the API server and the client use) waits for the
scheduler to run it, a wait with no memory of how long it has lasted: exponential, with request_latency_s its mean,
drawn for each request in turn from the level's seed (the same draws for the same seed and load: a level's
prediction is repeatable). Its consequence: equal requests at one stream get a TTFT spread (p90 - p50 = 1.61 x the
mean, p50 - p10 = 0.59 x), where a fixed latency gives them all one TTFT. Measured on vLLM's CPU build at one
stream, requests streamed token by token (scripts/ttft_shape.py, docs/roofline.md): the TTFT's (p90 - p50) /
(p50 - p10) is 0.3-3.5 over 14 levels of three models, median 2.0, right-skewed as the exponential's 2.74, where a
uniform wait gives 1.0.

With every parameter 0 (profiles written before the term, and any profile that does not measure it) the step is
the engine's, and every prediction is what it was.

The fit (fit_nonnegative): least squares of the relative misses of given served figures (measured - predicted with
the term at 0) on each parameter's effect on them (the predicted change per second of the parameter), every
parameter >= 0. bench.serve.servingfit supplies the figures from served rows: never the rows a validation checks.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

PARAMETERS = ("stream_token_s", "stream_step_s", "stream_request_s", "request_latency_s")
UPPER_S = 1.0  # a second of host time per token, step or request: beyond anything physical
ASSUMED = "assumed: 0 (not measured)"
LATENCY_DISTS = ("fixed", "exponential")  # request_latency_s: every request's, or the mean of each one's (module doc)


@dataclass(frozen=True)
class ServingPath:
    """The serving path's host cost (module doc); `source` says where the figures came from (assumed / measured)."""

    stream_token_s: float = 0.0
    stream_step_s: float = 0.0
    stream_request_s: float = 0.0
    request_latency_s: float = 0.0
    shares_cores: bool | None = None  # None: as the hardware says (shares_cores_on)
    in_series: bool = False  # the per-token and per-request work in a queue of its own (module doc)
    latency_dist: str = "fixed"  # LATENCY_DISTS: request_latency_s is each request's, or their mean (module doc)
    source: str = ASSUMED

    def __post_init__(self):
        for name in PARAMETERS:
            v = getattr(self, name)
            if not (0.0 <= v <= UPPER_S):
                raise ValueError(f"serving parameter {name} = {v} is outside its range [0, {UPPER_S}] seconds")
        if self.latency_dist not in LATENCY_DISTS:
            raise ValueError(f"serving: latency_dist is one of {', '.join(LATENCY_DISTS)}, not {self.latency_dist!r}")

    @property
    def is_zero(self) -> bool:
        return not any(getattr(self, name) for name in PARAMETERS)

    def host_s(self, streamed_tokens: int, admitted_requests: int) -> float:
        """The front end's seconds for one step that streams `streamed_tokens` and admits `admitted_requests`, as far
        as they fall on the step (in series: the per-step term only; the rest is FrontEndQueue's)."""
        if self.in_series:
            return self.stream_step_s * (streamed_tokens > 0)
        return (self.stream_step_s * (streamed_tokens > 0) + self.stream_token_s * streamed_tokens
                + self.stream_request_s * admitted_requests)

    def step_s(self, engine_s: float, streamed_tokens: int, admitted_requests: int, shared: bool) -> float:
        """A served step's seconds: the engine's plus the front end's on shared cores, else the longer of the two."""
        host = self.host_s(streamed_tokens, admitted_requests)
        return engine_s + host if shared else max(engine_s, host)

    def describe(self, ms=lambda v: f"{v:.2f}") -> str:
        """One line for people: each parameter in ms (`ms` formats a number), the latency's distribution, where the
        front end runs (bench calibrate prints it; scripts/validate_serving.py's table ends with it)."""
        cores = {True: "sharing the engine's cores", False: "on cores of its own", None: "cores as the hardware says"}
        return (f"{ms(self.stream_token_s * 1e3)} ms per streamed token, {ms(self.stream_step_s * 1e3)} ms per step, "
                f"{ms(self.stream_request_s * 1e3)} ms per request, {ms(self.request_latency_s * 1e3)} ms on each "
                "request's way" + (" (the mean of an exponential wait)" if self.latency_dist == "exponential" else "")
                + "; " + ("in series with the engine, " if self.in_series else "") + cores[self.shares_cores])

    def with_values(self, **values) -> "ServingPath":
        return replace(self, **values)

    def as_dict(self) -> dict:
        out = {k: float(f"{v:.6g}") for k, v in asdict(self).items() if k in PARAMETERS}
        return {**out, "shares_cores": self.shares_cores, **({"in_series": True} if self.in_series else {}),
                **({"latency_dist": self.latency_dist} if self.latency_dist != "fixed" else {}), "source": self.source}


def from_dict(raw: dict) -> ServingPath:
    """A profile's `serving:` mapping; ValueError naming an unknown key or a value out of range."""
    if not isinstance(raw, dict):
        raise ValueError("serving: not a mapping")
    known = {f.name for f in fields(ServingPath)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"serving: unknown key {unknown[0]} (known: {', '.join(sorted(known))})")
    shares = raw.get("shares_cores")
    if shares is not None and not isinstance(shares, bool):
        raise ValueError("serving: shares_cores is true, false or null (null: as the hardware says)")
    series = raw.get("in_series", False)
    if not isinstance(series, bool):
        raise ValueError("serving: in_series is true or false")
    return ServingPath(**{k: float(raw.get(k) or 0.0) for k in PARAMETERS}, shares_cores=shares, in_series=series,
                       latency_dist=raw.get("latency_dist", "fixed"), source=str(raw.get("source") or ASSUMED))


class FrontEndQueue:
    """The front end in series with the engine (ServingPath.in_series): one server, first come first served, between
    the client and the engine's waiting queue, and again between each step's outputs and the client.

    It wraps a load's arrivals (bench.roofline.servesim's OpenArrivals or ClosedLoop) and is itself one: a request
    that arrives at a is handled from max(a, the front end free), for stream_request_s, and becomes admissible when
    that ends, plus its latency: request_latency_s, or with latency_dist "exponential" that times the standard
    exponential drawn for its index from `seed` (its TTFT still counts from a). `delivered_s(step_end, n)` books a
    step's n streamed tokens behind the work already queued (requests that arrived by the step's end first: they came
    before the outputs) and returns when the client has them: max(step_end, free) + n x stream_token_s. A closed
    loop's next request is issued at that delivery, when its client got the last token."""

    def __init__(self, path: ServingPath, arrivals, seed: int = 0) -> None:
        self.path = path
        self.inner = arrivals
        self.rng = random.Random(seed)
        self.draws: list[float] = []  # the standard exponential of request i (drawn by index: repeatable)
        self.free_s = 0.0
        self.incoming: list[tuple[float, int]] = []  # (arrival s, index): arrived, not yet handled (a heap)
        self.ready: list[tuple[float, float, int]] = []  # (admissible s, arrival s, index) handled (a heap)

    def _intake(self, now: float) -> None:
        for i, t in self.inner.arrived(now):  # a closed loop may hand over requests issued after `now`
            heapq.heappush(self.incoming, (t, i))
        while self.incoming and self.incoming[0][0] <= now:
            t, i = heapq.heappop(self.incoming)
            self.free_s = max(t, self.free_s) + self.path.stream_request_s
            heapq.heappush(self.ready, (self.free_s + self.latency_s(i), t, i))

    def latency_s(self, index: int) -> float:
        """Request `index`'s latency on its way to the engine (class doc)."""
        mean = self.path.request_latency_s
        if self.path.latency_dist == "fixed" or mean <= 0:
            return mean
        while len(self.draws) <= index:
            self.draws.append(self.rng.expovariate(1.0))
        return mean * self.draws[index]

    def arrived(self, now: float) -> list[tuple[int, float]]:
        self._intake(now)
        out = []
        while self.ready and self.ready[0][0] <= now:
            _, t, i = heapq.heappop(self.ready)
            out.append((i, t))
        return out

    def next_s(self) -> float | None:
        times = [q[0][0] for q in (self.ready, self.incoming) if q]
        inner = self.inner.next_s()
        times += [inner] if inner is not None else []
        return min(times) if times else None

    def finished(self, index: int, now: float) -> None:
        self.inner.finished(index, now)

    def delivered_s(self, step_end_s: float, streamed_tokens: int) -> float:
        if streamed_tokens <= 0:
            return step_end_s
        self._intake(step_end_s)
        self.free_s = max(step_end_s, self.free_s) + streamed_tokens * self.path.stream_token_s
        return self.free_s


def shares_cores_on(path: ServingPath, host_cores: bool) -> bool:
    """Whether the front end takes its time from the engine's: as the path states it, else as the hardware is
    (`host_cores`: the engine runs on the host's CPU cores, a CPU entry)."""
    return path.shares_cores if path.shares_cores is not None else host_cores


def fit_nonnegative(misses: list[float], effects: list[list[float]]) -> list[float]:
    """Least squares x >= 0 of effects @ x = misses (one row per figure: its miss, and each parameter's effect on it
    per unit of the parameter). The parameters are few (one to three), so every subset of them is solved without the
    bound, the others at 0; the answer is the subset whose solution is non-negative and fits best (none: all 0)."""
    a = np.asarray(effects, dtype=float)
    b = np.asarray(misses, dtype=float)
    k = a.shape[1]
    best, best_err = np.zeros(k), float(b @ b)
    for mask in range(1, 2**k):
        cols = [j for j in range(k) if mask >> j & 1]
        sub = a[:, cols]
        if np.linalg.matrix_rank(sub) < len(cols):
            continue
        sol, *_ = np.linalg.lstsq(sub, b, rcond=None)
        if (sol < 0).any():
            continue
        x = np.zeros(k)
        x[cols] = sol
        err = float(np.sum((a @ x - b) ** 2))
        if err < best_err - 1e-18:
            best, best_err = x, err
    return [float(v) for v in best]
