"""Which card prices a results row and which of its quotes, for bench.cost.pricing.

A row is priced on the hardware it ran on; another card only as an explicit what-if. Given prices per card,
rental tiers, and the all-in TCO of owning (bench.cost.tco) on a like-for-like price basis.
"""

from __future__ import annotations

from typing import Protocol

from bench.config.hardware import Hardware, HardwareBook, Price, canonical_name
from bench.cost import formulas as cost
from bench.cost import tco, tco_sources
from bench.core.errors import BenchError


class CostOptions(Protocol):
    """The fields of bench.cost.pricing.CostOptions read here (a Protocol, so there is no import cycle)."""

    hardware: str | None
    what_if_hardware: str | None
    gpu_cny_per_hour: float | None
    gpu_cny_per_hour_by_hardware: tuple[tuple[str, float], ...]
    fx_cny_per_usd: float
    amortization_years: float
    electricity_cny_per_kwh: float
    pue: float
    cost_of_capital_per_year: float
    colocation_cny_per_kw_month: float | None


def measured_hardware(row: dict, book: HardwareBook) -> str | None:
    """The hardware a row ran on: its own `hardware` column (bench run --hardware), else a sim row's device
    (the card it predicts); canonical spelling, None when it names no hardware.yaml entry."""
    for name in (row.get("hardware"), row.get("device_name") if row.get("engine") == "sim" else None):
        if name and str(name).strip():
            try:
                return canonical_name(str(name), book)
            except BenchError:
                continue
    return None


def hardware_name_for(row: dict, opts: CostOptions, book: HardwareBook) -> str | None:
    """The card that prices a row: --what-if-hardware (explicit what-if), else the hardware it ran on, else
    --hardware (for rows naming none). A row is never silently priced as another card than its own."""
    if opts.what_if_hardware:
        return canonical_name(opts.what_if_hardware, book)
    own = measured_hardware(row, book)
    if own:
        return own
    return canonical_name(opts.hardware, book) if opts.hardware else None


def fx_date_for(fx_cny_per_usd: float) -> str:
    """When the FX rate was observed: the default's dates, else the command line's."""
    if fx_cny_per_usd == cost.DEFAULT_FX_CNY_PER_USD:
        return cost.DEFAULT_FX_DATE
    return "given on the command line"


def given_price(hw_name: str | None, opts: CostOptions) -> float | None:
    """The price per GPU-hour given for this card (--gpu-cny-per-hour NAME=X), else the one for all, else None."""
    by_name = dict(opts.gpu_cny_per_hour_by_hardware)
    if hw_name and hw_name in by_name:
        return by_name[hw_name]
    return opts.gpu_cny_per_hour


def tco_cny_per_hour(hw: Hardware, gpu_count: int, power_w: float | None, opts: CostOptions) -> tco.Tco:
    """All-in cost of owning one of the run's GPUs for an hour (bench.cost.tco): the purchase quote on a like-for-like
    basis (a bare card gets the host share added, a server quote holds it), networking, power of card + host +
    network x PUE, colocation per kW-month, over --years at --cost-of-capital. A CPU server is its own host."""
    fx, src, gpu = opts.fx_cny_per_usd, tco_sources, hw.kind == "gpu"
    host = src.HOST_SHARE_USD_PER_GPU.value * fx if gpu else 0.0
    card_and_host = tco.capital_per_gpu(cost.to_cny(hw.purchase.price, hw.purchase.currency, fx), hw.purchase.cards,
                                        host)
    capital = card_and_host * (1 + src.NETWORK_SHARE_OF_CAPITAL.value)
    gpu_w = (power_w if power_w else hw.tdp_w * gpu_count) / gpu_count
    it_kw = tco.it_kw_per_gpu(gpu_w, src.HOST_W_PER_GPU.value if gpu else 0.0, src.NETWORK_W_PER_GPU.value)
    colocation = opts.colocation_cny_per_kw_month
    if colocation is None:
        colocation = src.COLOCATION_USD_PER_KW_MONTH.value * fx
    return tco.tco_per_gpu_hour(capital, opts.amortization_years, it_kw, opts.pue, opts.electricity_cny_per_kwh,
                                colocation, opts.cost_of_capital_per_year)


def rental_quote(hw_name: str | None, hw: Hardware, tier: str | None) -> Price:
    """hardware.yaml's `rental` quote, or the one of `tier` among `rental_tiers`; BenchError naming the fix."""
    if tier is None or (hw.rental is not None and hw.rental.tier == tier):
        if hw.rental is None:
            raise BenchError(f"{hw_name} has no rental price in hardware.yaml; pass --gpu-cny-per-hour "
                             f"{hw_name}=X (CNY per GPU-hour), use --basis owned, or add a price")
        return hw.rental
    for quote in hw.rental_tiers:
        if quote.tier == tier:
            return quote
    have = sorted({q.tier for q in ([hw.rental] if hw.rental else []) + list(hw.rental_tiers) if q.tier})
    raise BenchError(f"{hw_name} has no {tier} rental quote in hardware.yaml (it has: {', '.join(have) or 'none'}); "
                     f"pick another --rental-tier or pass --gpu-cny-per-hour {hw_name}=X")


def price_basis_of(price: Price | None) -> str:
    """'given' (command line), 'server' (the quote covers an N-card server: per card = server / N) or 'card'."""
    if price is None:
        return "given"
    return f"{price.cards}-card server" if price.cards > 1 else "card"
