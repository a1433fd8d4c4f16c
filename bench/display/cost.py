"""Rich tables for `bench cost` and `bench prices`. Formatting only; the numbers come from bench.cost.pricing."""

from __future__ import annotations

import datetime as dt
import math

from rich.table import Table

from bench.config.engines import is_predicted
from bench.core.console import make_console
from bench.core.formats import cny, dearer_or_cheaper, given, ms, num, pct, tokens
from bench.cost import formulas as cost
from bench.cost.pricing import SelfCost, VendorComparison
from bench.config.prices import VendorPrice
from bench.cost.vendor_use import LIST, VendorUse, effective_price

console = make_console()


def verdict(ratio: float | None) -> str:
    """Self-hosting against a vendor, coloured: red when dearer, green when cheaper."""
    if ratio is None:
        return "-"
    if math.isinf(ratio):
        return "[red]vendor is free[/red]"
    return f"[{'red' if ratio >= 1 else 'green'}]{dearer_or_cheaper(ratio)}[/]"


def breakeven(u: float | None) -> str:
    if u is None:
        return "-"
    if math.isinf(u):
        return "never"
    if u > 1:
        return f"never ({pct(u)} needed)"
    return pct(u)


def throughput_line(row: dict) -> str | None:
    """What the cost stands on: the row's output tok/s, measured or predicted (sim), with the prediction's band
    and calibration and the roofline bound beside it; None when the row has neither prediction nor bound."""
    def f(name):
        try:
            return float(row.get(name) or "nan")
        except ValueError:
            return float("nan")

    tok, pred, bound = f("output_tok_s"), f("predicted_output_tok_s"), f("roofline_output_tok_s")
    low, high, cal = f("predicted_band_low_tok_s"), f("predicted_band_high_tok_s"), row.get("prediction_calibration")
    if pred != pred and bound != bound:
        return None
    band = f"band {num(low)}-{num(high)}, {cal}" if low == low and high == high and cal else (cal or "")
    if is_predicted(row.get("engine")):
        what = f"{num(tok)} output tok/s predicted" + (f" ({band})" if pred == pred else " (the bound itself)")
    else:
        what = f"{num(tok)} output tok/s measured" + (f"; predicted {num(pred)} ({band})" if pred == pred else "")
    return f"throughput: {what}" + (f"; roofline bound {num(bound)}" if bound == bound else "")


