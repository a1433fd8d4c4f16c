"""The money parts of a report: each run priced on its hardware (bench.cost.pricing), self-hosted CNY
per million tokens beside the vendors' list prices, and cost vs utilisation with break-evens."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.core.formats import cny, given, num, pct
from bench.cost import formulas as cost

from bench.analysis import intervals
from bench.analysis.report import plots
from bench.cost.hwchoice import measured_hardware
from bench.cost.pricing import CostOptions, self_cost, tokens_per_cny_blended
from bench.core.errors import BenchError
from bench.config.hardware import HardwareBook, canonical_name
from bench.config.prices import VendorPrice
from bench.analysis.report.model import Priced, Run, Section, by_key, skipped

# Vendor models drawn as break-even lines when --vendors is not given (those in force on the day).
REFERENCE_VENDOR_MODELS = ("doubao-pro-32k", "deepseek-chat", "qwen-turbo", "gpt-4o-mini", "gpt-4o")
MAX_COST_CURVES = 6
MAX_COST_BARS = 20  # self-hosted bars on the cost chart (the cheapest); the table has every one
UTILIZATION_STEPS = 60  # points of each curve, log-spaced from 1% to 100%
UTILIZATION_TICKS_PCT = [1, 2, 5, 10, 20, 50, 100]


@dataclass(frozen=True)
class Vendor:
    price: VendorPrice
    cny_per_m: float  # blended at the report's mix

    @property
    def label(self) -> str:
        return f"{self.price.vendor} {self.price.label}"


def row_hardware(row: dict, default: str | None, book: HardwareBook) -> str | None:
    """The hardware a row ran on (bench.cost.pricing.measured_hardware: its own `hardware` column, a sim
    row's device), else `default` (--hardware); None when none is known. The same rule as `bench cost`."""
    return measured_hardware(row, book) or (canonical_name(default, book) if default else None)


def price_runs(runs: list[Run], opts: CostOptions, book: HardwareBook) -> tuple[list[Priced], list[str]]:
    """Each run priced as `bench cost` prices it (same card, basis and quote; no fallback to another basis, so
    the two agree on every row); notes for what could not be."""
    priced, notes = [], []
    anywhere = bool(opts.what_if_hardware) or opts.gpu_cny_per_hour is not None  # prices rows naming no card
    for run in runs:
        if not run.hardware and not anywhere:
            continue
        try:
            priced.append(Priced(run, self_cost(run.row, replace(opts, hardware=run.hardware), book)))
        except BenchError as e:
            notes.append(f"{run.model} on {run.hardware} not priced: {e}")
    unpriced = 0 if anywhere else sum(1 for r in runs if not r.hardware)
    if unpriced:
        notes.append(f"{unpriced} row(s) name no hardware.yaml entry and are not priced (pass --hardware NAME)")
    return priced, sorted(set(notes))


def cheapest_per_config(priced: list[Priced]) -> list[Priced]:
    """The lowest-cost run of each model x hardware x engine x workload (usually the largest batch), cheapest first."""
    best = [min(g, key=lambda p: p.cny_per_m)
            for g in by_key(priced, lambda p: (p.run.model, p.cost.hardware, p.cost.measured_on, p.run.engine,
                                                    p.run.workload)).values()]
    return sorted(best, key=lambda p: p.cny_per_m)


@dataclass(frozen=True)
class AtTarget:
    """One model x hardware x GPUs x engine x request shape priced at the batch that meets the latency target: the
    rows' operating point (bench.analysis.frontier.at_slo) and the cost there, tokens per CNY linear in the batch
    between the two rows around it (bench.analysis.slo.tokens_per_cny_at: the verdict's and `bench cost --slo-*`'s
    method). `base`: the row at or below the operating batch (price, hardware and provenance are the group's)."""

    base: Priced
    cny_per_m: float  # blended at the report's mix, 100% utilisation, at the operating batch
    cny_per_m_input: float | None
    cny_per_m_output: float | None
    batch: float
    binding: str  # "TTFT", "TPOT" or "largest batch"
    interpolated: bool
    cny_per_m_bound: float | None = None  # predicted rows: the same at the roofline bound
    spread: intervals.TokSpread | None = None  # how sure the operating point's throughput is (intervals.spread_of)

    @property
    def run(self):
        return self.base.run

    @property
    def cost(self):
        return self.base.cost

    @property
    def tokens_per_cny(self) -> float:
        return tokens_per_cny_blended(self.cny_per_m)

    @property
    def prediction(self):
        return self.base.prediction

    @property
    def label(self) -> str:
        engine = "" if self.run.engine == "vllm" else f" {self.run.engine}"
        how = ", interpolated" if self.interpolated else ""
        pred = self.prediction
        what = f"; {pred.label}" if pred else ""
        return (f"{self.run.model} · {self.cost.where}{engine} ({self.cost.basis}, batch {num(self.batch)} at the "
                f"target: {self.binding}{how}{what})")


def _shape(p: Priced) -> str:
    r = p.run.row
    return f"{r.get('input_len') or '?'}/{r.get('output_len') or '?'}"


def _at_op(op, priced: dict[str, Priced], figure) -> float | None:
    """A CNY/M figure of the rows at the operating point: 1e6 / tokens per CNY interpolated in the batch."""
    from bench.analysis.slo import tokens_per_cny_at

    per_cny = {ref: (1e6 / figure(p) if figure(p) else None) for ref, p in priced.items()}
    t = tokens_per_cny_at(op, per_cny)
    return 1e6 / t if t else None


def at_target(priced: list[Priced], slo) -> tuple[list[AtTarget], list[str]]:
    """Each configuration's cost at the point that meets `slo` (a bench.analysis.frontier.Slo), cheapest first, and a
    note per configuration where no row meets it (with its closest point)."""
    from bench.analysis.frontier import at_slo, best_available, misses
    from bench.analysis.plan_points import measured_point

    groups: dict[tuple, list[Priced]] = {}
    for p in priced:
        key = (p.run.model, p.cost.hardware, p.cost.measured_on, p.run.engine, _shape(p), p.cost.gpu_count)
        groups.setdefault(key, []).append(p)
    out, notes = [], []
    for members in groups.values():
        points, by_ref = [], {}
        for i, p in enumerate(members):
            pt = measured_point(p.run.row, slo.percentile, p.cost.gpu_count)
            if pt is not None:
                points.append(replace(pt, ref=str(i)))
                by_ref[str(i)] = p
        if not points:
            continue
        op = at_slo(points, slo)
        if op is None:
            b = best_available(points, slo)
            notes.append(f"{members[0].run.model} on {members[0].cost.where}: no batch meets {slo.text()} (closest: "
                         f"batch {num(b.batch)}, misses {' and '.join(misses(b, slo))})")
            continue
        base = by_ref[op.between[0]]
        blended = _at_op(op, by_ref, lambda p: p.cny_per_m)
        if blended is None:
            continue
        predicted = base.prediction is not None
        band = intervals.band_of([by_ref[ref].run.row for ref in op.between]) if predicted else None
        out.append(AtTarget(base, blended, _at_op(op, by_ref, lambda p: p.cost.cny_per_m_input),
                            _at_op(op, by_ref, lambda p: p.cost.cny_per_m_output), op.point.batch, op.binding,
                            op.interpolated, _at_op(op, by_ref, lambda p: p.cny_per_m_bound),
                            intervals.spread_of(op.point, band, predicted=predicted)))
    return sorted(out, key=lambda a: a.cny_per_m), notes


def cost_lines(priced: list[Priced], slo) -> tuple[list, str, list[str]]:
    """What the cost sections show: each configuration at the latency target when one is given (at_target), else its
    cheapest batch (cheapest_per_config); the sentence saying which, and notes."""
    if slo is not None and slo.given:
        lines, notes = at_target(priced, slo)
        return lines, (f"each model on each hardware at the batch that meets {slo.text()} (interpolated between "
                       "measured batches, as the verdict and `bench cost --slo-*`; docs/plan.md)"), notes
    cheapest = "the cheapest batch of each model on each hardware (no latency target given)"
    return cheapest_per_config(priced), cheapest, []


def vendors_of(prices: list[VendorPrice], mix: tuple[float, float], fx: float) -> list[Vendor]:
    return sorted((Vendor(p, p.blended_cny_per_m(mix, fx)) for p in prices), key=lambda v: v.cny_per_m)


def reference_vendors(vendors: list[Vendor], named: bool) -> list[Vendor]:
    """The paid vendors drawn as lines: all named ones (up to 6), else the reference models in force,
    else the four cheapest paid."""
    paid = [v for v in vendors if v.cny_per_m > 0]
    if named:
        return paid[:6]
    chosen = [v for v in paid if v.price.model in REFERENCE_VENDOR_MODELS]
    return chosen or paid[:4]


def _mix_text(mix) -> str:
    return f"{cost.format_mix(mix)} input:output"


TITLE_LIST_MAX = 3  # more distinct workloads (or machines) than this: a chart's title counts them instead


def _listed(names: set[str], what: str) -> str:
    """The names joined, or 'N <what> (each in the table)' when there are more than TITLE_LIST_MAX: a title that
    named 280 workloads was unreadable and took seconds to lay out."""
    if len(names) > TITLE_LIST_MAX:
        return f"{len(names)} {what} (each in the table)"
    return "; ".join(sorted(names))


def _runs_text(priced: list[Priced]) -> str:
    """'<workloads> on <hardware>' of the priced runs, for a chart's title."""
    return (f"{_listed({p.run.workload for p in priced}, 'workloads')} on "
            f"{_listed({p.cost.where for p in priced}, 'machines')}")


def _bar_label(p: Priced, several_workloads: bool) -> str:
    """A self-hosted bar's label: with the request shape when the bars span several workloads (else bars of the
    same model and card at different shapes read the same)."""
    if not several_workloads:
        return p.label
    return f"{p.label} · {_shape(p)} × {p.run.row.get('num_prompts') or '?'}"


def cny_range(p) -> tuple[float, float] | None:
    """A cost line's (Priced or AtTarget) CNY/M at the ends of its throughput's interval (bench.analysis.intervals:
    its repeats' 95% t-interval, a prediction's band); None where it has none."""
    return intervals.inverse_range(p.cny_per_m, p.spread)


def _range_cell(p) -> str:
    """The table's cell for a cost line's interval: '4.81-5.31', '1 run: no interval' (a measured single run) or
    'predicted, no band' (a prediction whose row carries no calibration band)."""
    return intervals.range_text(cny_range(p), p.spread).strip(" ()") or "predicted, no band"


def _error_note(lines: list, what: str) -> str:
    """The caption's sentence on a cost chart's error bars (or bands): what they are, or '1 run: no interval' where
    no line has one."""
    if not any(cny_range(p) is not None for p in lines):
        return (f" {intervals.NO_INTERVAL}: every self-hosted line stands on one measured run (no repeats, no "
                f"prediction band), so no {what}.")
    return (f" {what.capitalize()}: CNY/M at the ends of the throughput's 95% interval ({intervals.METHOD}); a line "
            f"of one measured run has none ({intervals.NO_INTERVAL}).")


def _bound_text(p) -> str:
    """'; predicted (calibration X): 1.23 CNY/M blended at the roofline bound' for a predicted row, '' if measured."""
    pred = p.prediction
    if pred is None:
        return ""
    bound = p.cny_per_m_bound
    return f"; {pred.label}" + ("" if bound is None else f": {cny(bound)} CNY/M blended at the roofline bound")


def vendor_section(best: list[Priced], vendors: list[Vendor], opts: CostOptions, as_of, notes: list[str],
                   chosen: str = "the cheapest batch of each model on each hardware") -> Section:
    title = "Self-hosted cost vs vendor API prices"
    if not best:
        what = "no row meets the latency target" if chosen.startswith("each model") else "no row could be priced"
        return skipped("cost-vs-vendors", title, f"{what}: " + ("; ".join(notes) or
                       "pass --hardware NAME (hardware.yaml)."))
    several = len({p.run.workload for p in best}) > 1
    bars = [plots.Bar(_bar_label(p, several), p.cny_per_m, f"self-hosted ({p.cost.basis}), 100% utilisation",
                      err=(p.cny_per_m - rng[0], rng[1] - p.cny_per_m) if (rng := cny_range(p)) else None)
            for p in best[:MAX_COST_BARS]]
    free = [v for v in vendors if v.cny_per_m == 0]
    bars += [plots.Bar(v.label, v.cny_per_m, f"vendor list price on {as_of}") for v in vendors if v.cny_per_m > 0]
    bars.sort(key=lambda b: b.value)
    chart_title = (f"CNY per million tokens ({_mix_text(opts.mix)}) · self-hosted {_runs_text(best)} vs vendor "
                   f"prices on {as_of}")
    png = plots.hbar_chart(chart_title, "CNY per million tokens (log scale)", bars, logx=True)
    rows = [[_bar_label(p, several), "self-hosted", p.cny_per_m, p.cny_per_m_input, p.cny_per_m_output,
             p.tokens_per_cny, f"{cny(p.cost.gpu_cny_per_hour)} CNY per GPU-hour × {p.cost.gpu_count}"
             f"; {p.cost.provenance}" + _bound_text(p), _range_cell(p)]
            for p in best]
    rows += [[v.label, "vendor", v.cny_per_m, v.price.input_cny_per_m(opts.fx_cny_per_usd),
              v.price.output_cny_per_m(opts.fx_cny_per_usd), tokens_per_cny_blended(v.cny_per_m) if v.cny_per_m else "free",
              f"list price from {v.price.since}; {v.price.source}", "list price"] for v in vendors]
    rows.sort(key=lambda r: r[2])
    a, b = (given(x) for x in opts.mix)
    note = (f"Blended price of a million tokens at {_mix_text(opts.mix)}: ({a} × input + {b} × output) / ({a} + {b}); "
            f"USD at {given(opts.fx_cny_per_usd)} CNY. Self-hosted: {chosen}, at 100% utilisation, its wall time split "
            "into prefill (input) and decode (output) (docs/cost.md). Vendors: list prices, cache miss."
            + _error_note(best[:MAX_COST_BARS], "error bars"))
    if len(best) > MAX_COST_BARS:
        note += f" The chart draws the {MAX_COST_BARS} cheapest self-hosted configurations of {len(best)}."
    if free:
        note += f" Free, so off the log scale: {', '.join(v.label for v in free)}."
    if notes:
        note += " " + "; ".join(notes) + "."
    return Section(slug="cost-vs-vendors", title=title, png=png, chart_title=chart_title, note=note,
                   headers=["what", "kind", "CNY/M blended", "CNY/M input", "CNY/M output",
                            f"tokens per CNY ({cost.format_mix(opts.mix)} blend)",
                            "basis / source", "CNY/M blended, 95% interval"], rows=rows)


def utilization_section(best: list[Priced], refs: list[Vendor], opts: CostOptions, as_of,
                        chosen: str = "the cheapest batch of each model on each hardware") -> Section:
    title = "Cost vs utilisation, with break-even lines"
    if not best:
        return skipped("cost-vs-utilization", title, "no row meets the latency target (see the section above)."
                       if chosen.startswith("each model") else "no row could be priced (pass --hardware NAME).")
    if not refs:
        return skipped("cost-vs-utilization", title, f"no paid vendor price is in force on {as_of}.")
    curves = best[:MAX_COST_CURVES]
    several = len({p.run.workload for p in curves}) > 1
    us = [10 ** (-2 + 2 * i / (UTILIZATION_STEPS - 1)) for i in range(UTILIZATION_STEPS)]
    def curve(value: float) -> list[float]:
        return [cost.at_utilization(value, u) for u in us]

    series = [plots.Series(_bar_label(p, several), [100 * u for u in us], curve(p.cny_per_m), marker="",
                           band=(curve(rng[0]), curve(rng[1])) if (rng := cny_range(p)) else None)
              for p in curves]
    hlines = [plots.HLine(f"{v.label} {cny(v.cny_per_m)}", v.cny_per_m) for v in refs]
    rows, markers = [], []
    for p in best:
        for v in refs:
            u = cost.breakeven_utilization(p.cny_per_m, v.cny_per_m)
            per_day = cost.breakeven_tokens_per_day(p.cost.cny_per_hour, v.cny_per_m) if u <= 1 else None
            if us[0] <= u <= 1 and p in curves:  # below 1% it is off the chart (the table has it)
                markers.append((100 * u, v.cny_per_m))
            rows.append([p.label, v.label, v.cny_per_m, p.cny_per_m,
                         pct(u) if u <= 1 else "never (dearer at 100%)",
                         per_day / 1e6 if per_day is not None else None])
    chart_title = (f"Self-hosted CNY per million tokens vs utilisation ({_mix_text(opts.mix)}) · {_runs_text(curves)} · "
                   f"break-even against vendor prices on {as_of}")
    png = plots.line_panels(
        chart_title, "utilisation (% of paid hours doing useful work)",
        [plots.Panel("CNY per million tokens (log scale)", series, logy=True)], hlines=hlines, markers=markers,
        logx=True, logx_base=10, xticks=UTILIZATION_TICKS_PCT)
    note = (f"Self-hosted: {chosen}. A machine busy a share u of the hours it is paid for costs 1/u per token. "
            "Dashed lines: vendor list "
            "prices; dots: break-even utilisation, above which self-hosting is cheaper. Break-even volume: the "
            "tokens a day whose vendor bill equals a day of the hardware." + _error_note(curves, "bands"))
    if len(best) > len(curves):
        note += f" The chart draws the {len(curves)} cheapest; the table has all {len(best)}."
    return Section(slug="cost-vs-utilization", title=title, png=png, chart_title=chart_title, note=note,
                   headers=["self-hosted", "vendor", "vendor CNY/M", "self CNY/M at 100%", "break-even utilisation",
                            "break-even M tokens/day"], rows=rows)
