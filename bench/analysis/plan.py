"""A fleet for a traffic: how many GPUs and servers, what a month costs, against each vendor's bill. Pure
functions; units in every name (tok_s tokens a second, _cny CNY, per_m per million tokens).

Method (docs/plan.md):
1. Traffic T tokens a day at an input:output mix a:b and a peak-to-mean ratio k: mean load T / 86,400
   tokens/s, peak load k x mean. A request is output_len output tokens and output_len x a / b input tokens.
2. Each hardware runs replicas (one copy of the model on its tensor-parallel group) at the operating point
   that meets the latency targets (bench.analysis.frontier.at_slo): X tokens/s per replica at batch b*.
   Replicas = ceil(peak / X), at least 1; GPUs = replicas x GPUs per replica; servers = ceil(GPUs / 8).
3. The batch the traffic fills: each replica carries peak / replicas (mean / replicas) tokens/s, which is
   the batch on the line to b* with that throughput (frontier.batch_for_load) - low traffic runs small
   batches, and its latency is read there, not at the largest batch measured.
4. Utilisation at the mean = mean / (replicas x X).
   With a batch share S (--batch-share: traffic with no latency target), the share 1 - S is served as above and
   the share S by replicas of their own at the cheapest point (the most tokens/s per GPU, whatever its latency):
   ceil(S x peak / X_cheapest) more replicas; utilisation = mean / (capacity of both).
5. A month = 730 h (8,760 / 12) = 30.42 days. Monthly CNY = GPUs x CNY per GPU-hour x 730, on each basis
   (bench.cost.pricing prices the GPU-hour); CNY/M at the traffic = monthly CNY / (T x 30.42 / 1e6).
6. A vendor's monthly bill = its price at the mix, with its terms (cache hits, batch API, off-peak share,
   the free quota at this monthly volume; bench.cost.vendor_use), x T x 30.42 / 1e6; the API keys its rate
   limits need for the peak tokens and requests a minute.
7. Break-even against a vendor: one replica costs C CNY an hour and carries at most X tokens/s at the SLO,
   i.e. X x 86,400 / k tokens a day at peak-to-mean k. Self-hosting wins from V* = C x 24 x 1e6 / vendor
   CNY/M tokens a day (bench.cost.formulas.breakeven_tokens_per_day); never when V* is above what a
   replica carries (each replica would cost more than the vendor even when full). The break-even
   utilisation is V* / (X x 86,400): the mean utilisation at which the two cost the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bench.analysis import frontier
from bench.analysis.frontier import OperatingPoint, Point
from bench.cost import formulas as cost

SECONDS_PER_DAY = 86_400.0
DAYS_PER_MONTH = cost.HOURS_PER_MONTH / 24.0  # 730 / 24 = 30.4167
GPUS_PER_SERVER = 8  # an HGX/8-card server; hardware.yaml's server quotes hold 8 cards
DEFAULT_OUTPUT_LEN = 256

_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_PER = {"day": 1.0, "d": 1.0, "h": 24.0, "hour": 24.0, "min": 1440.0, "s": SECONDS_PER_DAY, "sec": SECONDS_PER_DAY}
_TRAFFIC = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmbgt]?)\s*(tokens?|tok|requests?|req)?\s*"
                      r"(?:/\s*(day|d|hour|h|min|sec|s))?\s*$", re.IGNORECASE)


def parse_traffic(text: str, tokens_per_request: float) -> float:
    """'500M/day', '120B', '2M req/day', '30k tok/s', '1500 req/min' -> tokens a day (requests x
    tokens_per_request). ValueError with the expected form for anything else, or for 0."""
    m = _TRAFFIC.match(text)
    if not m:
        raise ValueError(f"expected a traffic such as 500M/day, 120B/day, 2M req/day or 30k tok/s, got {text!r}")
    amount, unit, kind, per = m.groups()
    n = float(amount) * _UNITS[unit.lower()] * _PER[(per or "day").lower()]
    if kind and kind.lower().startswith("req"):
        n *= tokens_per_request
    if not (n > 0 and math.isfinite(n)):
        raise ValueError(f"traffic must be above 0 tokens a day, got {text!r}")
    return n


@dataclass(frozen=True)
class Traffic:
    tokens_per_day: float
    mix: tuple[float, float] = cost.DEFAULT_MIX
    peak_to_mean: float = 1.0
    output_len: int = DEFAULT_OUTPUT_LEN  # output tokens per request

    @property
    def input_len(self) -> int:
        """Input tokens per request: output_len x a / b at mix a:b."""
        a, b = self.mix
        return round(self.output_len * a / b)

    @property
    def tokens_per_request(self) -> int:
        return self.input_len + self.output_len

    @property
    def mean_tok_s(self) -> float:
        return self.tokens_per_day / SECONDS_PER_DAY

    @property
    def peak_tok_s(self) -> float:
        return self.mean_tok_s * self.peak_to_mean

    @property
    def peak_tokens_per_min(self) -> float:
        return self.peak_tok_s * 60.0

    @property
    def peak_requests_per_min(self) -> float:
        return self.peak_tokens_per_min / self.tokens_per_request

    @property
    def tokens_per_month(self) -> float:
        return self.tokens_per_day * DAYS_PER_MONTH


@dataclass(frozen=True)
class Fleet:
    replicas: int
    gpus_per_replica: int
    replica_tok_s: float  # what one replica carries at the operating point
    batch_at_peak: float  # the batch each replica runs at the peak
    batch_at_mean: float
    utilization_at_mean: float
    at_peak: Point  # figures at the peak's batch (latencies users see at the busiest hour)
    batch_replicas: int = 0  # replicas serving the batch share at the cheapest point (module doc, step 4)
    batch_point: Point | None = None  # that point

    @property
    def gpus(self) -> int:
        return (self.replicas + self.batch_replicas) * self.gpus_per_replica

    @property
    def servers(self) -> int:
        return servers_for(self.gpus)


def replicas_for(peak_tok_s: float, replica_tok_s: float) -> int:
    """Replicas that carry the peak: ceil(peak / per replica), at least 1."""
    return max(1, math.ceil(peak_tok_s / replica_tok_s - 1e-9))


def servers_for(gpus: int, gpus_per_server: int = GPUS_PER_SERVER) -> int:
    """Whole servers holding `gpus` cards: ceil(GPUs / cards per server)."""
    return math.ceil(gpus / gpus_per_server)


def cheapest_point(points: list[Point]) -> Point:
    """The point with the most tokens/s per GPU, whatever its latency: where traffic with no latency target runs."""
    return max(points, key=lambda p: (p.tok_s_per_gpu, -p.batch))


def size_fleet(points: list[Point], op: OperatingPoint, traffic: Traffic, batch_share: float = 0.0) -> Fleet:
    """Replicas for the peak at the operating point, the batch each fills at the peak and the mean, and the
    utilisation at the mean (module doc, steps 2-4); the batch share on replicas of its own at the cheapest
    point."""
    x, s = op.point.total_tok_s, min(max(batch_share, 0.0), 1.0)
    cheap = cheapest_point(points + [op.point]) if s > 0 else None
    n_batch = replicas_for(traffic.peak_tok_s * s, cheap.total_tok_s) if cheap is not None else 0
    n = replicas_for(traffic.peak_tok_s * (1 - s), x) if s < 1 else 0
    upto = [p for p in points if p.batch < op.point.batch] + [op.point]
    if n:
        b_peak = frontier.batch_for_load(points, op, traffic.peak_tok_s * (1 - s) / n)
        b_mean = frontier.batch_for_load(points, op, traffic.mean_tok_s * (1 - s) / n)
        at_peak = frontier.at_batch(upto, b_peak)
    else:  # all of it batch: the replicas run the cheapest point
        b_peak = b_mean = cheap.batch
        at_peak = cheap
    capacity = n * x + (n_batch * cheap.total_tok_s if cheap is not None else 0.0)
    return Fleet(replicas=n, gpus_per_replica=op.point.gpus, replica_tok_s=x, batch_at_peak=b_peak,
                 batch_at_mean=b_mean, utilization_at_mean=traffic.mean_tok_s / capacity, at_peak=at_peak,
                 batch_replicas=n_batch, batch_point=cheap if n_batch else None)


def monthly_cny(gpus: int, gpu_cny_per_hour: float) -> float:
    """GPUs x CNY per GPU-hour x 730 hours."""
    return gpus * gpu_cny_per_hour * cost.HOURS_PER_MONTH


def cny_per_m_at(monthly: float, tokens_per_month: float) -> float:
    """What a million of the month's tokens cost: monthly CNY / (tokens / 1e6)."""
    return monthly / (tokens_per_month / cost.TOKENS_PER_M)


