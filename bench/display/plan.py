"""`bench plan` as tables (terminal, Markdown), JSON and CSV lines. Formatting only: every figure comes from
bench.analysis.plan_build.Plan. Every self-hosted line says whether it rests on measured or predicted points."""

from __future__ import annotations

import math

from bench.analysis.plan_build import (SERVED_NOTE, HardwarePlan, Plan, VendorBill, describe_point, latency_name,
                                      served_prediction)
from bench.cost import formulas as cost
from bench.analysis import intervals
from bench.analysis.intervals import count_range_text
from bench.core.formats import cell, cny, dearer_or_cheaper, given, ms, num, pct, ratio, tokens
from bench.cost.market import headline_label, tier_and_market
from bench.core.tables import markdown_table
from bench.cost.pricing import BASES


def market_text(p: Plan) -> str:
    """'China market, rental on-demand' (or 'global market, tco'): whose quotes and which tier price the fleet."""
    o = p.request.cost_options
    given = dict(o.gpu_cny_per_hour_by_hardware)
    every = o.gpu_cny_per_hour is not None or all(hp.hardware in given for hp in p.hardware)
    text = headline_label(o.market, p.request.basis, o.rental_tier, every)
    return text + (f"; given for {', '.join(given)}" if given and not every else "")


def headline(p: Plan) -> str:
    t, r = p.request.traffic, p.request
    src = f" {r.traffic_source}" if r.traffic_source else ""
    return (f"{p.model}: {tokens(t.tokens_per_day)} tokens/day at {cost.format_mix(t.mix)}{src} "
            f"({num(t.input_len)} in / {num(t.output_len)} out per request), mean {num(t.mean_tok_s)} tok/s, peak "
            f"{num(t.peak_tok_s)} tok/s ({ratio(t.peak_to_mean)}); {r.slo.text()}; prices in force on {p.as_of}; "
            f"{r.basis} basis; a month = 730 h")


def source_text(hp: HardwarePlan) -> str:
    """'measured 768/256', or a prediction's label with its calibration and band: 'predicted (calibration
    published-fit-3, band 0.54-1.53x) 768/256'."""
    return f"{hp.source or '-'} {hp.workload}".strip()


def band_text(lo: float | None, hi: float | None) -> str:
    """' (band LO-HI)' for a predicted figure, '' for a measured one."""
    return "" if lo is None or hi is None else f" (band {num(lo)}-{num(hi)})"


def bound_text(p: Plan, hp: HardwarePlan) -> str:
    """A predicted card's plan at the roofline bound: 'batch 64, 10,379 tok/s, 2 GPUs, 0.91 CNY/M' ('-' if
    measured)."""
    b = hp.bound
    if b is None:
        return "-"
    if b.op is None:
        return "does not meet the targets"
    gpus = b.fleet.gpus
    return (f"batch {num(b.op.point.batch)}, {num(b.fleet.replica_tok_s)} tok/s, {num(gpus)} GPU{'s' * (gpus > 1)}, "
            f"{cny(p.self_cny_per_m(b))} CNY/M")


def self_table(p: Plan) -> tuple[list[str], list[list]]:
    b0 = p.request.basis
    others = [b for b in BASES if b != b0]
    headers = ["hardware", "points (in/out)", "TP", "batch at SLO", "tok/s per replica", "GPUs (replicas, servers)",
               "batch peak / mean", "util at mean", f"TTFT / TPOT at peak, ms (p{p.request.slo.percentile} measured; "
                                                     f"{predicted_latency_text(p)} predicted)",
               f"CNY/GPU-h ({b0})", f"CNY/month ({b0})", f"CNY/M ({b0})", "CNY/month " + " / ".join(others),
               "predicted: at the roofline bound"]
    rows = []
    for hp in p.hardware:
        if hp.op is None:
            why = (f"does not meet the targets; best: {describe_point(hp.hardware, hp.best, p.request.slo.percentile)}"
                   if hp.best else hp.note)
            rows.append([hp.hardware, source_text(hp), "-", why] + ["-"] * (len(headers) - 4))
            continue
        f, op = hp.fleet, hp.op
        gpus_band = hp.gpus_in_band(p.request.traffic.peak_tok_s) or (None, None)
        cny_band = p.cny_per_m_band(hp) or (None, None)
        rows.append([
            hp.hardware, source_text(hp), f.gpus_per_replica,
            f"{num(op.point.batch)} ({op.binding}{', interpolated' if op.interpolated else ''})",
            num(f.replica_tok_s) + band_text(op.point.band_low_tok_s, op.point.band_high_tok_s),
            f"{num(f.gpus)} ({replicas_text(f)}, {num(f.servers)})" + band_text(*gpus_band),
            f"{num(f.batch_at_peak)} / {num(f.batch_at_mean)}", pct(f.utilization_at_mean),
            f"{ms(f.at_peak.ttft_ms)} / {ms(f.at_peak.tpot_ms)} ({latency_name(f.at_peak, p.request.slo.percentile)})",
            cny(hp.gpu_hour().cny), cny(hp.monthly_cny()), cny(p.self_cny_per_m(hp)) + band_text(*cny_band),
            " / ".join(cny(hp.monthly_cny(b)) for b in others), bound_text(p, hp),
        ])
    return headers, rows


