"""The cost figures a user acts on, with their 95% intervals, and the words of a verdict that may be a close call.

Method (the statistics are bench.measure.uncertainty's):
- A measured case's throughput: its repeats' mean output tok/s with its 95% t-interval, mean +- t(0.975, n-1) s /
  sqrt(n); the relative half-width r = hw / mean is applied around the figure the case stands for (the median of
  its repeats, as the report and plan show it): [point (1 - r), point (1 + r)]. One run: no interval.
- A predicted point: its calibration band (the held-out 10th-90th percentile of measured / predicted throughput, an
  80% band, used as it is), the distance below and above combined in quadrature with any measured r.
- CNY/M = hourly price / throughput, the cost ratio against a vendor's fixed list price, break-even utilisation
  (self CNY/M at full use / vendor) and the GPUs a traffic needs (replicas for the peak) are each a monotone
  function of that one throughput: their intervals are the function at the throughput interval's ends (exact, no
  delta-method linearisation). The break-even volume (a day of the hardware / the vendor's price per token) does
  not depend on throughput and has no interval.
- Too close to call: the ratio's interval holds 1. What would settle it: repeats, about n0 (r / r*)^2 where r* is
  the half-width at which the interval would clear 1 (self cheaper: r* = 1 - self/vendor; dearer: r* = self/vendor
  - 1; the t factor's own fall with n ignored); for a prediction, a measured row on the card; or the GPU-hour
  price: self-hosting wins clearly at or under price x vendor / (self's upper end), the vendor at or over price x
  vendor / (self's lower end).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.formats import cny, num, pct
from bench.measure import uncertainty

METHOD = ("95% intervals: a measured case's output tok/s over its repeats (mean +- t(0.975, n-1) s/sqrt(n), applied "
          "relative to the mean around the case's median); a prediction's calibration band (10th-90th percentile), "
          "combined in quadrature with any measured spread; CNY/M, the cost ratio, break-even utilisation and GPU "
          "counts at that throughput interval's ends (each is monotone in it: exact, no linearisation)")
NO_INTERVAL = "1 run: no interval"


@dataclass(frozen=True)
class TokSpread:
    """How sure a throughput is: `lo`..`hi` as factors of the point (0.95..1.05 for +-5%), from `runs` runs."""

    runs: int
    lo: float | None  # None: no interval (one run, no band)
    hi: float | None
    rel_half_width: float | None = None  # the measured part: the t half-width over the mean (None: one run)
    predicted: bool = False

    @property
    def known(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > 0


def spread_of(point, band: tuple[float, float] | None = None, predicted: bool | None = None) -> TokSpread:
    """A bench.analysis.frontier.Point's throughput spread: its repeats' relative half-width and its band, or
    `band` (low, high as factors of the point) where the point carries none. A predicted point without a band
    has no interval (and is not a single run)."""
    x = point.total_tok_s
    if band is None and point.band_low_tok_s is not None and point.band_high_tok_s is not None and x > 0:
        band = (point.band_low_tok_s / x, point.band_high_tok_s / x)
    return _spread(point.runs, point.tok_s_rel_hw if x > 0 else None, band if x > 0 else None,
                   point.predicted if predicted is None else predicted, known=x > 0)


def _spread(runs: int, rel_half_width: float | None, band: tuple[float, float] | None, predicted: bool,
            known: bool = True) -> TokSpread:
    iv = uncertainty.throughput_interval(1.0, rel_half_width, *(band or (None, None))) if known else None
    lo, hi = iv if iv else (None, None)
    return TokSpread(runs, lo, hi, rel_half_width, predicted)


def band_of(rows) -> tuple[float, float] | None:
    """A prediction's calibration band as factors of its throughput (predicted_band_low/high_tok_s over
    output_tok_s), the widest over `rows` (those a point comes from); None where none carries one."""
    lows, highs = [], []
    for row in rows:
        out, lo, hi = (row.get(k) for k in ("output_tok_s", "predicted_band_low_tok_s", "predicted_band_high_tok_s"))
        if out and lo is not None and hi is not None:
            lows.append(lo / out)
            highs.append(hi / out)
    return (min(lows), max(highs)) if lows else None


def row_spread(row: dict) -> TokSpread:
    """One results row's throughput spread, or a case's (bench.analysis.repeats: its repeats' relative half-width
    over its runs), with a predicted row's calibration band (band_of)."""
    from bench.analysis.plan_points import REL_HW, RUNS
    from bench.cost.predicted import prediction_of

    return _spread(int(row.get(RUNS) or 1), row.get(REL_HW), band_of([row]), prediction_of(row) is not None)


