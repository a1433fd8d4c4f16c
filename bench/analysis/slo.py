"""Which serving level to buy: the cheapest one that meets the SLO; and what a million tokens cost at the point
that meets a latency target, interpolated between measured batch sizes (bench.analysis.frontier). Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analysis.frontier import OperatingPoint, Point, Slo, at_slo, best_available, front, lerp


def cost_of(row: dict) -> float | None:
    """The figure levels are compared on: blended CNY/M at the default mix, else CNY/M of any token."""
    for k in ("cny_per_m_blended", "cny_per_m_total"):
        v = row.get(k)
        if v is not None and v != "" and math.isfinite(float(v)):
            return float(v)
    return None


def cheapest_meeting_slo(rows: list[dict]) -> dict | None:
    """The ok level with the lowest cost among those that meet the SLO (all ok levels when no SLO was given)."""
    slo_given = any(r.get("meets_slo") is not None for r in rows)
    fit = [r for r in rows if r.get("status") == "ok" and cost_of(r) is not None
           and (r.get("meets_slo") is True or not slo_given)]
    return min(fit, key=cost_of) if fit else None


# -- cost at a latency target: the operating point of bench.analysis.frontier, priced ------------------


@dataclass(frozen=True)
class CostAtSlo:
    """What a million tokens cost on one model x hardware x GPU count at the point that meets a latency target."""

    model: str
    hardware: str
    gpus: int
    source: str  # "measured", or a sim row's label: "predicted (calibration NAME)" / "predicted (roofline bound)"
    workload: str  # "input/output" tokens per request of the rows
    op: OperatingPoint | None  # None: no row meets the target (see best)
    best: Point | None
    tokens_per_cny_blended: float | None  # at the operating point, the rows' mix and utilisation
    front: tuple[Point, ...]  # throughput per GPU vs tokens/s per user
    tokens_per_cny_bound: float | None = None  # predicted rows: the same at the roofline bound (bench.cost.predicted)

    @property
    def cny_per_m_blended(self) -> float | None:
        t = self.tokens_per_cny_blended
        return None if not t else 1e6 / t

    @property
    def cny_per_m_blended_bound(self) -> float | None:
        t = self.tokens_per_cny_bound
        return None if not t else 1e6 / t


def tokens_per_cny_at(op: OperatingPoint, tokens_per_cny: dict[str, float | None]) -> float | None:
    """Tokens per CNY at the operating point: a row's own, or between two rows linear in batch (at one hourly price
    tokens per CNY is proportional to throughput, which frontier.at_batch interpolates the same way):
    t = t_lo + (t_hi - t_lo) x (b - b_lo) / (b_hi - b_lo). None when a row has no blended figure."""
    if not op.interpolated:
        return tokens_per_cny.get(op.between[0])
    lo_ref, hi_ref = op.between
    t_lo, t_hi = tokens_per_cny.get(lo_ref), tokens_per_cny.get(hi_ref)
    if t_lo is None or t_hi is None:
        return None
    b_lo, b_hi = op.batch_between
    return lerp(op.point.batch, b_lo, t_lo, b_hi, t_hi)


def cost_at_slo(priced: list[tuple[dict, object]], slo: Slo) -> list[CostAtSlo]:
    """`priced`: (results row, its bench.cost.pricing.SelfCost) pairs. One CostAtSlo per model x hardware x GPUs x
    source (measured or sim) x request shape, in the order first seen."""
    from bench.analysis.plan_points import measured_point
    from bench.cost.predicted import prediction_of

    groups: dict[tuple, list[tuple[Point, float | None, float | None]]] = {}
    for row, mine in priced:
        p = measured_point(row, slo.percentile, mine.gpu_count)
        if p is None:
            continue
        pred = prediction_of(row)
        source = pred.label if pred else "measured"
        share = pred.bound_share if pred else None
        tpc = mine.tokens_per_cny_blended
        shape = f"{row.get('input_len') or '?'}/{row.get('output_len') or '?'}"
        key = (mine.model, mine.hardware, mine.gpu_count, source, shape)
        groups.setdefault(key, []).append((p, tpc, tpc / share if tpc and share else None))
    out = []
    for (model, hardware, gpus, source, shape), triples in groups.items():
        points = [p for p, _, _ in triples]
        op = at_slo(points, slo)
        best = None if op is not None else best_available(points, slo)
        tpc = tokens_per_cny_at(op, {p.ref: t for p, t, _ in triples}) if op else None
        bound = tokens_per_cny_at(op, {p.ref: b for p, _, b in triples}) if op else None
        out.append(CostAtSlo(model, hardware, gpus, source, shape, op, best, tpc, tuple(front(points)), bound))
    return out