def replicas_text(f) -> str:
    """'3', or '2 + 1 batch at batch 256' with a batch share on replicas of its own."""
    if not f.batch_replicas:
        return f"{f.replicas:,}"
    return f"{num(f.replicas)} + {num(f.batch_replicas)} batch at batch {num(f.batch_point.batch)}"


def vendor_table(p: Plan) -> tuple[list[str], list[list]]:
    headers = ["vendor", "model", "stands against it as", "marks", "CNY/M (terms)", "CNY/month", "API keys at peak",
               "price since", "source"]
    rows = [[b.price.vendor, b.price.label, b.match or "(--vendors)", b.marks or "-",
             f"{cny(b.cny_per_m)} ({b.terms})", cny(b.monthly_cny), num(b.keys_needed),
             b.price.since, b.price.source] for b in p.vendors]
    return headers, rows


def versus(p: Plan, hp: HardwarePlan, bill: VendorBill) -> str:
    """'1.03x dearer; wins above 28.8% mean util (here 27.9%), from 258M/day' or '...; never (...)'."""
    mine = p.self_cny_per_m(hp)
    be = p.break_even(hp, bill)
    if mine is None or be is None:
        return "-"
    self_over_vendor = cost.self_over_vendor(mine, bill.cny_per_m)
    if math.isinf(self_over_vendor):
        return "vendor free; never"
    now = dearer_or_cheaper(self_over_vendor)
    if be.tokens_per_day is None:
        k = p.request.traffic.peak_to_mean
        need = "more than 100%" if math.isinf(be.utilization) else pct(be.utilization)
        return f"{now}; never: needs {need} mean util, a {ratio(k)} peak allows at most {pct(1 / k)}"
    return (f"{now}; wins above {pct(be.utilization)} mean util (here {pct(hp.fleet.utilization_at_mean)}), "
            f"from {tokens(be.tokens_per_day)}/day")


def breakeven_table(p: Plan) -> tuple[list[str], list[list]]:
    headers = ["hardware"] + [b.price.model for b in p.vendors]
    rows = [[hp.hardware] + [versus(p, hp, b) for b in p.vendors] for hp in p.hardware if hp.op is not None]
    return headers, rows