def inverse_range(value: float | None, spread: TokSpread) -> tuple[float, float] | None:
    """A figure proportional to 1 / throughput (CNY/M, the cost ratio, break-even utilisation) at the throughput
    interval's ends: (value / hi, value / lo)."""
    if value is None or not spread.known:
        return None
    return uncertainty.image(lambda f: value / f, spread.lo, spread.hi)


def replicas_range(peak_tok_s: float, replica_tok_s: float, spread: TokSpread) -> tuple[int, int] | None:
    """Replicas for the peak at the throughput interval's ends: (at its high end, at its low end)."""
    from bench.analysis.plan import replicas_for

    if not spread.known:
        return None
    return uncertainty.image(lambda f: replicas_for(peak_tok_s, replica_tok_s * f), spread.lo, spread.hi)


def close_call(self_over_vendor_range: tuple[float, float] | None) -> bool:
    """Whether the cost ratio's interval holds 1: neither side is cheaper at 95% confidence."""
    return self_over_vendor_range is not None and self_over_vendor_range[0] <= 1 <= self_over_vendor_range[1]


def factor_range(self_over_vendor: float, rng: tuple[float, float]) -> tuple[float, float]:
    """The interval of the factor the words give: vendor / self when self-hosting is cheaper, self / vendor when
    dearer (`rng`: self / vendor's interval)."""
    return (1 / rng[1], 1 / rng[0]) if self_over_vendor < 1 else rng


def ratio_words(self_over_vendor: float, rng: tuple[float, float] | None, spread: TokSpread | None = None) -> str:
    """'1.11x cheaper (0.97-1.27)': how many times cheaper or dearer self-hosting is, with the same factor's 95%
    interval; '1.11x cheaper (1 run: no interval)' where there is none; '1.2x cheaper (the same across the 95%
    interval)' where both ends print alike (a one-GPU fleet costs the same at either end of its throughput's interval:
    '(1.2-1.2)' read as a typo)."""
    from bench.core.formats import dearer_or_cheaper

    words = dearer_or_cheaper(self_over_vendor)
    if not 0 < self_over_vendor < float("inf"):
        return words
    if rng is None or rng[0] <= 0:
        return f"{words} ({NO_INTERVAL})" if spread is not None and not spread.predicted and spread.runs <= 1 else words
    return words + factor_text(self_over_vendor, rng)


def factor_text(self_over_vendor: float, rng: tuple[float, float]) -> str:
    """' (0.97-1.27)': the 95% interval of the factor the words give (factor_range); ' (the same across the 95%
    interval)' where both ends print alike."""
    lo, hi = factor_range(self_over_vendor, rng)
    if num(lo) == num(hi):
        return " (the same across the 95% interval)"
    return f" ({num(lo)}-{num(hi)})"


def settle_text(self_over_vendor: float, rng: tuple[float, float], spread: TokSpread, gpu_cny_per_hour: float | None,
                ) -> str:
    """What would settle a close call (module doc): repeats, a measured row, a GPU-hour price."""
    ways = []
    if spread.predicted:
        ways.append("a measured row on the card (this one is predicted)")
    elif spread.rel_half_width and spread.runs >= 2:
        r = spread.rel_half_width
        need = 1 - self_over_vendor if self_over_vendor < 1 else self_over_vendor - 1
        if need > 0:
            n = uncertainty.repeats_needed(spread.runs, r, need)
            ways.append(f"about {n} repeats (now {spread.runs}, output tok/s +-{pct(r)}; +-{pct(need)} would clear "
                        f"1x): --repeats {n}")
    if gpu_cny_per_hour:
        cheap, dear = gpu_cny_per_hour / rng[1], gpu_cny_per_hour / rng[0]
        ways.append(f"a GPU-hour price: at or under {cny(cheap)} CNY self-hosting wins clearly, at or over "
                    f"{cny(dear)} the vendor does (priced here at {cny(gpu_cny_per_hour)})")
    return "; ".join(ways)


