"""The report's first block: per model x hardware, what self-hosting costs at the stated utilisation and latency
target, the cheapest like-for-like vendor and the ratio, the break-even utilisation and daily volume, the GPUs a
stated traffic needs, and what each figure rests on (measured or predicted; price dates). Then one sentence per
model saying which option is cheapest and by how much.

The cost is read at the point that meets the latency target (bench.analysis.slo.cost_at_slo, interpolated
between measured batches); without a target, at the largest batch measured. Vendors: the model's like-for-like
list (bench.cost.matching), list prices at the report's mix.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from bench.analysis import intervals
from bench.analysis.frontier import Slo
from bench.analysis.report.model import Priced, Section
from bench.analysis.slo import CostAtSlo, cost_at_slo
from bench.core.formats import cny, ms, num, pct, ratio, tokens
from bench.cost import formulas as cost
from bench.cost.market import headline_label
from bench.cost.matching import marks, vendors_for

SLUG = "verdict"
HEADERS = ["model", "hardware", "rests on", "batch at target", "TTFT / TPOT ms", "self CNY/M", "cheapest vendor (CNY/M)",
           "self vs vendor", "break-even use", "break-even tokens/day", "GPUs for the traffic", "GPU price"]


@dataclass(frozen=True)
class VerdictInputs:
    utilization: float = 1.0
    slo: Slo = Slo()
    traffic_tokens_per_day: float | None = None
    peak_to_mean: float = 2.0


@dataclass(frozen=True)
class Line:
    at: CostAtSlo
    self_cny_per_m: float | None  # blended at the mix and the stated utilisation
    vendor: object | None  # the cheapest paid like-for-like VendorPrice
    vendor_cny_per_m: float | None
    breakeven_utilization: float | None
    breakeven_tokens_per_day: float | None
    gpus_for_traffic: int | None
    price: str  # the GPU price's basis, source and date
    where: str = ""  # what is priced: the card, or a CPU server priced whole ('cpu-server (priced as a whole ...)')
    # how sure the operating point's throughput is, and the figures above at its interval's ends
    # (bench.analysis.intervals): None where there is no interval
    spread: intervals.TokSpread | None = None
    self_range: tuple[float, float] | None = None
    breakeven_range: tuple[float, float] | None = None
    gpus_range: tuple[int, int] | None = None
    gpu_cny_per_hour: float | None = None  # per GPU: the price a close call could be settled by

    @property
    def ratio_range(self) -> tuple[float, float] | None:
        if self.self_range is None or not self.vendor_cny_per_m:
            return None
        return self.self_range[0] / self.vendor_cny_per_m, self.self_range[1] / self.vendor_cny_per_m

    @property
    def ratio(self) -> float | None:
        if self.self_cny_per_m is None or not self.vendor_cny_per_m:
            return None
        return cost.self_over_vendor(self.self_cny_per_m, self.vendor_cny_per_m)


def lines_of(priced: list[Priced], inputs: VerdictInputs, mix, fx: float, as_of: dt.date, price_book,
             vendor_names) -> tuple[list[Line], list[str]]:
    """One Line per model x hardware x GPUs x source x request shape, and notes (vendors left out, free tiers)."""
    from bench.analysis.plan import SECONDS_PER_DAY, replicas_for

    found = cost_at_slo([(p.run.row, p.cost) for p in priced], inputs.slo)
    rows_by_ref = {str(p.run.row.get("run_id") or "?"): p.run.row for p in priced}
    hourly = {(p.cost.model, p.cost.hardware, p.cost.gpu_count): p.cost for p in priced}
    vendors, notes = {}, []
    for model in dict.fromkeys(c.model for c in found):
        matched, left_out = vendors_for(model, vendor_names, as_of, price_book)
        notes += left_out
        paid = [(p.blended_cny_per_m(mix, fx), p) for p, _ in matched if not p.free]
        vendors[model] = min(paid, key=lambda x: x[0]) if paid else (None, None)
        free = [f"{p.label} ({marks(p)})" for p, _ in matched if p.free]
        if free:
            notes.append(f"{model}: {', '.join(free)} cost nothing, within their rate limits")
    out = []
    for c in found:
        mine = hourly[(c.model, c.hardware, c.gpus)]
        v_cny, v = vendors[c.model]
        full_use = c.cny_per_m_blended  # the priced rows are at 100% utilisation
        self_cny = None if full_use is None else cost.at_utilization(full_use, inputs.utilization)
        bu = volume = gpus = None
        if full_use is not None and v_cny:
            bu = cost.breakeven_utilization(full_use, v_cny)
            volume = cost.breakeven_tokens_per_day(mine.cny_per_hour, v_cny) if bu <= 1 else None
        spread = spread_at(c, rows_by_ref) if c.op is not None else None
        gpus_rng = None
        if c.op is not None and inputs.traffic_tokens_per_day:
            peak = inputs.traffic_tokens_per_day / SECONDS_PER_DAY * inputs.peak_to_mean
            gpus = replicas_for(peak, c.op.point.total_tok_s) * c.gpus
            rng = intervals.replicas_range(peak, c.op.point.total_tok_s, spread)
            gpus_rng = None if rng is None else (rng[0] * c.gpus, rng[1] * c.gpus)
        price = "given on the command line" if mine.basis == "given" else \
            f"{mine.basis_text}: {mine.price_what}, {mine.price_source} ({mine.price_date})"
        out.append(Line(c, self_cny, v, v_cny, bu, volume, gpus, price, mine.where, spread,
                        intervals.inverse_range(self_cny, spread) if spread else None,
                        intervals.inverse_range(bu, spread) if spread and bu is not None else None, gpus_rng,
                        mine.cny_per_hour / mine.gpu_count if mine.gpu_count else None))
    out.sort(key=lambda x: (x.at.model, x.self_cny_per_m is None, x.self_cny_per_m or 0.0))
    return out, notes


def spread_at(c: CostAtSlo, rows_by_ref: dict) -> intervals.TokSpread:
    """The operating point's throughput spread: its repeats' (bench.analysis.repeats); for predicted rows the
    band their calibration gives (predicted_band_* over the row's output tok/s), the widest of the rows the point
    comes from (bench.analysis.intervals)."""
    predicted = c.source != "measured"
    band = intervals.band_of([rows_by_ref.get(ref) or {} for ref in c.op.between]) if predicted else None
    return intervals.spread_of(c.op.point, band, predicted=predicted)


def row_of(line: Line, percentile: int) -> list:
    c = line.at
    where = f"{c.gpus} x {c.hardware}" if c.gpus > 1 else c.hardware
    rests = f"{c.source}, {c.workload} in/out"
    if c.op is None:
        b = c.best
        return [c.model, where, rests, "none meets the target", f"best {ms(b.ttft_ms)} / {ms(b.tpot_ms)}"] + \
            ["-"] * (len(HEADERS) - 5)
    op = c.op
    batch = f"{num(op.point.batch)} ({op.binding}" + (", interpolated)" if op.interpolated else ")")
    vendor = "-" if line.vendor is None else f"{line.vendor.vendor} {line.vendor.label} ({cny(line.vendor_cny_per_m)}, " \
                                             f"since {line.vendor.since})"
    versus = "-" if line.ratio is None else intervals.ratio_words(line.ratio, line.ratio_range)
    bu = line.breakeven_utilization
    use = "-" if bu is None else "never" if bu > 1 or math.isinf(bu) else \
        pct(bu) + intervals.range_text(line.breakeven_range, None, pct)
    return [c.model, where, rests, batch, f"{ms(op.point.ttft_ms)} / {ms(op.point.tpot_ms)}",
            cny(line.self_cny_per_m) + intervals.range_text(line.self_range, None), vendor, versus, use,
            tokens(line.breakeven_tokens_per_day),
            num(line.gpus_for_traffic) + intervals.count_range_text(line.gpus_range), line.price]


def rests_on(line: Line, inputs: VerdictInputs) -> str:
    """'measured'; a prediction's label with the same figure at the roofline bound beside it; or, for rows timed at
    the bound, that it is one."""
    c = line.at
    if c.source == "measured":
        return "measured"
    bound = c.cny_per_m_blended_bound
    if bound is not None:
        return f"{c.source}; {cny(cost.at_utilization(bound, inputs.utilization))} CNY/M at the roofline bound"
    from bench.cost.predicted import BOUND

    return f"{c.source}: a bound, measured runs reach less" if BOUND in c.source else c.source


def sentence(model: str, lines: list[Line], inputs: VerdictInputs) -> str:
    """Which option is cheapest for `model`, by how much, and what it rests on."""
    ok = [x for x in lines if x.at.op is not None and x.self_cny_per_m is not None]
    target = inputs.slo.text() if inputs.slo.given else "no latency target (the largest batch)"
    at = f"at {pct(inputs.utilization)} utilisation and {target}"
    if not ok:
        return f"{model}: no run meets {target}; see the table for the closest point."
    best = min(ok, key=lambda x: x.self_cny_per_m)
    c = best.at
    where = f"{c.gpus} x {c.hardware}" if c.gpus > 1 else (best.where or c.hardware)
    mine = f"self-hosting on {where}"
    cost_line = (f"Self-hosting on {where} costs {cny(best.self_cny_per_m)} CNY/M"
                 f"{intervals.range_text(best.self_range, None)} ({rests_on(best, inputs)})")
    if best.vendor is None:
        return f"{model} {at}: {cost_line[0].lower()}{cost_line[1:]}; no paid like-for-like vendor to compare."
    v = f"{best.vendor.vendor} {best.vendor.label} at {cny(best.vendor_cny_per_m)} CNY/M (price since {best.vendor.since})"
    words = intervals.ratio_words(best.ratio, best.ratio_range, best.spread)
    # the factor's words are self-hosting's ('1.11x cheaper', '13.5x dearer'); said from the cheaper side
    factor = words.replace("dearer", "cheaper", 1) if best.ratio >= 1 else words
    if best.ratio < 1:
        verdict = f"cheapest: {mine}, {factor} than {v}"
    else:
        verdict = f"cheapest: {v}, {factor} than self-hosting"
    close = intervals.close_call_text(best.ratio, best.ratio_range, best.spread, best.gpu_cny_per_hour)
    bu = best.breakeven_utilization
    even = (f"; self-hosting wins above {pct(bu)}{intervals.range_text(best.breakeven_range, None, pct)} "
            f"utilisation, i.e. from {tokens(best.breakeven_tokens_per_day)} tokens a day on one replica"
            ) if bu is not None and bu <= 1 else "; self-hosting never wins, even fully used"
    n = best.gpus_for_traffic
    gpus = f"; {num(n)}{intervals.count_range_text(best.gpus_range)} GPU{'s carry' if n > 1 else ' carries'} " \
           f"{tokens(inputs.traffic_tokens_per_day)} tokens a day at a {ratio(inputs.peak_to_mean)} peak" if n else ""
    return f"{model} {at}: {verdict}{close}. {cost_line}{even}{gpus}."


def verdict_section(priced: list[Priced], inputs: VerdictInputs, mix, fx: float, as_of: dt.date, price_book,
                    vendor_names=None, unpriced: list[str] = ()) -> Section:
    """The report's first section (module doc). `unpriced`: why rows could not be priced (the first is named when
    none could, so the fix is the one those rows need, e.g. --gpus N for a file that does not say)."""
    if not priced:
        why = (f": {unpriced[0]}" + (f" (and {len(unpriced) - 1} more reason(s) under the cost section)"
                                     if len(unpriced) > 1 else "")) if unpriced else \
            " (pass --hardware NAME or --gpu-cny-per-hour)"
        return Section(slug=SLUG, title="Verdict", note=f"Skipped: no row could be priced{why}, so there is no cost "
                                                        "to compare.")
    lines, notes = lines_of(priced, inputs, mix, fx, as_of, price_book, vendor_names)
    by_model: dict[str, list[Line]] = {}
    for x in lines:
        by_model.setdefault(x.at.model, []).append(x)
    first = priced[0].cost
    market = headline_label(first.market, first.asked_basis or first.basis,
                            first.price_tier or None, all(p.cost.basis == "given" for p in priced))
    sentences = [f"[{market}] " + sentence(m, xs, inputs) for m, xs in by_model.items()]
    how = (f"Self CNY/M: blended {cost.format_mix(mix)} at {pct(inputs.utilization)} utilisation, read at the batch "
           f"that meets the target (interpolated between measured batches); vendors: list prices in force on {as_of}; "
           "measured rows are runs of these results, predicted ones engine=sim rows, each named with its calibration "
           f"(the same cost at the roofline bound in the sentence); {intervals.METHOD}")
    return Section(slug=SLUG, title="Verdict", note="\n".join(sentences + ["; ".join([how] + notes) + "."]), headers=HEADERS,
                   rows=[row_of(x, inputs.slo.percentile) for x in lines])