def verdict(p: Plan) -> str:
    """One sentence: the cheapest self-hosted fleet against the cheapest vendor for the traffic, and by how much."""
    fleets = [(hp.monthly_cny(), f"self-host on {num(hp.fleet.gpus)}{count_range_text(p.gpus_range(hp))} x "
                                 f"{hp.hardware} ({hp.source})", i)
              for i, hp in enumerate(p.hardware) if hp.monthly_cny() is not None]
    bills = [(b.monthly_cny, f"{b.price.vendor} {b.price.model}" + (f" ({b.marks})" if b.marks else ""), -1)
             for b in p.vendors]
    where = f"[{market_text(p)}] "
    if not fleets and not bills:
        return where + "nothing could be priced"
    if not fleets or not bills:
        m, what, _ = min(fleets or bills)
        return where + f"cheapest: {what} at {cny(m)} CNY/month (nothing on the other side to compare)"
    mine, theirs = min(fleets), min(bills)
    (m0, first, _), (m1, second, _) = sorted([mine, theirs])
    if m0 == 0:
        return where + f"cheapest: {first} at 0 CNY/month; {second} at {cny(m1)}"
    hp = p.hardware[mine[2]]
    spread = intervals.spread_of(hp.op.point)
    months = p.monthly_range(hp)
    self_over_vendor = mine[0] / theirs[0]
    rng = None if months is None else (months[0] / theirs[0], months[1] / theirs[0])
    if m1 / m0 < 1.005:
        by = "as cheap as"
    elif rng is None:
        by = f"{ratio(m1 / m0)} cheaper{intervals.range_text(None, spread)} than"
    else:
        by = f"{ratio(m1 / m0)} cheaper{intervals.factor_text(self_over_vendor, rng)} than"
    close = intervals.close_call_text(self_over_vendor, rng, spread, hp.gpu_hour().cny)
    return where + f"cheapest: {first} at {cny(m0)} CNY/month, {by} {second} at {cny(m1)}{close}"


def predicted_latency_text(p: Plan) -> str:
    """How the table's predicted latencies were made: served (the simulated server) or one mean step."""
    return f"served p{p.request.slo.percentile}" if any(served_prediction(hp) for hp in p.hardware) else "mean step"


def provenance(p: Plan) -> list[str]:
    lines = []
    for hp in p.hardware:
        lines.append(f"{hp.hardware}: " + "; ".join(f"{g.basis} {cny(g.cny)}/GPU-h ({g.provenance})" if g.cny is not None
                                                   else f"{g.basis}: none ({g.provenance})" for g in hp.prices))
        head = hp.gpu_hour()
        if head.basis != p.request.basis and head.cny is not None:
            lines.append(f"{hp.hardware}: no {p.request.basis} price; the headline uses {head.basis} "
                         f"{cny(head.cny)}/GPU-h ({head.provenance})")
        if hp.note and hp.op is not None:
            lines.append(f"{hp.hardware}: {hp.note}")
        if served_prediction(hp):
            lines.append(f"{hp.hardware}: {SERVED_NOTE.format(p=p.request.slo.percentile)}")
    fx = p.request.cost_options
    lines.append(f"FX {given(fx.fx_cny_per_usd)} CNY/USD ({fx.fx_date}); servers of 8 GPUs")
    return lines + list(p.notes)


def markdown(p: Plan) -> str:
    parts = [f"**{verdict(p)}**\n", headline(p) + "\n", markdown_table(*self_table(p))]
    if p.vendors:
        parts += [markdown_table(*vendor_table(p)), "Self-hosted against each vendor (cost ratio at this traffic; "
                  "break-even volume and utilisation):\n", markdown_table(*breakeven_table(p))]
    parts.append("\n".join(f"- {line}" for line in provenance(p)) + "\n")
    return "\n".join(parts)