def close_call_text(self_over_vendor: float, rng: tuple[float, float] | None, spread: TokSpread | None,
                    gpu_cny_per_hour: float | None = None) -> str:
    """': too close to call at 95% confidence; what would settle it: ...' when the ratio's interval holds 1, else ''."""
    if not close_call(rng) or spread is None:
        return ""
    settle = settle_text(self_over_vendor, rng, spread, gpu_cny_per_hour)
    return ": too close to call at 95% confidence" + (f"; what would settle it: {settle}" if settle else "")


def verdict_words(self_over_vendor: float, rng: tuple[float, float] | None, spread: TokSpread | None,
                  gpu_cny_per_hour: float | None = None) -> str:
    """The ratio with its interval, and, when it holds 1, 'too close to call at 95% confidence' and what would
    settle it."""
    return ratio_words(self_over_vendor, rng, spread) + close_call_text(self_over_vendor, rng, spread,
                                                                        gpu_cny_per_hour)


def range_text(rng: tuple[float, float] | None, spread: TokSpread | None, fmt=cny) -> str:
    """' (0.97-1.27)' after a figure; ' (1 run: no interval)' for a measured single run; '' otherwise."""
    if rng is not None:
        return f" ({fmt(rng[0])}-{fmt(rng[1])})"
    if spread is not None and not spread.predicted and spread.runs <= 1:
        return f" ({NO_INTERVAL})"
    return ""


def count_range_text(rng: tuple[int, int] | None) -> str:
    return "" if rng is None or rng[0] == rng[1] else f" ({num(rng[0])}-{num(rng[1])})"



@dataclass(frozen=True)
class CaseCost:
    """One case of `bench cost` over its repeats: the median of its rows' figures with their 95% intervals."""

    label: str
    runs: int
    tok_s: uncertainty.Interval | None  # output tok/s over the repeats
    cny_per_m: float | None  # blended, at the stated utilisation: the median of the rows'
    cny_range: tuple[float, float] | None
    vendor: str
    self_over_vendor: float | None
    ratio_range: tuple[float, float] | None
    breakeven: float | None
    breakeven_range: tuple[float, float] | None
    spread: TokSpread


def case_costs(priced: list[tuple[dict, object, list]]) -> list[CaseCost]:
    """`priced`: (results row, its bench.cost.pricing.SelfCost, its vendor comparisons cheapest first) of bench cost;
    one CaseCost per case (bench.analysis.repeats.case_columns), in the order first seen. Each figure is the median
    of the case's rows, its interval the output tok/s interval's ends (module doc)."""
    import statistics

    from bench.analysis.compare import case_key
    from bench.analysis.repeats import case_columns
    from bench.cost.predicted import prediction_of

    columns = case_columns({c for row, _, _ in priced for c in row})
    groups: dict[tuple, list] = {}
    for item in priced:
        groups.setdefault(case_key(item[0], columns), []).append(item)
    out = []
    for items in groups.values():
        rows = [row for row, _, _ in items]
        xs = [float(r["output_tok_s"]) for r in rows if r.get("output_tok_s")]
        tok = uncertainty.t_interval(xs) if xs else None
        predicted = any(prediction_of(r) is not None for r in rows)
        rel = tok.rel_half_width if tok is not None else None
        lo, hi = (1 - rel, 1 + rel) if rel is not None and rel < 1 else (None, None)
        spread = TokSpread(len(rows), lo, hi, rel, predicted)
        costs = [m.cny_per_m_blended for _, m, _ in items if m.cny_per_m_blended is not None]
        point = statistics.median(costs) if costs else None
        first = items[0]
        cheapest = first[2][0] if first[2] else None
        v = cheapest.vendor_cny_per_m_blended if cheapest is not None else None
        full = [m.cny_per_m_blended_full_use for _, m, _ in items if m.cny_per_m_blended_full_use is not None]
        be = statistics.median(full) / v if full and v else None
        label = f"{first[1].model} on {first[1].hardware}, {first[0].get('input_len')}/{first[0].get('output_len')}" \
                f" batch {first[0].get('max_num_seqs') or first[0].get('concurrency') or first[0].get('request_rate')}"
        rng = inverse_range(point, spread)
        out.append(CaseCost(label, len(rows), tok, point, rng,
                            f"{cheapest.vendor} {cheapest.vendor_model}" if cheapest is not None else "",
                            point / v if point is not None and v else None,
                            (rng[0] / v, rng[1] / v) if rng is not None and v else None,
                            be, inverse_range(be, spread) if be is not None else None, spread))
    return out