def print_self_cost(mine: SelfCost, comparisons: list[VendorComparison], as_of: dt.date,
                    keys_for: str = "", matches: list | None = None, prediction=None) -> None:
    """One row's cost, and each vendor beside it; `matches`: (VendorPrice, why) of the like-for-like list,
    whose reasons are printed under the table, and whose free or rate-limited tiers are marked. `prediction`: a sim
    row's bench.cost.predicted.Prediction (labelled, with the same cost at the roofline bound beside it)."""
    from bench.cost.matching import marks

    marked = {(p.vendor, p.label): marks(p) for p, _ in matches or []}
    why = [(p.label, w) for p, w in matches or [] if w]
    mix = cost.format_mix(mine.mix)
    gpus = f"{mine.gpu_count} x " if mine.gpu_count > 1 else ""
    where = f"{gpus}{mine.where}" if mine.hardware else f"{mine.gpu_count} GPU(s)"
    unit = "server-hour" if mine.kind == "cpu" else "GPU-hour"
    predicted = f" ({prediction.label})" if prediction else ""
    console.print(f"[bold]{mine.run_id}[/bold]  {mine.model} on {where}{predicted}: {mine.basis_text} "
                  f"{cny(mine.gpu_cny_per_hour)} CNY per {unit}, utilisation {pct(mine.utilization)}, mix {mix}",
                  highlight=False)
    console.print(f"  price: {mine.provenance}", soft_wrap=True)
    t = Table(show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value", justify="right")
    t.add_row("CNY per M input / output", f"{cny(mine.cny_per_m_input)} / {cny(mine.cny_per_m_output)}")
    if mine.cache_hit_rate is not None:  # prefix caching measured: the vendors' inputs are priced at the same rate
        t.add_row("prefix-cache hit rate (measured)", pct(mine.cache_hit_rate))
        t.add_row("CNY per M input at that rate / on a miss",
                  f"{cny(mine.cny_per_m_input)} / {cny(mine.cny_per_m_input_uncached)}")
    t.add_row(f"CNY per M blended ({mix})", cny(mine.cny_per_m_blended))
    bound = prediction.at_bound(mine.cny_per_m_blended) if prediction else None
    if bound is not None:
        t.add_row(f"CNY per M blended at the roofline bound ({pct(prediction.bound_share)} of the time)", cny(bound))
    t.add_row("CNY per M, any token", cny(mine.cny_per_m_total))
    t.add_row(f"tokens per CNY (blended {mix})", tokens(mine.tokens_per_cny_blended))
    if mine.prefill_s is not None:
        t.add_row("run time prefill / decode", f"{num(mine.prefill_s)} s / {num(mine.decode_s)} s")
    if mine.power_w is not None:
        t.add_row(f"power ({mine.basis} basis)", f"{num(mine.power_w)} W ({mine.power_source})")
    console.print(t)
    if not comparisons:
        console.print("  no vendor price in force on that date among those chosen")
        return
    bases = sorted({c.vendor_basis for c in comparisons})
    basis = "list prices, cache miss" if bases == ["list"] else "each vendor's terms applied (basis column)"
    keys = any(c.vendor_keys_needed is not None for c in comparisons)
    v = Table(title=f"vendors on {as_of} at the same mix ({mix}), {basis}", title_justify="left")
    for col, right in (("vendor", False), ("model", False), ("since", False), ("in / out CNY/M", True),
                       ("blended", True), (f"tokens/CNY ({mix})", True), ("self-hosting is", False), ("break-even use", True),
                       ("break-even tokens/day", True)):
        v.add_column(col, justify="right" if right else "left", no_wrap=col in ("vendor", "model"))
    if bases != ["list"]:
        v.add_column("basis")
    if keys:
        v.add_column("API keys", justify="right")
    v.add_column("src", justify="right")
    sources: list[str] = []  # printed whole under the table, one line each
    for c in comparisons:
        if c.vendor_source not in sources:
            sources.append(c.vendor_source)
        cells = [c.vendor, c.vendor_model, c.vendor_applies_from or "?",
                 f"{cny(c.vendor_cny_per_m_input)} / {cny(c.vendor_cny_per_m_output)}",
                 cny(c.vendor_cny_per_m_blended), tokens(c.vendor_tokens_per_cny), verdict(c.self_over_vendor),
                 breakeven(c.breakeven_utilization), tokens(c.breakeven_tokens_per_day)]
        if bases != ["list"]:
            cells.append(c.vendor_basis)
        if keys:
            cells.append(num(c.vendor_keys_needed))
        v.add_row(*cells, f"[{sources.index(c.vendor_source) + 1}]")
    console.print(v)
    if keys and keys_for:
        console.print(f"  API keys: how many of each vendor's per-key RPM/TPM limits carry {keys_for}",
                      soft_wrap=True, highlight=False, markup=False)
    shown = {(c.vendor, c.vendor_model) for c in comparisons}
    flagged = [f"{label} ({m})" for (vendor, label), m in marked.items() if m and (vendor, label) in shown]
    if flagged:
        console.print(f"  marked: {'; '.join(flagged)}", soft_wrap=True, highlight=False, markup=False)
    for label, w in why:
        console.print(f"  {label}: {w}", soft_wrap=True, highlight=False, markup=False)
    for i, src in enumerate(sources, 1):
        console.print(f"  [{i}] {src}", soft_wrap=True, highlight=False, markup=False)


def print_cost_at_slo(found: list, slo, comparisons_by_model: dict) -> None:
    """`bench cost --slo-*`: per model x hardware, the batch that meets the targets, its cost, the cheapest vendor
    compared, and the throughput-per-GPU vs tokens/s-per-user front it was read from."""
    t = Table(title=f"cost at the latency target ({slo.text()}; interpolated between measured batches, docs/plan.md)",
              title_justify="left")
    for col in ("model", "hardware", "batch at target", "from runs", "TTFT / TPOT ms", "tok/s per GPU",
                "CNY/M blended", "tokens/CNY", "cheapest vendor compared", "front: tok/s per GPU @ tok/s per user"):
        t.add_column(col)
    for c in found:
        front = "; ".join(f"{num(p.tok_s_per_gpu)} @ {num(p.tok_s_per_user)}" for p in c.front)
        where = f"{c.gpus} x {c.hardware}" if c.gpus > 1 else c.hardware
        if c.source != "measured":
            where += f" ({c.source})"
        if c.op is None:
            b = c.best
            t.add_row(c.model, where, "[red]none meets it[/red]", b.ref, f"best: {ms(b.ttft_ms)} / {ms(b.tpot_ms)}",
                      "-", "-", "-", "-", front)
            continue
        op, vendor = c.op, "-"
        comps = [x for x in comparisons_by_model.get(c.model, []) if x.vendor_cny_per_m_blended is not None]
        if comps and c.cny_per_m_blended is not None:
            v = min(comps, key=lambda x: x.vendor_cny_per_m_blended)
            ratio = cost.self_over_vendor(c.cny_per_m_blended, v.vendor_cny_per_m_blended)
            vendor = f"{v.vendor_model} {cny(v.vendor_cny_per_m_blended)}: self {verdict(ratio)}"
        bound = c.cny_per_m_blended_bound
        t.add_row(c.model, where, f"{num(op.point.batch)} ({op.binding})", " .. ".join(op.between),
                  f"{ms(op.point.ttft_ms)} / {ms(op.point.tpot_ms)}", num(op.point.tok_s_per_gpu),
                  cny(c.cny_per_m_blended) + ("" if bound is None else f" (at the bound {cny(bound)})"),
                  tokens(c.tokens_per_cny_blended), vendor, front)
    console.print(t)


def price_terms(p: VendorPrice) -> str:
    """Batch and off-peak discounts, rate limits and context tier, in one cell."""
    terms = []
    if p.batch_discount:
        terms.append(f"batch -{pct(p.batch_discount)}")
    if p.off_peak:
        since = f" from {p.off_peak.starts}" if p.off_peak.starts else ""
        weekends = " and weekends" if p.off_peak.weekends else ""
        terms.append(f"off-peak {p.off_peak.window}{weekends} -{pct(p.off_peak.discount)}{since}")
    if p.free_quota:
        per = "a month" if p.free_quota.per == "month" else "once"
        terms.append(f"{tokens(p.free_quota.tokens)} free tokens {per}")
    if p.rpm or p.tpm:
        terms.append(f"{tokens(p.rpm)} RPM / {tokens(p.tpm)} TPM")
    if p.context_tier:
        terms.append(f"{p.context_tier} context")
    if p.thinking_output_per_m is not None:
        terms.append(f"thinking out {given(p.thinking_output_per_m)}")
    if p.tiers:
        terms.append(tiers_text(p))
    return "; ".join(terms)


def tiers_text(p: VendorPrice) -> str:
    """'tiers in 0-32K out 0-200: 0.8/2, in 0-32K out 200-open: 0.8/8, in 32-128K: 1.2/16, ...': each tier's
    input range (thousands of tokens), output range where it has one, and input/output price."""
    parts = []
    for t in p.tiers:
        where = f"in {t.input_above // 1000}-{t.input_up_to // 1000 if t.input_up_to else 'open'}K"
        if t.output_above or t.output_up_to is not None:
            where += f" out {t.output_above}-{t.output_up_to or 'open'}"
        think = f" (thinking {given(t.thinking_output_per_m)})" if t.thinking_output_per_m is not None else ""
        parts.append(f"{where}: {given(t.input_per_m)}/{given(t.output_per_m)}{think}")
    return "tiers " + ", ".join(parts)


def short_source(p: VendorPrice) -> str:
    """The first source the row names (before ';' or ','), for a table cell; --sources prints it whole."""
    first = p.source.split(";")[0].split(", naming")[0].split(" (")[0].strip()
    first = first.replace("packages/model-bank/src/aiModels/", "model-bank/")
    return first if len(first) <= 60 else first[:57] + "..."


def print_prices(prices: list[VendorPrice], title: str, fx_cny_per_usd: float, mix: tuple[float, float],
                 sources: bool = False, use: VendorUse = LIST, as_of: dt.date | None = None) -> None:
    """One line per price. With `use` beyond the list price, the effective blended price and the rules
    applied; with a traffic, the API keys it needs; with `sources`, the source and the price's notes."""
    as_of = as_of or dt.date.today()
    effective = {id(p): effective_price(p, use, as_of, mix, fx_cny_per_usd) for p in prices}
    keys = any(e.keys_needed is not None for e in effective.values())
    t = Table(title=title, title_justify="left")
    t.add_column("vendor", no_wrap=True)
    t.add_column("model", no_wrap=True)
    t.add_column("from", no_wrap=True)
    t.add_column("to", no_wrap=True)
    t.add_column("in / hit / out per M", justify="right")
    t.add_column(f"CNY/M {cost.format_mix(mix)}", justify="right")
    if not use.is_list:
        t.add_column("effective", justify="right")
        t.add_column("basis")
    if keys:
        t.add_column("API keys", justify="right")
    t.add_column("terms", overflow="fold")
    t.add_column("checked", no_wrap=True)
    t.add_column("source", overflow="fold", min_width=22)
    for p in prices:
        if p.free:
            listed = "free"
        else:
            hit = "-" if p.input_cache_hit_per_m is None else given(p.input_cache_hit_per_m)
            listed = f"{p.currency} {given(p.input_per_m)} / {hit} / {given(p.output_per_m)}"
        e = effective[id(p)]
        cells = [p.vendor, p.label, p.since, str(p.applies_to or ""), listed,
                 cny(p.blended_cny_per_m(mix, fx_cny_per_usd))]
        if not use.is_list:
            cells += [cny(e.blended_cny_per_m), e.basis]
        if keys:
            cells.append(num(e.keys_needed))
        cells += [price_terms(p), str(p.checked_on), short_source(p)]
        t.add_row(*cells)
    console.print(t)
    with_notes = sum(1 for p in prices if notes_of(p))
    if with_notes and not sources:
        console.print(f"{with_notes} of these prices come with conditions or notes (e.g. a rate limit the "
                      "price held at): add --sources to read them")
    if sources:  # one line each, unwrapped, so a source or a condition of the price reads whole
        for p in prices:
            notes = notes_of(p)
            console.print(f"{p.vendor} {p.label} ({p.since}): source {p.source} (checked {p.checked_on})"
                          + (f"; notes: {notes}" if notes else ""), soft_wrap=True, highlight=False, markup=False)


def notes_of(p: VendorPrice) -> str:
    """The row's notes with those of its off-peak discount and free quota."""
    parts = [p.notes]
    if p.off_peak and p.off_peak.notes:
        parts.append(f"off-peak: {p.off_peak.notes}")
    if p.free_quota and p.free_quota.notes:
        parts.append(f"free quota: {p.free_quota.notes}")
    return "; ".join(x for x in parts if x)


def print_case_intervals(cases) -> None:
    """bench cost's last block: each case over its repeats (bench.analysis.intervals.CaseCost), the method stated."""
    from bench.analysis import intervals

    console.print("Each case over its repeats. " + intervals.METHOD + ":", soft_wrap=True, highlight=False,
                  markup=False)
    for c in cases:
        if c.tok_s is None or c.cny_per_m is None:
            continue
        tok = c.tok_s.text(num) if c.runs > 1 else f"{num(c.tok_s.mean)} ({intervals.NO_INTERVAL})"
        text = f"  {c.label}: {c.runs} run(s), output tok/s {tok}; {cny(c.cny_per_m)} CNY/M" + \
            intervals.range_text(c.cny_range, c.spread)
        if c.self_over_vendor is not None:
            text += f"; vs {c.vendor}: " + intervals.verdict_words(c.self_over_vendor, c.ratio_range, c.spread)
        if c.breakeven is not None:
            text += f"; break-even utilisation {pct(c.breakeven)}" + intervals.range_text(c.breakeven_range, None, pct) \
                + (" (above 100%: never)" if c.breakeven > 1 else "")
        console.print(text, soft_wrap=True, highlight=False, markup=False)