def strict_json(x):
    """inf and nan as strings ('inf'), so the output is JSON any parser reads."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else "-inf" if x < 0 else "nan"
    if isinstance(x, dict):
        return {k: strict_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [strict_json(v) for v in x]
    return x


def as_json(p: Plan) -> dict:
    """Every figure of the plan (non-finite numbers as strings: strict_json)."""
    return strict_json(_as_json(p))


def _as_json(p: Plan) -> dict:
    t = p.request.traffic

    def hw(hp: HardwarePlan) -> dict:
        d = {"hardware": hp.hardware, "source": hp.source, "note": hp.note, "workload": hp.workload,
             "prices": {g.basis: {"cny_per_gpu_hour": g.cny, "provenance": g.provenance} for g in hp.prices}}
        if hp.op is None:
            d["meets_slo"] = False
            d["best_available"] = describe_point(hp.hardware, hp.best, p.request.slo.percentile) if hp.best else None
            return d
        f = hp.fleet
        d.update(meets_slo=True, batch_at_slo=hp.op.point.batch, binding=hp.op.binding,
                 operating_point_from=list(hp.op.between), replica_tok_s=f.replica_tok_s,
                 gpus_per_replica=f.gpus_per_replica, replicas=f.replicas + f.batch_replicas,
                 batch_replicas=f.batch_replicas, gpus=f.gpus, servers=f.servers,
                 batch_at_peak=f.batch_at_peak, batch_at_mean=f.batch_at_mean,
                 utilization_at_mean=f.utilization_at_mean, ttft_ms_at_peak=f.at_peak.ttft_ms,
                 tpot_ms_at_peak=f.at_peak.tpot_ms,
                 monthly_cny={b: hp.monthly_cny(b) for b in BASES},
                 cny_per_m={b: p.self_cny_per_m(hp, b) for b in BASES})
        spread = intervals.spread_of(hp.op.point)
        gpus = p.gpus_range(hp)
        d["interval"] = {"runs": spread.runs, "tok_s_rel_half_width": spread.rel_half_width,
                         "replica_tok_s": [f.replica_tok_s * spread.lo, f.replica_tok_s * spread.hi]
                         if spread.known else None, "gpus": list(gpus) if gpus else None,
                         "monthly_cny": {b: list(r) if (r := p.monthly_range(hp, b)) else None for b in BASES},
                         "method": intervals.METHOD}
        if hp.gpus_in_band(t.peak_tok_s) is not None:  # an expected-value prediction (not a sim row's point)
            pt, gpus, per_m = hp.op.point, hp.gpus_in_band(t.peak_tok_s), p.cny_per_m_band(hp)
            d["band"] = {"replica_tok_s": [pt.band_low_tok_s, pt.band_high_tok_s], "gpus": list(gpus),
                         "cny_per_m": list(per_m) if per_m else None}
            b = hp.bound
            d["bound"] = None if b is None or b.op is None else {
                "batch_at_slo": b.op.point.batch, "binding": b.op.binding, "replica_tok_s": b.fleet.replica_tok_s,
                "gpus": b.fleet.gpus, "monthly_cny": b.monthly_cny(), "cny_per_m": p.self_cny_per_m(b)}
        d["versus"] = {}
        for b in p.vendors:
            be = p.break_even(hp, b)
            mine = p.self_cny_per_m(hp)
            d["versus"][b.price.model] = {
                "self_over_vendor": None if mine is None else cost.self_over_vendor(mine, b.cny_per_m),
                "breakeven_tokens_per_day": be.tokens_per_day if be else None,
                "breakeven_utilization": be.utilization if be else None}
        return d

    o = p.request.cost_options
    tier, market = tier_and_market(o.rental_tier, o.market)
    return {"model": p.model, "as_of": str(p.as_of), "basis": p.request.basis, "verdict": verdict(p),
            "market": market, "rental_tier": tier, "market_text": market_text(p),
            "traffic": {"tokens_per_day": t.tokens_per_day, "mix": cost.format_mix(t.mix),
                        "peak_to_mean": t.peak_to_mean, "input_len": t.input_len, "output_len": t.output_len,
                        "mean_tok_s": t.mean_tok_s, "peak_tok_s": t.peak_tok_s,
                        "peak_requests_per_min": t.peak_requests_per_min},
            "slo": p.request.slo.text(), "hardware": [hw(hp) for hp in p.hardware],
            "vendors": [{"vendor": b.price.vendor, "model": b.price.label, "match": b.match, "marks": b.marks,
                         "cny_per_m": b.cny_per_m, "terms": b.terms, "monthly_cny": b.monthly_cny,
                         "keys_needed": b.keys_needed, "since": b.price.since, "source": b.price.source}
                        for b in p.vendors],
            "notes": provenance(p)}


OUT_COLUMNS = ("model", "hardware", "source", "meets_slo", "tensor_parallel_size", "batch_at_slo", "binding",
               "replica_tok_s", "replicas", "gpus", "servers", "batch_at_peak", "batch_at_mean",
               "utilization_at_mean", "ttft_ms_at_peak", "tpot_ms_at_peak", "basis", "cny_per_gpu_hour",
               "monthly_cny", "cny_per_m", "monthly_cny_rental", "monthly_cny_owned", "monthly_cny_tco",
               "price_provenance", "vendor", "vendor_model", "vendor_match", "vendor_marks", "vendor_cny_per_m",
               "vendor_terms", "vendor_monthly_cny", "vendor_keys_needed", "self_over_vendor",
               "breakeven_tokens_per_day", "breakeven_utilization", "tokens_per_day", "mix", "peak_to_mean", "slo",
               "as_of", "replica_tok_s_band_low", "replica_tok_s_band_high", "cny_per_m_band_low", "cny_per_m_band_high",
               "bound_replica_tok_s", "bound_gpus", "bound_cny_per_m")


def out_records(p: Plan) -> list[dict]:
    """`--out`: one line per hardware x vendor (a hardware line with empty vendor cells when there is none)."""
    t, out = p.request.traffic, []
    for hp in p.hardware:
        base = {"model": p.model, "hardware": hp.hardware, "source": hp.source, "meets_slo": hp.op is not None,
                "basis": p.request.basis, "cny_per_gpu_hour": hp.gpu_hour().cny,
                "price_provenance": hp.gpu_hour().provenance, "tokens_per_day": t.tokens_per_day,
                "mix": cost.format_mix(t.mix), "peak_to_mean": t.peak_to_mean, "slo": p.request.slo.text(),
                "as_of": str(p.as_of)}
        if hp.op is not None:
            f = hp.fleet
            base.update(tensor_parallel_size=f.gpus_per_replica, batch_at_slo=hp.op.point.batch,
                        binding=hp.op.binding, replica_tok_s=f.replica_tok_s, replicas=f.replicas + f.batch_replicas,
                        gpus=f.gpus,
                        servers=f.servers, batch_at_peak=f.batch_at_peak, batch_at_mean=f.batch_at_mean,
                        utilization_at_mean=f.utilization_at_mean, ttft_ms_at_peak=f.at_peak.ttft_ms,
                        tpot_ms_at_peak=f.at_peak.tpot_ms, monthly_cny=hp.monthly_cny(),
                        cny_per_m=p.self_cny_per_m(hp), **{f"monthly_cny_{b}": hp.monthly_cny(b) for b in BASES})
            if hp.gpus_in_band(t.peak_tok_s) is not None:
                lo_hi = p.cny_per_m_band(hp) or (None, None)
                base.update(replica_tok_s_band_low=hp.op.point.band_low_tok_s,
                            replica_tok_s_band_high=hp.op.point.band_high_tok_s, cny_per_m_band_low=lo_hi[0],
                            cny_per_m_band_high=lo_hi[1])
                if hp.bound is not None and hp.bound.op is not None:
                    base.update(bound_replica_tok_s=hp.bound.fleet.replica_tok_s, bound_gpus=hp.bound.fleet.gpus,
                                bound_cny_per_m=p.self_cny_per_m(hp.bound))
        for b in p.vendors or [None]:
            rec = dict(base)
            if b is not None:
                be = p.break_even(hp, b)
                mine = p.self_cny_per_m(hp)
                rec.update(vendor=b.price.vendor, vendor_model=b.price.label, vendor_match=b.match,
                           vendor_marks=b.marks, vendor_cny_per_m=b.cny_per_m, vendor_terms=b.terms,
                           vendor_monthly_cny=b.monthly_cny, vendor_keys_needed=b.keys_needed,
                           self_over_vendor=None if mine is None else cost.self_over_vendor(mine, b.cny_per_m),
                           breakeven_tokens_per_day=be.tokens_per_day if be else None,
                           breakeven_utilization=be.utilization if be else None)
            out.append({k: rec.get(k) for k in OUT_COLUMNS})
    return out


def print_plan(p: Plan) -> None:
    from rich.table import Table

    from bench.display.cost import console

    console.print(f"[bold]{verdict(p)}[/bold]")
    console.print(headline(p))
    tables = [("self-hosted: the fleet for the peak, the month on each basis", self_table(p))]
    if p.vendors:
        tables += [("vendors: the same traffic's month, terms applied", vendor_table(p)),
                   ("self-hosted / vendor at this traffic; break-even volume (mean utilisation)", breakeven_table(p))]
    for title, (headers, rows) in tables:
        t = Table(title=title, title_justify="left")
        for h in headers:
            t.add_column(h, overflow="fold")
        for r in rows:
            t.add_row(*[cell(c) for c in r])
        console.print(t)
    for line in provenance(p):
        console.print(line, highlight=False)
