"""Operating points of one model on one hardware, and the point that meets a latency target. Pure functions.

A point is one batch size of one replica (the GPUs one copy of the model runs on): the sequences decoding
together (`batch`: bench run's max_num_seqs, or a bench serve level's measured mean concurrency), the replica's
tokens/s, and its time to first token (TTFT) and time per output token (TPOT) at one percentile.

Method (docs/plan.md, "Cost at a latency target"):
- Points are ordered by batch. Between two measured batches every figure is linear in the batch
  (`at_batch`): throughput (a prediction's band and bound too), TTFT and TPOT alike. Below the smallest
  batch the throughput falls linearly to 0 at batch 0 (a replica busy part of the time); the latencies stay
  at the smallest batch's.
- The operating point at an SLO (`at_slo`) is the largest batch at which every target holds: a point
  that meets the targets, or, between a point that meets them and the next one that does not, the batch
  where the first target is reached on the line between the two.
- The front (`front`) is throughput per GPU against interactivity (output tokens/s each user sees,
  1000 / TPOT ms): the points no other point beats on both.
- The batch a load fills (`batch_for_load`): the smallest batch whose interpolated throughput equals it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bench.measure.slo import Slo

MEASURED = "measured"


@dataclass(frozen=True)
class Point:
    batch: float  # sequences decoding together
    total_tok_s: float  # input + output tokens/s of one replica (all its GPUs)
    gpus: int  # GPUs of one replica (tensor x pipeline parallel)
    ttft_ms: float | None  # at the plan's percentile; None: not measured
    tpot_ms: float | None
    source: str = MEASURED  # "measured", or where a predicted point comes from ("predicted: roofline bound")
    ref: str = ""  # the run_id of a measured point; what predicted it otherwise
    # predicted points only (bench.analysis.plan_points.expected_point): the calibration's band around
    # total_tok_s (measured speed is expected between them) and the roofline bound at the same batch
    band_low_tok_s: float | None = None
    band_high_tok_s: float | None = None
    bound_tok_s: float | None = None
    # what its TTFT / TPOT are: "" the percentile asked for over measured requests; "mean" one mean step of a
    # prediction (no queueing); and whether a server measured them under load (bench serve) or an offline run did
    # (every request submitted at t=0: its TTFT is mostly the wait for a batch slot)
    latency_stat: str = ""
    served: bool = False
    # the runs it stands for (repeats of one case, at their median) and the 95% t half-width of their throughput
    # over its mean (bench.measure.uncertainty); None for one run
    runs: int = 1
    tok_s_rel_hw: float | None = None

    @property
    def tok_s_per_gpu(self) -> float:
        return self.total_tok_s / self.gpus

    @property
    def tok_s_per_user(self) -> float | None:
        """Interactivity: output tokens a second each request sees, 1000 / TPOT ms."""
        return 1000.0 / self.tpot_ms if self.tpot_ms else None

    @property
    def predicted(self) -> bool:
        return self.source != MEASURED


@dataclass(frozen=True)
class OperatingPoint:
    """The point a replica is run at: a measured/predicted point, or one interpolated between two."""

    point: Point  # batch, throughput and latencies at the operating batch
    binding: str  # what stops a larger batch: "TTFT", "TPOT", or "largest batch" (the targets hold at every point)
    between: tuple[str, ...]  # refs of the one or two points it comes from
    batch_between: tuple[float, ...] = ()  # their batches

    @property
    def interpolated(self) -> bool:
        return len(self.between) == 2


def lerp(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """y at x on the line through (x0, y0) and (x1, y1)."""
    if x1 == x0:
        return y0
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def sorted_points(points: list[Point]) -> list[Point]:
    """By batch; of two points at one batch the later in the list is kept (a rerun replaces a run)."""
    by_batch: dict[float, Point] = {}
    for p in points:
        by_batch[p.batch] = p
    return [by_batch[b] for b in sorted(by_batch)]


def _lerp_opt(x, x0, y0, x1, y1):
    return None if y0 is None or y1 is None else lerp(x, x0, y0, x1, y1)


_SPEEDS = ("total_tok_s", "band_low_tok_s", "band_high_tok_s", "bound_tok_s")  # throughputs: linear in the batch


def _wider(a: float | None, b: float | None) -> float | None:
    """Between two points, the wider relative interval of the two (the interpolation's spread is taken no narrower
    than either end's); None when an end has none."""
    return None if a is None or b is None else max(a, b)


def at_batch(points: list[Point], batch: float) -> Point:
    """The figures at `batch`, linear between the two measured batches around it (see the module doc).
    Above the largest batch: the largest batch's point (nothing is extrapolated)."""
    pts = sorted_points(points)
    if not pts:
        raise ValueError("no points")
    first = pts[0]
    if batch <= first.batch:
        share = batch / first.batch
        scaled = {k: getattr(first, k) * share for k in _SPEEDS if getattr(first, k) is not None}
        return replace(first, batch=batch, **scaled)
    for lo, hi in zip(pts, pts[1:]):
        if batch <= hi.batch:
            speeds = {k: _lerp_opt(batch, lo.batch, getattr(lo, k), hi.batch, getattr(hi, k)) for k in _SPEEDS}
            return Point(batch=batch, gpus=lo.gpus,
                         ttft_ms=_lerp_opt(batch, lo.batch, lo.ttft_ms, hi.batch, hi.ttft_ms),
                         tpot_ms=_lerp_opt(batch, lo.batch, lo.tpot_ms, hi.batch, hi.tpot_ms),
                         source=lo.source if lo.source == hi.source else f"{lo.source} + {hi.source}",
                         ref=f"{lo.ref} .. {hi.ref}", latency_stat=lo.latency_stat if lo.latency_stat ==
                         hi.latency_stat else "", served=lo.served and hi.served, runs=min(lo.runs, hi.runs),
                         tok_s_rel_hw=_wider(lo.tok_s_rel_hw, hi.tok_s_rel_hw), **speeds)
    return pts[-1]


def misses(p: Point, slo: Slo) -> list[str]:
    """The targets `p` misses ("TTFT", "TPOT"); a latency that was not measured misses its target."""
    out = []
    if slo.ttft_ms is not None and (p.ttft_ms is None or p.ttft_ms > slo.ttft_ms):
        out.append("TTFT")
    if slo.tpot_ms is not None and (p.tpot_ms is None or p.tpot_ms > slo.tpot_ms):
        out.append("TPOT")
    return out


def shortfall(p: Point, slo: Slo) -> float:
    """How far `p` is from the targets: the largest of latency / target (<= 1: met); inf when unmeasured."""
    ratios = [1.0]
    for got, want in ((p.ttft_ms, slo.ttft_ms), (p.tpot_ms, slo.tpot_ms)):
        if want is not None:
            ratios.append(math.inf if got is None else got / want)
    return max(ratios)


def best_available(points: list[Point], slo: Slo) -> Point:
    """The point closest to the targets (smallest shortfall; the higher throughput on a tie)."""
    return min(points, key=lambda p: (shortfall(p, slo), -p.total_tok_s))


def crossing_batch(lo: Point, hi: Point, slo: Slo) -> tuple[float, str]:
    """Between `lo` (meets the targets) and `hi` (misses one): the batch where the first target is reached
    on the line between them, and which target that is."""
    found = []
    for name, want, a, b in (("TTFT", slo.ttft_ms, lo.ttft_ms, hi.ttft_ms), ("TPOT", slo.tpot_ms, lo.tpot_ms,
                                                                              hi.tpot_ms)):
        if want is None or a is None:
            continue
        if b is None:
            found.append((lo.batch, name))
        elif b > want:
            found.append((lerp(want, a, lo.batch, b, hi.batch), name))
    return min(found) if found else (hi.batch, "largest batch")


def at_slo(points: list[Point], slo: Slo) -> OperatingPoint | None:
    """The largest batch at which every target holds (module doc); None when no point meets them."""
    pts = sorted_points(points)
    best: OperatingPoint | None = None
    for i, p in enumerate(pts):
        if misses(p, slo):
            continue
        nxt = pts[i + 1] if i + 1 < len(pts) else None
        if nxt is None:
            cand = OperatingPoint(p, "largest batch", (p.ref,), (p.batch,))
        elif not misses(nxt, slo):
            continue  # a larger batch meets them too
        else:
            batch, binding = crossing_batch(p, nxt, slo)
            if batch == p.batch:
                cand = OperatingPoint(p, binding, (p.ref,), (p.batch,))
            else:
                cand = OperatingPoint(at_batch([p, nxt], batch), binding, (p.ref, nxt.ref), (p.batch, nxt.batch))
        if best is None or cand.point.batch > best.point.batch:
            best = cand
    return best


def batch_for_load(points: list[Point], op: OperatingPoint, load_tok_s: float) -> float:
    """The batch whose throughput is `load_tok_s` on the way to the operating point: a replica carrying that
    load runs this batch on average (0 for no load; the operating batch when the load is at its capacity)."""
    pts = [p for p in sorted_points(points) if p.batch < op.point.batch] + [op.point]
    if load_tok_s >= op.point.total_tok_s:
        return op.point.batch
    prev_b, prev_x = 0.0, 0.0
    for p in pts:
        if load_tok_s <= p.total_tok_s:
            return lerp(load_tok_s, prev_x, prev_b, p.total_tok_s, p.batch)
        prev_b, prev_x = p.batch, p.total_tok_s
    return op.point.batch


def front(points: list[Point]) -> list[Point]:
    """Throughput per GPU vs tokens/s per user: the points no other point beats on both (higher is better on
    both axes), by interactivity, highest first. Points without a TPOT are left out."""
    pts = [p for p in points if p.tok_s_per_user is not None]
    keep = [p for p in pts if not any(q.tok_s_per_gpu >= p.tok_s_per_gpu and q.tok_s_per_user >= p.tok_s_per_user
                                      and (q.tok_s_per_gpu, q.tok_s_per_user) != (p.tok_s_per_gpu, p.tok_s_per_user)
                                      for q in pts)]
    return sorted(keep, key=lambda p: -p.tok_s_per_user)