def vendor_monthly_cny(vendor_cny_per_m: float, tokens_per_month: float) -> float:
    """A vendor's bill for a month of tokens at its (blended, terms-applied) price."""
    return vendor_cny_per_m * tokens_per_month / cost.TOKENS_PER_M


@dataclass(frozen=True)
class BreakEven:
    tokens_per_day: float | None  # self-hosting is cheaper from this volume; None: never at this peak-to-mean
    utilization: float  # the mean utilisation at which both cost the same (above 1: never)
    replica_tokens_per_day: float  # the most one replica carries a day at the SLO and peak-to-mean


def break_even(replica_cny_per_hour: float, replica_tok_s: float, peak_to_mean: float,
               vendor_cny_per_m: float) -> BreakEven:
    """Module doc, step 7. Against a free vendor: never (utilisation inf)."""
    full_use = cost.cny_per_m_total(replica_cny_per_hour, replica_tok_s)  # one replica busy every hour
    u = cost.breakeven_utilization(full_use, vendor_cny_per_m)
    volume = cost.breakeven_tokens_per_day(replica_cny_per_hour, vendor_cny_per_m)
    carries = replica_tok_s * SECONDS_PER_DAY / peak_to_mean
    return BreakEven(tokens_per_day=volume if volume <= carries else None, utilization=u,
                     replica_tokens_per_day=carries)


