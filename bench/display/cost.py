"""Rich tables for `bench cost` and `bench prices`. Formatting only; the numbers come from bench.cost.pricing."""

from __future__ import annotations

import datetime as dt
import math

from rich.console import Console
from rich.table import Table

from bench.cost import formulas as cost
from bench.cost.pricing import SelfCost, VendorComparison
from bench.config.prices import VendorPrice

console = Console()
if not console.is_terminal:  # piped or captured: wide rows instead of wrapped cells
    console = Console(width=160)


def cny(x: float | None) -> str:
    """CNY amounts from 0.001 to 100,000 at a readable precision."""
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def count(x: float | None) -> str:
    """Token counts: 1.25M, 30.1k, 2.4G."""
    if x is None:
        return "-"
    if math.isinf(x):
        return "unlimited"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def verdict(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    if math.isinf(ratio):
        return "[red]vendor is free[/red]"
    if ratio > 1:
        return f"[red]{ratio:.3g}x dearer[/red]"
    return f"[green]{1 / ratio:.3g}x cheaper[/green]" if ratio > 0 else "[green]free to run[/green]"


def breakeven(u: float | None) -> str:
    if u is None:
        return "-"
    if math.isinf(u):
        return "never"
    if u > 1:
        return f"never ({u:.0%} needed)"
    return f"{u:.1%}"


def print_self_cost(mine: SelfCost, comparisons: list[VendorComparison], as_of: dt.date) -> None:
    mix = cost.format_mix(mine.mix)
    gpus = f"{mine.gpu_count} x " if mine.gpu_count > 1 else ""
    where = f"{gpus}{mine.where}" if mine.hardware else f"{mine.gpu_count} GPU(s)"
    unit = "server-hour" if mine.kind == "cpu" else "GPU-hour"
    console.print(f"[bold]{mine.run_id}[/bold]  {mine.model} on {where}: {mine.basis} {cny(mine.gpu_cny_per_hour)} "
                  f"CNY per {unit}, utilisation {mine.utilization:.0%}, mix {mix}")
    console.print(f"  price: {mine.provenance}", soft_wrap=True)
    t = Table(show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value", justify="right")
    t.add_row("CNY per M input / output", f"{cny(mine.cny_per_m_input)} / {cny(mine.cny_per_m_output)}")
    t.add_row(f"CNY per M blended ({mix})", cny(mine.cny_per_m_blended))
    t.add_row("CNY per M, any token", cny(mine.cny_per_m_total))
    t.add_row("tokens per CNY", count(mine.tokens_per_cny))
    if mine.prefill_s is not None:
        t.add_row("run time prefill / decode", f"{mine.prefill_s:.2f} s / {mine.decode_s:.2f} s")
    if mine.power_w is not None:
        t.add_row(f"power ({mine.basis} basis)", f"{mine.power_w:,.0f} W ({mine.power_source})")
    console.print(t)
    if not comparisons:
        console.print("  no vendor price in force on that date among those chosen")
        return
    v = Table(title=f"vendors on {as_of} at the same mix ({mix}), list prices, cache miss", title_justify="left")
    for col, right in (("vendor", False), ("model", False), ("in / out CNY/M", True), ("blended", True),
                       ("self-hosting is", False), ("break-even use", True), ("break-even tokens/day", True)):
        v.add_column(col, justify="right" if right else "left")
    for c in comparisons:
        v.add_row(c.vendor, c.vendor_model, f"{c.vendor_cny_per_m_input:.4g} / {c.vendor_cny_per_m_output:.4g}",
                  cny(c.vendor_cny_per_m_blended), verdict(c.self_over_vendor), breakeven(c.breakeven_utilization),
                  count(c.breakeven_tokens_per_day))
    console.print(v)


def price_terms(p: VendorPrice) -> str:
    """Batch and off-peak discounts, rate limits and context tier, in one cell."""
    terms = []
    if p.batch_discount:
        terms.append(f"batch -{p.batch_discount:.0%}")
    if p.off_peak:
        since = f" from {p.off_peak.starts}" if p.off_peak.starts else ""
        terms.append(f"off-peak {p.off_peak.window} -{p.off_peak.discount:.0%}{since}")
    if p.rpm or p.tpm:
        terms.append(f"{count(p.rpm)} RPM / {count(p.tpm)} TPM")
    if p.context_tier:
        terms.append(f"{p.context_tier} context")
    return "; ".join(terms)


def print_prices(prices: list[VendorPrice], title: str, fx_cny_per_usd: float, mix: tuple[float, float],
                 sources: bool = False) -> None:
    t = Table(title=title, title_justify="left")
    t.add_column("vendor", no_wrap=True)
    t.add_column("model", no_wrap=True)
    t.add_column("from", no_wrap=True)
    t.add_column("to", no_wrap=True)
    t.add_column("in / hit / out per M", justify="right")
    t.add_column(f"CNY/M {cost.format_mix(mix)}", justify="right")
    t.add_column("terms")
    if sources:
        t.add_column("source", overflow="fold")
    for p in prices:
        if p.free:
            listed = "free"
        else:
            hit = "-" if p.input_cache_hit_per_m is None else f"{p.input_cache_hit_per_m:g}"
            listed = f"{p.currency} {p.input_per_m:g} / {hit} / {p.output_per_m:g}"
        cells = [p.vendor, p.label, str(p.applies_from or "?"), str(p.applies_to or ""), listed,
                 cny(p.blended_cny_per_m(mix, fx_cny_per_usd)), price_terms(p)]
        t.add_row(*cells, *([p.source] if sources else []))
    console.print(t)