@dataclass(frozen=True)
class TraceSummary:
    """What a request trace says about a traffic (trace_summary)."""

    requests: int
    input_tokens: int
    output_tokens: int
    tokens_per_day: float | None  # None: the trace has no timestamps, or they span no time
    peak_to_mean: float | None  # None: the trace spans less than two whole hours

    @property
    def mix(self) -> tuple[float, float]:
        """All input : all output tokens, as IN:1."""
        return self.input_tokens / self.output_tokens, 1.0

    @property
    def output_len(self) -> int:
        """Mean output tokens per request, at least 1."""
        return max(1, round(self.output_tokens / self.requests))


def trace_summary(records: list[tuple[float | None, int, int]]) -> TraceSummary:
    """(timestamp s or None, input tokens, output tokens) per request -> the traffic's mix (all input : all output),
    mean output length, tokens a day (all tokens / (last - first timestamp) x 86,400) and peak-to-mean (the busiest
    whole hour's tokens / the mean of whole hours, hours counted from the first request; a last, partial hour is
    left out). ValueError for an empty trace or one with no output tokens."""
    if not records:
        raise ValueError("the trace has no requests")
    tin = sum(r[1] for r in records)
    tout = sum(r[2] for r in records)
    if tout <= 0:
        raise ValueError("the trace has no output tokens")
    stamps = [r[0] for r in records if r[0] is not None]
    per_day = peak = None
    if len(stamps) == len(records) and max(stamps) > min(stamps):
        t0, span = min(stamps), max(stamps) - min(stamps)
        per_day = (tin + tout) / span * SECONDS_PER_DAY
        whole = int(span // 3600)
        if whole >= 2:
            hours = [0.0] * whole
            for t, i, o in records:
                h = int((t - t0) // 3600)
                if h < whole:
                    hours[h] += i + o
            mean = sum(hours) / whole
            peak = max(hours) / mean if mean > 0 else None
    return TraceSummary(len(records), tin, tout, per_day, peak)
